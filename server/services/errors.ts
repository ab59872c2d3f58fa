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
  /** Values the message speaks of, for clients (pydantic's `ctx`); only on the `too_many_errors` trailer. */
  ctx?: { more: number };
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

/**
 * The most issues one refusal lists. An order naming one package 5,000 times has 4,999 problems;
 * listed in full they made a 40 KB request a 513 KB answer (REST `detail`, GraphQL
 * `extensions.issues` and the message alike).
 */
export const MAX_LISTED_ISSUES = 50;

/**
 * The first {@link MAX_LISTED_ISSUES} issues, then — when there were more — one more entry saying
 * how many were left out: `{loc: ['body'], msg: '… and N more problems', type: 'too_many_errors',
 * ctx: {more: N}}`.
 */
export function listedIssues(issues: ValidationIssue[]): ValidationIssue[] {
  if (issues.length <= MAX_LISTED_ISSUES) return issues;
  const more = issues.length - MAX_LISTED_ISSUES;
  return [
    ...issues.slice(0, MAX_LISTED_ISSUES),
    { loc: ['body'], msg: `… and ${more} more problem${more === 1 ? '' : 's'}`, type: 'too_many_errors', ctx: { more } },
  ];
}

/** A refusal of the input with its issues (every transport answers them; at most 50 are listed). */
export function invalidInput(issues: ValidationIssue[]): DomainError {
  const listed = listedIssues(issues);
  const summary = listed.map((i) => `${i.loc.slice(1).join('.') || 'body'}: ${i.msg}`).join('; ');
  return new DomainError('BAD_USER_INPUT', summary, listed);
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
