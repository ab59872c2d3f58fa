/**
 * Which errors mean "the database is unavailable" (503 with Retry-After; a job waits and tries
 * again) and which are the statement's own fault (never retried): the real errors of the drivers
 * where this machine can make them, and the shapes they arrive in (MikroORM's wrappers,
 * AggregateError, causes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionException, DriverException } from '@mikro-orm/core';
import { databaseUnavailability, DatabaseOutageError, waitOutOutage } from '../../server/db/unavailable.js';
import { formatGraphQLError } from '../../server/graphql/errors.js';
import { restErrorAnswer } from '../../server/rest/errors.js';
import { databaseUnavailableError } from '../../server/services/errors.js';

class KnexTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KnexTimeoutError';
  }
}
const poolTimeout = () => new KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?');
const withCode = (code: string, message = `error ${code}`) => Object.assign(new Error(message), { code });

const dir = mkdtempSync(join(tmpdir(), 'hcmp-unavailable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('database unavailability', () => {
  it('a refused PostgreSQL connection (the real node-postgres error) is "down"', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 });
    const err = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).not.toBeNull();
    expect(databaseUnavailability(err)).toBe('down');
  });

  it('SQLite locked past its busy timeout is "busy", a full database is "down" (real better-sqlite3 errors)', () => {
    const file = join(dir, 'locks.db');
    const holder = new Database(file);
    holder.pragma('journal_mode = wal');
    holder.exec('create table t (x integer)');
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    holder.exec('begin immediate');
    let busy: unknown;
    try {
      other.exec('insert into t values (1)');
    } catch (e) {
      busy = e;
    }
    holder.exec('rollback');
    expect((busy as { code?: string }).code).toBe('SQLITE_BUSY');
    expect(databaseUnavailability(busy)).toBe('busy');

    // max_page_count makes SQLite answer exactly as a full disk does.
    other.pragma('max_page_count = 3');
    let full: unknown;
    try {
      other.exec(`insert into t select value from json_each('[${Array.from({ length: 5000 }, (_, i) => i).join(',')}]')`);
    } catch (e) {
      full = e;
    }
    expect((full as { code?: string }).code).toBe('SQLITE_FULL');
    expect(databaseUnavailability(full)).toBe('down');
    holder.close();
    other.close();
  });

  it('knows the connection-class SQLSTATEs, socket errors and driver messages, also wrapped', () => {
    for (const code of ['08000', '08001', '08003', '08006', '08P01', '57P01', '57P02', '57P03', '53300']) expect(databaseUnavailability(withCode(code)), code).toBe('down');
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']) expect(databaseUnavailability(withCode(code)), code).toBe('down');
    expect(databaseUnavailability(new Error('Connection terminated unexpectedly'))).toBe('down');
    // Knex puts the statement in front of the driver's message (seen when the pool's connections were killed mid-query).
    const midQuery = new DriverException(new Error('select "p0".* from "provision_events" as "p0" where "p0"."project_id" = 68 - Connection terminated unexpectedly'));
    expect(databaseUnavailability(midQuery)).toBe('down');
    expect(databaseUnavailability(new Error('Client has encountered a connection error and is not queryable'))).toBe('down');
    expect(databaseUnavailability(poolTimeout())).toBe('busy');
    // MikroORM copies the driver's fields onto its own exception.
    expect(databaseUnavailability(new ConnectionException(withCode('57P01', 'terminating connection due to administrator command')))).toBe('down');
    // Node's happy-eyeballs connect reports an AggregateError of the attempts.
    expect(databaseUnavailability(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'))).toBe('down');
    expect(databaseUnavailability(new Error('outer', { cause: withCode('08006') }))).toBe('down');
  });

  it('a statement that is wrong is never "unavailable"', () => {
    for (const code of ['42601', '42P01', '23505', '22012', '40001', '40P01', '26000', 'SQLITE_ERROR', 'SQLITE_CONSTRAINT_UNIQUE']) {
      expect(databaseUnavailability(withCode(code)), code).toBeNull();
    }
    expect(databaseUnavailability(new DriverException(withCode('42P01', 'relation "projects" does not exist')))).toBeNull();
    expect(databaseUnavailability(new Error('Timeout'))).toBeNull();
    expect(databaseUnavailability('Connection terminated unexpectedly')).toBeNull();
    expect(databaseUnavailability(new Error('select 1 from "Connection terminated" - relation does not exist'))).toBeNull();
    expect(databaseUnavailability(null)).toBeNull();
  });

  it('is 503 on REST with its own wording and Retry-After, SERVICE_UNAVAILABLE on GraphQL, without internals', () => {
    expect(restErrorAnswer(poolTimeout(), 1024)).toEqual({ status: 503, body: { detail: 'The database is busy; try again in a moment' } });
    expect(restErrorAnswer(withCode('57P01', 'terminating connection due to administrator command'), 1024)).toEqual({ status: 503, body: { detail: 'Database unavailable' } });
    expect(databaseUnavailableError(withCode('ECONNREFUSED'))?.retryAfterSeconds).toBeGreaterThan(0);
    const down = formatGraphQLError({ message: 'Unexpected error.' }, withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.1.2.3:5432'));
    expect(down).toEqual({ message: 'Database unavailable', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 } });
    const busy = formatGraphQLError({ message: 'Unexpected error.' }, poolTimeout());
    expect(busy.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1 });
    expect(restErrorAnswer(withCode('42P01'), 1024)).toBeUndefined();
  });
});

describe('waiting out an outage', () => {
  it('tries again while the database is unavailable and answers once it is back', async () => {
    let calls = 0;
    const retries: number[] = [];
    const answer = await waitOutOutage(
      async () => {
        calls++;
        if (calls < 4) throw withCode('ECONNREFUSED');
        return 'stored';
      },
      { graceMs: 10_000, firstDelayMs: 5, onRetry: (_err, failures) => retries.push(failures) },
    );
    expect(answer).toBe('stored');
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('throws any other failure at once, without trying again', async () => {
    let calls = 0;
    const err = await waitOutOutage(
      async () => {
        calls++;
        throw withCode('23505', 'duplicate key');
      },
      { graceMs: 10_000, firstDelayMs: 5 },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('duplicate key');
    expect(calls).toBe(1);
  });

  it('gives up with a DatabaseOutageError past its grace, or at once when its signal is aborted', async () => {
    const started = Date.now();
    const late = await waitOutOutage(
      async () => {
        throw withCode('57P03', 'the database system is starting up');
      },
      { graceMs: 150, firstDelayMs: 10, maxDelayMs: 40 },
    ).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(DatabaseOutageError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(databaseUnavailability(late)).toBe('down'); // still answered 503 where it reaches a client

    const stop = new AbortController();
    setTimeout(() => stop.abort(), 30);
    const t0 = Date.now();
    const stopped = await waitOutOutage(
      async () => {
        throw withCode('ECONNREFUSED');
      },
      { graceMs: 60_000, firstDelayMs: 5_000, signal: stop.signal },
    ).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(DatabaseOutageError);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
