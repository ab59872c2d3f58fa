/**
 * The signed-in session, shared by the whole console: the token (from the `login` mutation,
 * kept in localStorage across reloads), the account (`me`, loaded on start), the time left,
 * sign-in, logout, and the end of a session that expired or that the server rejected.
 *
 * Navigation is not done here: the router listens with {@link onSessionEnded}.
 */
import { computed, ref } from 'vue';
import { api } from '../graphql/api';
import { currentSession, onTokenRejected, readStoredSession, saveSession, SESSION_STORAGE_KEY } from '../graphql/auth-token';
import { ApiError } from '../graphql/client';
import { LoginDocument, LogoutDocument, MeDocument, type MeQuery } from '../graphql/generated/operations';

export type SessionUser = MeQuery['me'];
/** Why there is no session any more; ConfigureView shows it. */
export type SessionEnd = 'expired' | 'rejected' | 'loggedOut';

const user = ref<SessionUser | null>(null);
const error = ref<ApiError | null>(null);
const fetching = ref(false);
const endReason = ref<SessionEnd | null>(null);
/** Who was signed in when a session expired or was rejected: prefills the next sign-in. */
const lastUsername = ref<string | null>(null);

const endListeners = new Set<(reason: SessionEnd) => void>();
let expiryTimer: ReturnType<typeof setTimeout> | undefined;
let restored: Promise<void> | null = null;

const MAX_TIMEOUT = 2 ** 31 - 1;

function scheduleExpiry(expiresAt: number | null): void {
  clearTimeout(expiryTimer);
  if (expiresAt == null) return;
  // Long waits are re-armed: setTimeout overflows past ~24.8 days.
  const wait = Math.max(0, expiresAt - Date.now());
  expiryTimer = setTimeout(() => (Date.now() >= expiresAt ? end('expired') : scheduleExpiry(expiresAt)), Math.min(wait, MAX_TIMEOUT));
}

function end(reason: SessionEnd): void {
  const hadSession = currentSession.value !== null;
  lastUsername.value = reason === 'loggedOut' ? null : (currentSession.value?.username ?? lastUsername.value);
  saveSession(null);
  scheduleExpiry(null);
  user.value = null;
  endReason.value = reason;
  if (hadSession) for (const listener of endListeners) listener(reason);
}

function isExpired(): boolean {
  const session = currentSession.value;
  return !session || Date.now() >= session.expiresAt;
}

async function loadMe(): Promise<void> {
  fetching.value = true;
  error.value = null;
  try {
    user.value = (await api.request(MeDocument, {})).me;
  } catch (err) {
    // UNAUTHENTICATED already ended the session (onTokenRejected); keep other errors to show.
    if (err instanceof ApiError && err.code !== 'UNAUTHENTICATED') error.value = err;
  } finally {
    fetching.value = false;
  }
}

/** Picks up the stored session (once per page load) and loads `me`. */
function restore(): Promise<void> {
  restored ??= (async () => {
    const stored = readStoredSession();
    if (!stored) return;
    if (Date.now() >= stored.expiresAt) {
      saveSession(null);
      lastUsername.value = stored.username;
      endReason.value = 'expired';
      return;
    }
    saveSession(stored);
    scheduleExpiry(stored.expiresAt);
    await loadMe();
  })();
  return restored;
}

async function signIn(username: string, password: string): Promise<SessionUser> {
  const { login } = await api.request(LoginDocument, { username, password }, { auth: false });
  saveSession({ token: login.accessToken, expiresAt: Date.parse(login.expiresAt), username: login.user.username });
  scheduleExpiry(Date.parse(login.expiresAt));
  user.value = login.user;
  error.value = null;
  endReason.value = null;
  return login.user;
}

async function logout(): Promise<void> {
  if (currentSession.value) {
    try {
      await api.request(LogoutDocument, {});
    } catch {
      // The token is dropped here whatever the server said; it expires on its own.
    }
  }
  end('loggedOut');
}

onTokenRejected(() => end('rejected'));

if (typeof window !== 'undefined') {
  // Another tab signed in or out: follow it.
  window.addEventListener('storage', (event) => {
    if (event.key !== SESSION_STORAGE_KEY) return;
    const stored = readStoredSession();
    if (!stored) {
      if (currentSession.value) end('loggedOut');
      return;
    }
    if (stored.token === currentSession.value?.token) return;
    saveSession(stored);
    scheduleExpiry(stored.expiresAt);
    void loadMe();
  });
}

/** Hears every end of a session that was active (logout, expiry, rejection). */
export function onSessionEnded(listener: (reason: SessionEnd) => void): () => void {
  endListeners.add(listener);
  return () => endListeners.delete(listener);
}

const isSignedIn = computed(() => currentSession.value !== null);
const isAdmin = computed(() => user.value?.role === 'admin');
const username = computed(() => user.value?.username ?? currentSession.value?.username ?? null);
const expiresAt = computed(() => currentSession.value?.expiresAt ?? null);

export function useSession() {
  return {
    /** The signed-in account (`me`), null until loaded. */
    data: user,
    error,
    fetching,
    isSignedIn,
    isAdmin,
    username,
    expiresAt,
    endReason,
    lastUsername,
    restore,
    signIn,
    logout,
    isExpired,
    /** Ends the session now (the expiry timer and rejected tokens call this). */
    end,
    clearEndReason: () => {
      endReason.value = null;
    },
  };
}

export type Session = ReturnType<typeof useSession>;
