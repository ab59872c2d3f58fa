/**
 * A database with no free connection (knex's pool timeout) is a temporary overload: REST answers
 * 503 with Retry-After and GraphQL SERVICE_UNAVAILABLE — never a 500 that hides what to do.
 */
import { describe, expect, it } from 'vitest';
import { formatGraphQLError } from '../../server/graphql/errors.js';
import { restErrorAnswer } from '../../server/rest/errors.js';
import { busyDatabaseError } from '../../server/services/errors.js';

class KnexTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KnexTimeoutError';
  }
}
const poolTimeout = () => new KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?');

describe('busy database', () => {
  it('recognises the pool timeout and nothing else', () => {
    expect(busyDatabaseError(poolTimeout())?.code).toBe('SERVICE_UNAVAILABLE');
    expect(busyDatabaseError(new Error('relation "projects" does not exist'))).toBeNull();
    expect(busyDatabaseError('Timeout acquiring a connection')).toBeNull();
  });

  it('is 503 on REST and SERVICE_UNAVAILABLE on GraphQL, without internals', () => {
    expect(restErrorAnswer(poolTimeout(), 1024)).toEqual({ status: 503, body: { detail: 'The database is busy; try again in a moment' } });
    const formatted = formatGraphQLError({ message: 'Unexpected error.' }, poolTimeout());
    expect(formatted.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(formatted.message).toBe('The database is busy; try again in a moment');
  });
});
