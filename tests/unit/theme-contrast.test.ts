/**
 * The console's palette (client/src/styles/theme.css) keeps WCAG 2.1 AA contrast in both themes
 * without a browser: each text colour on each background it is used on at least 4.5:1, white on
 * the fills that carry it 4.5:1, the focus ring and the accent's borders 3:1 (WCAG 1.4.11). A
 * palette change that breaks one fails here, before the browser suite's axe run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CSS = readFileSync(join(import.meta.dirname, '../../client/src/styles/theme.css'), 'utf8');

/** The custom properties of the first rule whose selector is exactly `selector`. */
function variablesOf(selector: string): Record<string, string> {
  const start = CSS.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no rule ${selector} in theme.css`);
  const body = CSS.slice(start, CSS.indexOf('}', start)).replace(/\/\*[\s\S]*?\*\//g, '');
  return Object.fromEntries([...body.matchAll(/(--hc-[\w-]+)\s*:\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()]));
}

/** A variable's colour as #rrggbb, following var() references within the theme. */
function colour(vars: Record<string, string>, name: string): string {
  let value = name === 'white' ? '#ffffff' : vars[name];
  for (let hops = 0; value?.startsWith('var('); hops++) {
    if (hops > 5) throw new Error(`${name}: var() loop`);
    value = vars[value.slice(4, -1).trim()];
  }
  if (!value) throw new Error(`${name} is not defined`);
  const hex = value.toLowerCase().match(/^#([0-9a-f]{3}|[0-9a-f]{6})$/)?.[1];
  if (!hex) throw new Error(`${name} = ${value}: not a hex colour`);
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
}

/** WCAG 2.x relative luminance and contrast ratio. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const light = variablesOf(':root');
const dark = { ...light, ...variablesOf(":root[data-theme='dark']") };

const TEXT = ['--hc-text', '--hc-navy', '--hc-muted', '--hc-subtle', '--hc-orange-text', '--hc-blue', '--hc-danger', '--hc-success', '--hc-warning'];
const PAGE = ['--hc-canvas', '--hc-surface'];
/** [text, background, minimum] for one theme. */
type Pair = [string, string, number];
const common: Pair[] = [
  ...TEXT.flatMap((fg) => PAGE.map((bg): Pair => [fg, bg, 4.5])),
  // Tinted boxes and their text.
  ['--hc-orange-text', '--hc-orange-soft', 4.5],
  ['--hc-blue', '--hc-blue-soft', 4.5],
  ['--hc-danger', '--hc-danger-soft', 4.5],
  ['--hc-success', '--hc-success-soft', 4.5],
  ['--hc-warning', '--hc-warning-soft', 4.5],
  ['--hc-muted', '--hc-orange-soft', 4.5],
  // White text on the orange fills (primary buttons, the current step, the role badge, the skip link).
  ['white', '--hc-orange-fill', 4.5],
  ['white', '--hc-orange-hover', 4.5],
  ['white', '--hc-danger-fill', 4.5],
  ['white', '--hc-blue-fill', 4.5],
  // Text and the ring on the navy bars (the bar stays navy in both themes).
  ['white', '--hc-bar', 4.5],
  ['--hc-orange', '--hc-bar', 4.5],
  // The focus ring and the accent's borders (non-text, 3:1).
  ['--hc-focus', '--hc-canvas', 3],
  ['--hc-focus', '--hc-surface', 3],
  ['--hc-orange', '--hc-surface', 3],
];
const darkOnly: Pair[] = [
  ...['--hc-strong', '--hc-body', '--hc-link', '--hc-info-text'].flatMap((fg) => PAGE.map((bg): Pair => [fg, bg, 4.5])),
  ['--hc-badge-slate-text', '--hc-badge-slate', 4.5],
  ['--hc-success', '--hc-badge-green', 4.5],
  ['--hc-danger', '--hc-badge-red', 4.5],
  ['--hc-warning', '--hc-badge-amber', 4.5],
  ['--hc-blue', '--hc-role-bg', 4.5],
];

describe('the palette of theme.css keeps WCAG 2.1 AA contrast', () => {
  it('computes ratios as WCAG defines them', () => {
    expect(contrast('#ffffff', '#000000')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
    // The brand orange under white text: the 3.0:1 that issue 19 found.
    expect(contrast('#ec7211', '#ffffff')).toBeCloseTo(3.01, 2);
  });

  it.each([
    ['light', light, common],
    ['dark', dark, [...common, ...darkOnly]],
  ] as const)('%s theme: every text / background pair reaches its minimum', (_theme, vars, pairs) => {
    const short = pairs
      .map(([fg, bg, min]) => ({ pair: `${fg} ${colour(vars, fg)} on ${bg} ${colour(vars, bg)}`, ratio: Math.round(contrast(colour(vars, fg), colour(vars, bg)) * 100) / 100, min }))
      .filter((p) => p.ratio < p.min);
    expect(short).toEqual([]);
  });

  it('would catch the old palette: the bright orange as a fill and the old captions fail', () => {
    const old = { ...light, '--hc-orange-fill': '#ec7211', '--hc-subtle': '#879596' };
    expect(contrast(colour(old, 'white'), colour(old, '--hc-orange-fill'))).toBeLessThan(4.5);
    expect(contrast(colour(old, '--hc-subtle'), colour(old, '--hc-canvas'))).toBeLessThan(4.5);
  });
});
