/**
 * Which database errors mean "the database cannot be reached or cannot write right now" (an
 * outage: a restart, a failover, a cut network, a full disk) rather than "this statement is
 * wrong". The first kind is answered 503 with Retry-After and waited out by the runner's jobs;
 * the second is a bug or a bad request and is never retried.
 */

/** How the database is unavailable: busy (pool or lock wait ran out) or down (connection-class). */
export type Unavailability = 'busy' | 'down';

/** PostgreSQL SQLSTATEs of a lost or refused connection (class 08, admin shutdown, crash, starting up, too many clients). */
const PG_CODES = /^(08...|57P01|57P02|57P03|53300)$/;
/** Node socket errors on the way to the server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** SQLite: the file is locked past the busy timeout, or the disk (or its quota) is full, or I/O failed. */
const SQLITE_BUSY = /^SQLITE_(BUSY|LOCKED)/;
const SQLITE_DOWN = /^SQLITE_(FULL|IOERR)/;
/**
 * node-postgres and knex errors that carry no code. Knex rewrites a failed query's error message
 * to `<the SQL> - <the driver's message>`, so a message may start there.
 */
const DOWN_MESSAGES = [
  /(?:^| - )Connection terminated/,
  /(?:^| - )Connection ended unexpectedly/,
  /Client has encountered a connection error and is not queryable/,
  /Client was closed and is not queryable/,
  /timeout exceeded when trying to connect/,
  /^connecting timed out after/,
];

function classifyOne(err: unknown): Unavailability | null {
  if (typeof err !== 'object' || err === null) return null;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (PG_CODES.test(code) || SOCKET_CODES.has(code) || SQLITE_DOWN.test(code)) return 'down';
    if (SQLITE_BUSY.test(code)) return 'busy';
  }
  if (name === 'KnexTimeoutError' || (typeof message === 'string' && /Timeout acquiring a connection/.test(message))) return 'busy';
  if (typeof message === 'string' && DOWN_MESSAGES.some((re) => re.test(message))) return 'down';
  return null;
}

/**
 * Whether `err` (or what it wraps: `cause`, the errors of an AggregateError, MikroORM's copy of
 * the driver's fields) says the database is unavailable, and how.
 */
export function databaseUnavailability(err: unknown, depth = 0): Unavailability | null {
  const own = classifyOne(err);
  if (own || depth >= 4 || typeof err !== 'object' || err === null) return own;
  const { cause, errors, previous } = err as { cause?: unknown; errors?: unknown; previous?: unknown };
  for (const inner of [cause, previous, ...(Array.isArray(errors) ? errors : [])]) {
    const found = inner === undefined ? null : databaseUnavailability(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

export const isDatabaseUnavailable = (err: unknown): boolean => databaseUnavailability(err) !== null;

/** The database stayed unavailable for longer than a caller was willing to wait. */
export class DatabaseOutageError extends Error {
  constructor(
    readonly waitedMs: number,
    readonly last: unknown,
  ) {
    super(`the database was unavailable for ${Math.round(waitedMs / 1000)} s (${last instanceof Error ? last.message : String(last)})`, { cause: last });
    this.name = 'DatabaseOutageError';
  }
}

export interface OutageWait {
  /** Give up (with a {@link DatabaseOutageError}) once the database has been unavailable this long. */
  graceMs: number;
  /** Gives up at once when aborted (with the same error). */
  signal?: AbortSignal;
  /** Called before each wait, with the failure and how many attempts failed so far. */
  onRetry?: (err: unknown, failures: number) => void;
  /** First and largest delay between attempts (default 100 ms and 5 s; each wait doubles, ±20 %). */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `attempt` until it succeeds, waiting out failures that say the database is unavailable
 * with back-off; any other failure is thrown at once. Past `graceMs` (or when `signal` is
 * aborted) it throws a {@link DatabaseOutageError}. `attempt` must be safe to run again after a
 * failure whose outcome is unknown (a lost COMMIT answer): it checks what is stored first.
 */
export async function waitOutOutage<T>(attempt: (failures: number) => Promise<T>, options: OutageWait): Promise<T> {
  const started = Date.now();
  const first = options.firstDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  for (let failures = 0; ; ) {
    try {
      return await attempt(failures);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      failures++;
      const waited = Date.now() - started;
      if (waited >= options.graceMs || options.signal?.aborted) throw new DatabaseOutageError(waited, err);
      options.onRetry?.(err, failures);
      const base = Math.min(max, first * 2 ** (failures - 1), Math.max(0, options.graceMs - waited));
      await pause(base * (0.8 + Math.random() * 0.4), options.signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
