/** Terraform's HCL, written from a small tree so every value passes through one escaper. */
import { hclString } from './escape.js';

/** An HCL expression written as is: references and functions built here, never user text. */
class Expr {
  constructor(readonly text: string) {}
}
/** An HCL object value `{ key = value }`. */
export class Obj {
  constructor(readonly entries: [string, Hcl][]) {}
}
export type Hcl = string | number | boolean | Expr | Obj | Hcl[];
export type Item = { attr: string; value: Hcl } | { block: string; labels: string[]; body: Item[] } | { comment: string };

export const ref = (text: string) => new Expr(text);
export const attr = (name: string, value: Hcl): Item => ({ attr: name, value });
export const block = (type: string, labels: string[], body: Item[]): Item => ({ block: type, labels, body });
export const comment = (text: string): Item => ({ comment: text });

const HCL_IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function hclValue(value: Hcl, indent: string): string {
  if (typeof value === 'string') return hclString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Expr) return value.text;
  if (value instanceof Obj) {
    if (!value.entries.length) return '{}';
    const inner = `${indent}  `;
    const keys = value.entries.map(([k]) => (HCL_IDENT.test(k) ? k : hclString(k)));
    const width = Math.max(...keys.map((k) => k.length));
    const rows = value.entries.map(([, v], i) => `${inner}${keys[i].padEnd(width)} = ${hclValue(v, inner)}`);
    return `{\n${rows.join('\n')}\n${indent}}`;
  }
  return `[${value.map((v) => hclValue(v, indent)).join(', ')}]`;
}

/** Renders a body; consecutive one-line attributes align their `=` as `terraform fmt` does. */
function hclBody(items: Item[], indent: string): string[] {
  const out: string[] = [];
  let run: { name: string; value: string }[] = [];
  const flush = () => {
    const width = Math.max(0, ...run.filter((r) => !r.value.includes('\n')).map((r) => r.name.length));
    for (const r of run) out.push(`${indent}${r.value.includes('\n') ? r.name : r.name.padEnd(width)} = ${r.value}`);
    run = [];
  };
  for (const item of items) {
    if ('attr' in item) {
      const value = hclValue(item.value, indent);
      if (value.includes('\n')) {
        flush();
        run.push({ name: item.attr, value });
        flush();
      } else {
        run.push({ name: item.attr, value });
      }
      continue;
    }
    flush();
    if ('comment' in item) out.push(`${indent}# ${item.comment.replace(/[^\x20-\x7e]/g, ' ')}`);
    else {
      const head = [item.block, ...item.labels.map(hclString)].join(' ');
      if (!item.body.length) out.push(`${indent}${head} {}`);
      else out.push(`${indent}${head} {`, ...hclBody(item.body, `${indent}  `), `${indent}}`);
    }
  }
  flush();
  return out;
}

/** Top-level blocks are separated by one blank line; a comment sticks to what follows it. */
export function hclFile(items: Item[]): string {
  const out: string[] = [];
  items.forEach((item, i) => {
    if (i > 0 && !('comment' in items[i - 1])) out.push('');
    out.push(...hclBody([item], ''));
  });
  return `${out.join('\n')}\n`;
}

export const resource = (type: string, name: string, body: Item[]) => block('resource', [type, name], body);
