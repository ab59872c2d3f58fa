/** Names from user text: DNS-safe slugs, AWS resource names within their limits, tag values. */

/**
 * A DNS label from any text: lowercase ASCII letters, digits and single hyphens, at most 63
 * characters, no hyphen at either end; `fallback` when nothing is left.
 */
export function slugify(value: string, fallback: string): string {
  const slug = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || fallback;
}

/** FNV-1a, 4 hex digits: tells truncated names apart, the same on every run. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0').slice(0, 4);
}

/**
 * `<slug>-<suffix>` within an AWS name limit. Too long: the slug is cut and a short hash of
 * the whole slug keeps names distinct. `letterFirst` for the services whose names must begin
 * with a letter (RDS, ElastiCache).
 */
export function resourceName(slug: string, suffix: string, max: number, letterFirst = false): string {
  const base = letterFirst && !/^[a-z]/.test(slug) ? `svc-${slug}` : slug;
  const full = `${base}-${suffix}`;
  if (full.length <= max) return full;
  const tag = shortHash(slug);
  const room = max - suffix.length - tag.length - 2;
  return `${base.slice(0, room).replace(/-+$/, '')}-${tag}-${suffix}`;
}

/**
 * An AWS tag value from free text: letters, digits, spaces and `_ . : / = + - @` (what every
 * service accepts), at most 256 characters; null when nothing is left.
 */
export function tagValue(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = Array.from(value.replace(/[^\p{L}\p{N} _.:/=+\-@]+/gu, ' ').replace(/\s+/g, ' ').trim())
    .slice(0, 256)
    .join('')
    .trim();
  return cleaned || null;
}
