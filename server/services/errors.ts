/**
 * Domain errors with stable codes. One GraphQL formatter and one REST handler map them;
 * clients branch on `code`, never on message text.
 */
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

/**
 * The database had no free connection within DB_POOL_ACQUIRE_TIMEOUT_MS (knex's pool timeout):
 * a temporary overload, answered 503 with a hint to retry, never a 500.
 */
export function busyDatabaseError(err: unknown): DomainError | null {
  if (err instanceof Error && (err.name === 'KnexTimeoutError' || /Timeout acquiring a connection/.test(err.message))) {
    return new DomainError('SERVICE_UNAVAILABLE', 'The database is busy; try again in a moment');
  }
  return null;
}
