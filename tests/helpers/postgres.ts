/**
 * PostgreSQL for tests: the server named by TEST_POSTGRES_URL (default: this machine's).
 * Each suite gets a throw-away database so suites can run in parallel.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** CI sets REQUIRE_POSTGRES=1 so that a missing server fails the run instead of skipping. */
export const POSTGRES_REQUIRED = /^(1|true|yes)$/i.test(process.env.REQUIRE_POSTGRES ?? '');

let availability: Promise<string | null> | undefined;

/** Null when reachable, else the reason. */
export function postgresUnavailableReason(): Promise<string | null> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

/**
 * Decides whether a PostgreSQL suite runs. Says plainly why it skips; throws when
 * REQUIRE_POSTGRES is set, so CI cannot pass without the PostgreSQL suites.
 */
export async function shouldRunPostgres(suite: string): Promise<boolean> {
  const reason = await postgresUnavailableReason();
  if (reason === null) return true;
  if (POSTGRES_REQUIRED) {
    throw new Error(`REQUIRE_POSTGRES is set but PostgreSQL at ${TEST_POSTGRES_URL} is unreachable: ${reason}`);
  }
  console.warn(`SKIPPING PostgreSQL suite "${suite}": ${TEST_POSTGRES_URL} unreachable (${reason}). Set TEST_POSTGRES_URL to run it.`);
  return false;
}

export interface TempDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createTempPostgresDatabase(): Promise<TempDatabase> {
  const name = `hcmp_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}
