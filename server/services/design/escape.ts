/**
 * Strings of user text inside generated code: one escaper per language, so nothing a user types
 * can end a string, start an interpolation or change the document around it.
 */

const hex = (cp: number, width: number) => cp.toString(16).toUpperCase().padStart(width, '0');

/** Every code point outside printable ASCII, as `\uXXXX` / `\UXXXXXXXX` (HCL and YAML share these). */
function escapeCodePoint(cp: number): string {
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\uFFFD'; // a lone surrogate has no encoding
  return cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
}

/**
 * An HCL quoted string holding exactly `value`: quotes, backslashes and every character outside
 * printable ASCII escaped, and `${` / `%{` doubled so no interpolation or directive can start.
 */
export function hclString(value: string): string {
  const chars = Array.from(value);
  let out = '"';
  chars.forEach((ch, i) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if ((ch === '$' || ch === '%') && chars[i + 1] === '{') out += ch + ch;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += escapeCodePoint(cp);
  });
  return `${out}"`;
}

/** A YAML double-quoted scalar holding exactly `value` (printable ASCII only, the rest escaped). */
export function yamlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += escapeCodePoint(cp);
  }
  return `${out}"`;
}
