/**
 * The console's texts: both locales have exactly the same keys, and no component shows a bare
 * sentence (Korean or English) outside `$t` — a heuristic scan of every .vue template.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'vue/compiler-sfc';
import { describe, expect, it } from 'vitest';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';

const CLIENT_SRC = join(import.meta.dirname, '../../client/src');

function keysOf(messages: object, prefix = ''): string[] {
  return Object.entries(messages).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' ? keysOf(value as object, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, ext);
    return entry.name.endsWith(ext) ? [path] : [];
  });
}

const LETTERS = /[A-Za-z\u3131-\u318e\uac00-\ud7a3]/;
const HANGUL = /[\u3131-\u318e\uac00-\ud7a3]/;
/** Static attributes a person reads. */
const READ_ATTRIBUTES = new Set(['title', 'placeholder', 'alt', 'label', 'aria-label', 'aria-description', 'aria-placeholder', 'aria-roledescription', 'aria-valuetext']);
/** A string literal inside an expression that looks like words for people rather than a key or a class name. */
function looksLikeProse(literal: string): boolean {
  return HANGUL.test(literal) || /[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(literal);
}

interface TemplateNode {
  type: number;
  content?: string | { content?: string };
  props?: { type: number; name: string; value?: { content: string }; exp?: { content?: string } }[];
  children?: TemplateNode[];
  loc: { start: { line: number } };
}

/** Bare texts of a .vue file's template: text nodes, static read attributes, prose literals in expressions. */
function bareTexts(source: string): string[] {
  const { descriptor } = parse(source);
  const found: string[] = [];
  const expressionLiterals = (expression: string | undefined, line: number) => {
    for (const m of (expression ?? '').matchAll(/'([^']*)'|"([^"]*)"|`([^`$]*)`/g)) {
      const literal = m[1] ?? m[2] ?? m[3] ?? '';
      if (looksLikeProse(literal)) found.push(`line ${line}: "${literal}" in an expression`);
    }
  };
  const walk = (node: TemplateNode) => {
    const line = node.loc.start.line;
    if (node.type === 2 && typeof node.content === 'string' && LETTERS.test(node.content)) found.push(`line ${line}: text "${node.content.trim()}"`);
    if (node.type === 5 && typeof node.content === 'object') expressionLiterals(node.content.content, line);
    for (const prop of node.props ?? []) {
      if (prop.type === 6 && READ_ATTRIBUTES.has(prop.name) && prop.value && LETTERS.test(prop.value.content)) found.push(`line ${line}: ${prop.name}="${prop.value.content}"`);
      if (prop.type === 7) expressionLiterals(prop.exp?.content, line);
    }
    for (const child of node.children ?? []) walk(child);
  };
  if (descriptor.template?.ast) walk(descriptor.template.ast as unknown as TemplateNode);
  return found;
}

describe('console messages (client/src/i18n)', () => {
  it('has exactly the same keys in Korean and English', () => {
    const koKeys = keysOf(ko).sort();
    const enKeys = keysOf(en).sort();
    expect(enKeys.filter((k) => !koKeys.includes(k))).toEqual([]);
    expect(koKeys.filter((k) => !enKeys.includes(k))).toEqual([]);
    expect(koKeys.length).toBeGreaterThan(50);
  });

  it('has no empty message in either locale', () => {
    const empty = (messages: object) => keysOf(messages).filter((key) => key.split('.').reduce<any>((o, k) => o[k], messages) === '');
    expect(empty(ko)).toEqual([]);
    expect(empty(en)).toEqual([]);
  });

  it('knows every key the console asks for', () => {
    const known = new Set(keysOf(ko));
    const asked = [...filesUnder(CLIENT_SRC, '.vue'), ...filesUnder(CLIENT_SRC, '.ts')]
      .filter((f) => !f.includes('/i18n/'))
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\$?\bt\(\s*'([^'$`]+)'/g)].map((m) => m[1]));
    expect(asked.length).toBeGreaterThan(50);
    expect(asked.filter((key) => !known.has(key))).toEqual([]);
  });

  it('uses every message key somewhere in the console, or names it in a composed key', () => {
    const sources = [...filesUnder(CLIENT_SRC, '.vue'), ...filesUnder(CLIENT_SRC, '.ts')]
      .filter((f) => !f.includes('/i18n/'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    // Keys built at run time: `locale.${option}`, `session.${reason}`, `errors.${code}`.
    const composed = ['locale.', 'session.expired', 'session.rejected', 'session.loggedOut', 'errors.'];
    const unused = keysOf(ko).filter((key) => !sources.includes(`'${key}'`) && !composed.some((c) => key.startsWith(c)));
    expect(unused).toEqual([]);
  });
});

describe('component templates (client/src/**/*.vue)', () => {
  const files = filesUnder(CLIENT_SRC, '.vue');

  it('finds the components to scan', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((f) => [relative(CLIENT_SRC, f), f]))('%s shows no bare sentence outside $t', (_name, file) => {
    expect(bareTexts(readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('catches bare texts, read attributes and prose literals (the scan can fail)', () => {
    const sample = `<template>
      <h1>인프라 구축 환경을 선택하세요</h1>
      <p>Build your architecture</p>
      <input placeholder="Account ID" :title="'Sign in now'" />
      <span>{{ ok ? '확인' : $t('a.b') }}</span>
      <span :class="{ active: 'x' }">{{ $t('signIn.title') }} · {{ 42 }}</span>
    </template>`;
    expect(bareTexts(sample)).toHaveLength(5);
  });

  it('keeps Korean out of scripts too (only the message files hold it)', () => {
    const offenders = [...filesUnder(CLIENT_SRC, '.ts'), ...filesUnder(CLIENT_SRC, '.vue')]
      .filter((f) => !f.includes('/i18n/'))
      .filter((f) => HANGUL.test(readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')))
      .map((f) => relative(CLIENT_SRC, f));
    expect(offenders).toEqual([]);
  });
});
