/**
 * Domain errors with stable codes. One GraphQL formatter and one REST handler map them;
 * clients branch on `code`, never on message text.
 */
import { databaseUnavailability, type Unavailability } from '../db/unavailable.js';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'SERVICE_UNAVAILABLE'
  | 'TOO_MANY_REQUESTS';

/** One problem with a request, in FastAPI's shape: where, what, which kind. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: ValidationIssue[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what = 'Not Found') => new DomainError('NOT_FOUND', what);
export const unauthenticated = (why = 'Not authenticated') => new DomainError('UNAUTHENTICATED', why);
export const forbidden = (why: string) => new DomainError('FORBIDDEN', why);

export function invalidInput(issues: ValidationIssue[]): DomainError {
  const summary = issues.map((i) => `${i.loc.slice(1).join('.') || 'body'}: ${i.msg}`).join('; ');
  return new DomainError('BAD_USER_INPUT', summary, issues);
}

/** The pool has fewer free hosts than an order needs. */
export class PoolExhaustedError extends DomainError {
  constructor(
    readonly needed: number,
    readonly available: number,
  ) {
    super('CONFLICT', `${needed} hosts needed, ${available} available`);
  }
}

/** A pool host cannot be removed while a project holds it. */
export class HostHeldError extends DomainError {
  constructor(
    readonly hostId: number,
    readonly projectId: number,
    address: string,
  ) {
    super('CONFLICT', `Host ${address} is held by project #${projectId}; it can be removed once the project gives it back (drain it to keep it from new orders)`);
  }
}

/**
 * The database cannot serve the request now: no free connection within
 * DB_POOL_ACQUIRE_TIMEOUT_MS or a lock wait ran out (busy), or it cannot be reached or cannot
 * write (down: a restart, a lost connection, a full disk). Answered 503 with Retry-After, never
 * a 500 that hides what to do.
 */
export class DatabaseUnavailableError extends DomainError {
  constructor(
    readonly reason: Unavailability,
    /** How long a client should wait before it tries again. */
    readonly retryAfterSeconds: number,
  ) {
    super('SERVICE_UNAVAILABLE', reason === 'busy' ? 'The database is busy; try again in a moment' : 'Database unavailable');
    this.name = 'DatabaseUnavailableError';
  }
}

/** `err` as the 503 it should be answered with, when it says the database is unavailable; else null. */
export function databaseUnavailableError(err: unknown): DatabaseUnavailableError | null {
  if (err instanceof DatabaseUnavailableError) return err;
  const reason = databaseUnavailability(err);
  if (!reason) return null;
  return new DatabaseUnavailableError(reason, reason === 'busy' ? 1 : 5);
}
