/**
 * What the playground takes from the console, read from the same localStorage entries (the
 * playground does not load the Vue app): the signed-in session, the language and the theme.
 * tests/client/playground.test.ts checks that the keys are the console's.
 */
import { readStored } from '../utils/storage';

/** The key of graphql/auth-token.ts (SESSION_STORAGE_KEY). */
export const SESSION_KEY = 'hcmp.session';
/** The key of i18n/index.ts (LOCALE_STORAGE_KEY). */
export const LOCALE_KEY = 'hcmp.locale';

export interface ConsoleSession {
  token: string;
  username: string;
  expiresAt: number;
}

/** The stored session if there is one that has not expired. */
export function storedSession(now = Date.now()): ConsoleSession | null {
  const raw = readStored(SESSION_KEY);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<ConsoleSession> | null;
    if (!value || typeof value.token !== 'string' || value.token === '' || typeof value.username !== 'string' || typeof value.expiresAt !== 'number') return null;
    return value.expiresAt > now ? { token: value.token, username: value.username, expiresAt: value.expiresAt } : null;
  } catch {
    return null;
  }
}

export function storedToken(): string | null {
  return storedSession()?.token ?? null;
}

export function storedLocale(): 'ko' | 'en' {
  return readStored(LOCALE_KEY) === 'en' ? 'en' : 'ko';
}
