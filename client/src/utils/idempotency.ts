/**
 * Idempotency keys for orders: one key per submit intent, so a double click or a request
 * sent again after a lost answer never orders twice (the server answers the same key and
 * body with the same project).
 *
 * The key is made when a body is first submitted and kept while the same body is submitted
 * again — after a network error, a server error, a refusal; a new body (the form changed) or
 * a success starts a new intent with a new key.
 */

/** A random UUID; crypto.randomUUID where the page may use it (secure contexts), else one from getRandomValues. */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const bytes = c.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON with object keys sorted, so the same form gives the same text however it was built. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export interface SubmitKeys {
  /** The key for submitting `body`: the current one while the body is the same, a new one otherwise. */
  keyFor(body: unknown): string;
  /** The order went through: the next submit is a new intent. */
  succeeded(): void;
}

export function createSubmitKeys(makeKey: () => string = newIdempotencyKey): SubmitKeys {
  let current: { key: string; body: string } | null = null;
  return {
    keyFor(body) {
      const text = stableJson(body);
      if (!current || current.body !== text) current = { key: makeKey(), body: text };
      return current.key;
    },
    succeeded() {
      current = null;
    },
  };
}
