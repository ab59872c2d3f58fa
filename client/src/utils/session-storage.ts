/**
 * sessionStorage that never throws (private mode, quota, policy): the value is then only kept
 * for this page load. JSON in, JSON out; unreadable JSON reads as null.
 */
export function readSessionJson(key: string): unknown {
  try {
    const raw = window.sessionStorage.getItem(key);
    return raw === null ? null : (JSON.parse(raw) as unknown);
  } catch {
    return null;
  }
}

export function writeSessionJson(key: string, value: unknown): void {
  try {
    window.sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // not kept across a reload; the run still streams
  }
}

export function removeSession(key: string): void {
  try {
    window.sessionStorage.removeItem(key);
  } catch {
    // nothing kept either
  }
}
