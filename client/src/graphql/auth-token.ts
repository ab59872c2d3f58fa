/**
 * The session's access token, kept in localStorage so that a reload stays signed in. Only the
 * session composable writes it; the GraphQL clients read it. Listeners hear when a server
 * rejects it.
 */
import { ref } from 'vue';
import { readStored, removeStored, writeStored } from '../utils/storage';

export const SESSION_STORAGE_KEY = 'hcmp.session';

export interface StoredSession {
  token: string;
  /** Epoch milliseconds at which the token stops working. */
  expiresAt: number;
  username: string;
}

export const currentSession = ref<StoredSession | null>(null);

function isStoredSession(value: unknown): value is StoredSession {
  const v = value as StoredSession | null;
  return !!v && typeof v.token === 'string' && v.token !== '' && typeof v.expiresAt === 'number' && typeof v.username === 'string';
}

export function readStoredSession(): StoredSession | null {
  const raw = readStored(SESSION_STORAGE_KEY);
  if (!raw) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isStoredSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: StoredSession | null): void {
  currentSession.value = session;
  if (session) writeStored(SESSION_STORAGE_KEY, JSON.stringify(session));
  else removeStored(SESSION_STORAGE_KEY);
}

export function currentToken(): string | null {
  return currentSession.value?.token ?? null;
}

type RejectionListener = () => void;
const rejectionListeners = new Set<RejectionListener>();

/** Called when the server answers UNAUTHENTICATED to a request that carried the token. */
export function onTokenRejected(listener: RejectionListener): () => void {
  rejectionListeners.add(listener);
  return () => rejectionListeners.delete(listener);
}

export function reportTokenRejected(token: string | null): void {
  // A late answer to a request sent with an older token must not end a newer session.
  if (!token || token !== currentToken()) return;
  for (const listener of rejectionListeners) listener();
}
