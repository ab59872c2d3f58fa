/** CloudFormation's YAML, emitted from a plain tree; intrinsic functions in their long form. */
import { yamlString } from './escape.js';

export type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/**
 * Strings written without quotes: a letter, then letters, digits and `_ . / : < > -`, no colon
 * at the end, and none of the words YAML 1.1 reads as booleans or null. Anything else (user
 * text included) is double-quoted by {@link yamlString}.
 */
const YAML_PLAIN = /^[A-Za-z][A-Za-z0-9_./:<>-]*$/;
const YAML_WORDS = /^(?:y|yes|n|no|true|false|on|off|null)$/i;

function yamlText(value: string): string {
  return YAML_PLAIN.test(value) && !value.endsWith(':') && !YAML_WORDS.test(value) ? value : yamlString(value);
}

function yamlScalar(value: Yaml): string | undefined {
  if (typeof value === 'string') return yamlText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length ? undefined : '[]';
  return Object.keys(value).length ? undefined : '{}';
}

export function yamlLines(value: Yaml, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const scalar = yamlScalar(item);
      if (scalar !== undefined) {
        out.push(`${pad}- ${scalar}`);
      } else {
        const [first, ...rest] = yamlLines(item, indent + 2);
        out.push(`${pad}- ${first.trimStart()}`, ...rest);
      }
    }
    return out;
  }
  for (const [key, item] of Object.entries(value as Record<string, Yaml>)) {
    const name = yamlText(key);
    const scalar = yamlScalar(item);
    if (scalar !== undefined) out.push(`${pad}${name}: ${scalar}`);
    else out.push(`${pad}${name}:`, ...yamlLines(item, indent + 2));
  }
  return out;
}

export const Ref = (name: string): Yaml => ({ Ref: name });
export const GetAtt = (name: string, attribute: string): Yaml => ({ 'Fn::GetAtt': [name, attribute] });
