/**
 * A tiny regex highlighter for the generated Terraform (HCL) and CloudFormation (YAML) texts.
 * Loaded on demand by CodePanel (not part of any first load). Every piece of text is
 * HTML-escaped; the only markup produced is `<span class="tok-…">`.
 */
export type CodeLanguage = 'hcl' | 'yaml';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

const span = (kind: string, text: string) => `<span class="tok-${kind}">${escapeHtml(text)}</span>`;

/** Token patterns, tried at each position in order; the first group that matches names the token. */
const HCL = new RegExp(
  [
    '(?<comment>#.*$|//.*$)',
    '(?<string>"(?:[^"\\\\]|\\\\.)*")',
    '(?<keyword>\\b(?:resource|data|variable|output|provider|module|locals|terraform|required_providers|dynamic|for_each|count)\\b)',
    '(?<literal>\\b(?:true|false|null)\\b)',
    '(?<number>\\b\\d+(?:\\.\\d+)?\\b)',
    '(?<attr>\\b[A-Za-z_][\\w-]*(?=\\s*=(?!=)))',
  ].join('|'),
  'gm',
);

const YAML = new RegExp(
  [
    '(?<comment>(?:^|(?<=\\s))#.*$)',
    '(?<key>^\\s*(?:-\\s+)?[A-Za-z_][\\w.:/-]*(?=:(?:\\s|$)))',
    "(?<string>\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^']|'')*')",
    '(?<tag>![A-Za-z]+)',
    '(?<literal>\\b(?:true|false|null)\\b)',
    '(?<number>(?<![\\w.-])\\d+(?:\\.\\d+)?(?![\\w.-]))',
  ].join('|'),
  'gm',
);

/** The text as HTML with its tokens wrapped in spans. */
export function highlight(code: string, language: CodeLanguage): string {
  const pattern = language === 'hcl' ? HCL : YAML;
  let out = '';
  let last = 0;
  for (const match of code.matchAll(pattern)) {
    if (match[0] === '') continue;
    const index = match.index ?? 0;
    const kind = Object.entries(match.groups ?? {}).find(([, v]) => v !== undefined)?.[0] ?? 'text';
    let text = match[0];
    let lead = '';
    // A YAML key match includes its indentation and list dash: keep those plain.
    if (kind === 'key') {
      const m = /^(\s*(?:-\s+)?)(.*)$/s.exec(text);
      if (m) [lead, text] = [m[1], m[2]];
    }
    out += escapeHtml(code.slice(last, index)) + escapeHtml(lead) + span(kind, text);
    last = index + match[0].length;
  }
  return out + escapeHtml(code.slice(last));
}
