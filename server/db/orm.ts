/**
 * Opens the database: PostgreSQL when `DATABASE_URL` is set, embedded SQLite otherwise, and
 * SQLite as a fallback when PostgreSQL cannot be reached (unless `DB_FALLBACK=false`).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from '../entities/index.js';
import { usePlainStatements } from './sql.js';
import { postgresqlMigrations } from './migrations/postgresql/index.js';
import { sqliteMigrations } from './migrations/sqlite/index.js';

export type DatabaseBackend = 'sqlite' | 'postgresql';
export type Orm = MikroORM;

export interface DatabaseInfo {
  backend: DatabaseBackend;
  /** True when PostgreSQL was asked for but SQLite is in use. */
  fellBack: boolean;
  /** Why the fallback happened, for `/healthz` and the UI. */
  fallbackReason?: string;
  /** SQLite file, or PostgreSQL host:port/database (never the password). */
  location: string;
}

export interface DatabaseHandle {
  orm: Orm;
  info: DatabaseInfo;
}

export interface DatabaseSettings {
  databaseUrl: string | undefined;
  sqlitePath: string;
  dbFallback: boolean;
  dbConnectTimeoutMs: number;
  /** PostgreSQL connection pool limits (default 10 connections, 30 s wait). */
  dbPool?: PoolLimits;
  /** PostgreSQL: false sends every statement unprepared and unnamed (default true; server/db/sql.ts). */
  dbPreparedStatements?: boolean;
}

interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

const base: Partial<Options> = {
  entities: ENTITIES,
  discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
  extensions: [Migrator],
  allowGlobalContext: false,
  forceUtcTimezone: true,
  debug: false,
};

/** A statement as knex's better-sqlite3 dialect uses it. */
interface PreparedStatement {
  reader: boolean;
}

/** How many distinct SQL texts keep their prepared statement (the oldest is dropped first). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * knex's better-sqlite3 dialect prepares every query again (`connection.prepare(sql)` in
 * `_query`), which was the largest single cost of a read request in the profiles
 * (docs/BENCHMARKS.md). The queries repeat, so this keeps their statements: a statement is
 * reusable, and knex sets no per-query option on it (it would only call safeIntegers() when a
 * query asks for it, which MikroORM never does).
 */
function reusePreparedStatements(connection: { prepare(sql: string): PreparedStatement }, done: (err: Error | null, connection: unknown) => void): void {
  const prepare = connection.prepare.bind(connection);
  const cache = new Map<string, PreparedStatement>();
  connection.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement) {
      // Most recently used last, so the oldest is the first key.
      cache.delete(sql);
    } else {
      statement = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
  done(null, connection);
}

export function sqliteOptions(path: string): Options {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return {
    ...base,
    driver: BetterSqliteDriver,
    dbName: path,
    // One connection: SQLite serialises writers anyway, and this makes every transaction
    // in the process run one after another (the allocation lock on this backend).
    pool: { min: 1, max: 1, afterCreate: reusePreparedStatements },
    migrations: { migrationsList: sqliteMigrations, transactional: true, allOrNothing: true, snapshot: false, silent: true },
  } as Options;
}

export interface PoolLimits {
  /** Connections per instance (DB_POOL_MAX). */
  max: number;
  /** How long a request may wait for a free connection before it is refused with 503 (DB_POOL_ACQUIRE_TIMEOUT_MS). */
  acquireTimeoutMs: number;
}

export function postgresOptions(url: string, connectTimeoutMs: number, pool: PoolLimits = { max: 10, acquireTimeoutMs: 30_000 }): Options {
  return {
    ...base,
    driver: PostgreSqlDriver,
    clientUrl: url,
    pool: { min: 0, max: pool.max, acquireTimeoutMillis: pool.acquireTimeoutMs },
    driverOptions: { connection: { connectionTimeoutMillis: connectTimeoutMs } },
    migrations: { migrationsList: postgresqlMigrations, transactional: true, allOrNothing: true, snapshot: false, silent: true },
  } as Options;
}

/** Host and port of a PostgreSQL URL, for log lines that must never show the password. */
export function describePostgresUrl(url: string): { host: string; port: string; database: string } {
  try {
    const u = new URL(url);
    return { host: u.hostname || 'localhost', port: u.port || '5432', database: u.pathname.replace(/^\//, '') };
  } catch {
    return { host: 'unparseable', port: '?', database: '?' };
  }
}

async function openSqlite(path: string): Promise<Orm> {
  const orm = await MikroORM.init(sqliteOptions(path));
  const connection = orm.em.getConnection();
  if (path !== ':memory:') await connection.execute('pragma journal_mode = wal');
  await connection.execute('pragma busy_timeout = 5000');
  await connection.execute('pragma foreign_keys = on');
  return orm;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function openPostgres(url: string, timeoutMs: number, pool?: PoolLimits): Promise<Orm> {
  const orm = await MikroORM.init({ ...postgresOptions(url, timeoutMs, pool), connect: false });
  try {
    await withTimeout(orm.connect(), timeoutMs + 500, 'connecting');
    const check = await withTimeout(orm.checkConnection(), timeoutMs + 500, 'connecting');
    if (!check.ok) throw new Error(check.reason ?? 'connection check failed');
    return orm;
  } catch (err) {
    await orm.close(true).catch(() => undefined);
    throw err;
  }
}

/** Connects as configured, applying the fallback rule of SPEC §5. */
export async function openDatabase(settings: DatabaseSettings, logger: Logger): Promise<DatabaseHandle> {
  if (!settings.databaseUrl) {
    const orm = await openSqlite(settings.sqlitePath);
    return { orm, info: { backend: 'sqlite', fellBack: false, location: settings.sqlitePath } };
  }
  const target = describePostgresUrl(settings.databaseUrl);
  try {
    const orm = await openPostgres(settings.databaseUrl, settings.dbConnectTimeoutMs, settings.dbPool);
    if (settings.dbPreparedStatements === false) usePlainStatements(orm.em);
    return {
      orm,
      info: { backend: 'postgresql', fellBack: false, location: `${target.host}:${target.port}/${target.database}` },
    };
  } catch (err) {
    const reason = (err as Error).message || String(err);
    const line = `DB connection failed → falling back to SQLite (${settings.sqlitePath})`;
    logger.error(`PostgreSQL at host ${target.host}, port ${target.port} is unreachable: ${reason}`);
    if (!settings.dbFallback) {
      logger.error(`${line} — but DB_FALLBACK=false, so start-up stops here`);
      throw new DatabaseUnavailableError(
        `${line} is switched off (DB_FALLBACK=false): PostgreSQL at ${target.host}:${target.port} is unreachable: ${reason}`,
      );
    }
    logger.warn(line);
    const orm = await openSqlite(settings.sqlitePath);
    return {
      orm,
      info: {
        backend: 'sqlite',
        fellBack: true,
        fallbackReason: `PostgreSQL at ${target.host}:${target.port} unreachable: ${reason}`,
        location: settings.sqlitePath,
      },
    };
  }
}

export function backendOf(orm: Orm | { config: Orm['config'] }): DatabaseBackend {
  return orm.config.get('driver') === PostgreSqlDriver ? 'postgresql' : 'sqlite';
}

/** Applies every pending migration; returns the names applied. */
export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
