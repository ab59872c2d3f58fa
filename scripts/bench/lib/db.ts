/**
 * Databases for the benchmarks: throw-away SQLite files and PostgreSQL databases made from a
 * migrated template (the product's own migrations, so the schema is exactly the server's),
 * raw driver connections (better-sqlite3, pg) for seeding, resetting and the baselines, and
 * the seed data itself. Nothing here goes through MikroORM except the one migration run.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const require = createRequire(import.meta.url);

export type Backend = 'sqlite' | 'postgresql';

/** Where a database lives: a SQLite file path or a PostgreSQL URL. */
export interface DbTarget {
  backend: Backend;
  location: string;
  /** PostgreSQL database name. */
  name?: string;
}

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// --- better-sqlite3, typed by hand (the project has no @types for it) ------------------------

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
}
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(source: string): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
  close(): void;
}
type SqliteCtor = new (path: string, options?: { readonly?: boolean }) => SqliteDatabase;

export function openSqlite(path: string, options: { readonly?: boolean } = {}): SqliteDatabase {
  const Database = require('better-sqlite3') as SqliteCtor;
  const db = new Database(path, options);
  // The same settings the server applies to its connection (server/db/orm.ts).
  if (!options.readonly) db.pragma('journal_mode = wal');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = on');
  return db;
}

// --- a raw connection, either backend -----------------------------------------------------------

/** `?` placeholders → `$1, $2, …` for pg. (Only for the harness's own SQL, which has no `?` in strings.) */
export function pgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export interface RawDb {
  readonly backend: Backend;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Several statements, no parameters. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  readonly sqlite?: SqliteDatabase;
  readonly pg?: pg.Client;
}

export async function connect(target: DbTarget): Promise<RawDb> {
  if (target.backend === 'sqlite') {
    const db = openSqlite(target.location);
    // Prepared once per SQL text, as a driver-level baseline would (pg has no client-side equivalent here).
    const statements = new Map<string, SqliteStatement>();
    const prepared = (sql: string) => {
      let statement = statements.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    };
    return {
      backend: 'sqlite',
      sqlite: db,
      query: async <T>(sql: string, params: unknown[] = []) => prepared(sql).all(...params) as T[],
      run: async (sql, params = []) => prepared(sql).run(...params).changes,
      exec: async (sql) => db.exec(sql),
      close: async () => db.close(),
    };
  }
  const client = new pg.Client({ connectionString: target.location, application_name: 'hcmp-bench' });
  // A database dropped under the connection must not crash the process (the next query fails instead).
  client.on('error', () => undefined);
  await client.connect();
  return {
    backend: 'postgresql',
    pg: client,
    query: async <T>(sql: string, params: unknown[] = []) => (await client.query(pgPlaceholders(sql), params)).rows as T[],
    run: async (sql, params = []) => (await client.query(pgPlaceholders(sql), params)).rowCount ?? 0,
    exec: async (sql) => {
      await client.query(sql);
    },
    close: () => client.end(),
  };
}

async function pgAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000, application_name: 'hcmp-bench' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function postgresReachable(): Promise<string | null> {
  try {
    await pgAdmin('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function pgUrlFor(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes what an earlier run that died without cleaning up left behind: `hcmp_bench_<pid>_*`
 * databases and `hcmp-bench-<pid>-*` temp folders whose process is gone.
 */
export async function sweepLeftovers(includePostgres: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of readdirSync(tmpdir())) {
    const m = /^hcmp-bench-(\d+)-/.exec(entry);
    if (m && !alive(Number(m[1]))) {
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  if (includePostgres) {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like 'hcmp_bench_%'`);
      for (const { datname } of rows) {
        const m = /^hcmp_bench_(\d+)_/.exec(datname);
        if (m && !alive(Number(m[1]))) {
          await client.query(`drop database if exists "${datname}" with (force)`);
          removed.push(datname);
        }
      }
    } finally {
      await client.end();
    }
  }
  return removed;
}

/**
 * Makes fresh databases from a template migrated once per run, and drops them all at the end
 * (`dropAll`, and `removeTempSync` from an exit handler for the files).
 */
export class DatabaseFactory {
  readonly tmpRoot: string;
  private readonly templates = new Map<Backend, Promise<DbTarget>>();
  private readonly pgDatabases = new Set<string>();
  private counter = 0;

  constructor() {
    this.tmpRoot = mkdtempSync(join(tmpdir(), `hcmp-bench-${process.pid}-`));
  }

  /** A path inside this run's temp folder. */
  path(name: string): string {
    return join(this.tmpRoot, name);
  }

  private template(backend: Backend): Promise<DbTarget> {
    let t = this.templates.get(backend);
    if (!t) {
      t = this.makeTemplate(backend);
      this.templates.set(backend, t);
    }
    return t;
  }

  private async makeTemplate(backend: Backend): Promise<DbTarget> {
    // The product's own migrations, once; every benchmark database is a copy.
    await import('reflect-metadata');
    const { MikroORM } = await import('@mikro-orm/core');
    const { migrate, postgresOptions, sqliteOptions } = await import('../../../server/db/orm.js');
    if (backend === 'sqlite') {
      const location = this.path('template.sqlite');
      const orm = await MikroORM.init(sqliteOptions(location));
      try {
        await orm.em.getConnection().execute('pragma journal_mode = wal');
        await migrate(orm);
      } finally {
        await orm.close(true);
      }
      // Fold the WAL into the main file so a plain copy is complete.
      const db = openSqlite(location);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      return { backend, location };
    }
    const name = `hcmp_bench_${process.pid}_tpl`;
    await pgAdmin(`create database "${name}"`);
    this.pgDatabases.add(name);
    const orm = await MikroORM.init(postgresOptions(pgUrlFor(name), 5000));
    try {
      await migrate(orm);
    } finally {
      await orm.close(true);
    }
    return { backend, location: pgUrlFor(name), name };
  }

  /** A new, empty, migrated database. */
  async fresh(backend: Backend, label: string): Promise<DbTarget> {
    const template = await this.template(backend);
    const n = ++this.counter;
    if (backend === 'sqlite') {
      const location = this.path(`${label}-${n}.sqlite`);
      copyFileSync(template.location, location);
      return { backend, location };
    }
    const name = `hcmp_bench_${process.pid}_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${n}`;
    await pgAdmin(`create database "${name}" template "${template.name}"`);
    this.pgDatabases.add(name);
    return { backend, location: pgUrlFor(name), name };
  }

  /** Drops one database now (big ones, to free disk between benchmarks). */
  async drop(target: DbTarget): Promise<void> {
    if (target.backend === 'sqlite') {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${target.location}${suffix}`, { force: true });
      return;
    }
    if (target.name) {
      await pgAdmin(`drop database if exists "${target.name}" with (force)`).catch(() => undefined);
      this.pgDatabases.delete(target.name);
    }
  }

  /** Size on disk (SQLite) or as PostgreSQL reports it, in bytes. */
  async size(target: DbTarget): Promise<number> {
    if (target.backend === 'sqlite') {
      return ['', '-wal'].reduce((sum, s) => sum + (existsSync(`${target.location}${s}`) ? statSync(`${target.location}${s}`).size : 0), 0);
    }
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>('select pg_database_size($1) as n', [target.name]);
      return Number(rows[0].n);
    } finally {
      await client.end();
    }
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.pgDatabases].reverse()) {
      await pgAdmin(`drop database if exists "${name}" with (force)`).catch(() => undefined);
      this.pgDatabases.delete(name);
    }
    this.removeTempSync();
  }

  removeTempSync(): void {
    rmSync(this.tmpRoot, { recursive: true, force: true });
  }
}

// --- seed data ------------------------------------------------------------------------------------

/** Columns of `projects` the seeder fills (the rest keep their defaults); checked against the migrations. */
export const PROJECT_COLUMNS = [
  'service_name',
  'status',
  'assigned_ip',
  'template_type',
  'owner',
  'infra',
  'details',
  'last_seq',
  'created_at',
  'updated_at',
  'host_count',
  'vcpu',
  'memory_gb',
  'disk_gb',
  'completed_steps',
  'attempt',
] as const;

const LOGS = ['Allocating IP...', 'Creating Web tier...', 'Creating DB tier...', 'Configuring ALB...', 'Registering SSH targets...', 'Completed'];

function ipOf(i: number, aws: boolean): string {
  return aws ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`;
}

export interface SeedRow {
  values: (string | number | null)[];
}

/**
 * One project as a finished run leaves it (the same JSON shapes the server writes): every
 * tenth FAILED, the rest COMPLETED; vSphere template orders and AWS designs alternating.
 */
export function projectRow(i: number, owner: string, createdAtMs: number, lastSeq: number): (string | number | null)[] {
  const aws = i % 3 === 0;
  const failed = i % 10 === 7;
  const name = `svc-${i}`;
  const ip = ipOf(i, aws);
  const config = aws ? { instanceType: 't3.micro', nodeCount: 1 } : { template: 'single', packages: ['nginx'], environment: 'dev', traffic: 'low' };
  const infra = aws ? { type: 'aws' } : { type: 'vsphere' };
  const resources = failed
    ? null
    : { alb_ip: ip, web_url: `https://${name}.mock.example.com`, db_vip: `db-${name}.vip.mock.local`, ssh_targets: [{ host: ip, port: 22, user: 'ubuntu' }] };
  const details = {
    input: { serviceName: name, userName: owner, config, targetInfra: aws ? {} : infra },
    config,
    infra,
    status: failed ? 'FAILED' : 'COMPLETED',
    logs: failed ? [...LOGS.slice(0, 3), 'Error: Mock failure injected at step "db" (Creating DB tier...)'] : LOGS,
    resources,
    error: failed ? { message: 'Mock failure injected at step "db" (Creating DB tier...)' } : null,
  };
  return [
    name,
    failed ? 'FAILED' : 'COMPLETED',
    failed ? null : ip,
    aws ? 'aws-design' : 'single',
    owner,
    aws ? 'aws' : 'vsphere',
    JSON.stringify(details),
    lastSeq,
    createdAtMs,
    createdAtMs + 5000,
    1,
    aws ? 2 : 1,
    aws ? 1 : 2,
    20,
    failed ? JSON.stringify(['web']) : JSON.stringify(['web', 'db', 'alb', 'ssh', 'resources']),
    1,
  ];
}

export interface SeedOptions {
  /** How many projects to add. */
  count: number;
  /** Row i belongs to owners[i % owners.length]. */
  owners: string[];
  /** Index of the first row (to grow a table in steps with distinct names). */
  startIndex?: number;
  /**
   * Followable projects: last_seq 1 and one stored `log` event (seq 1), so a provisionStatus
   * subscription replays that event and then waits for live ones (the subscription benchmark).
   * Otherwise last_seq 10 with no event rows (history pages do not read events).
   */
  withEvent?: boolean;
}

/** Bulk insert with the raw driver: one prepared statement per transaction chunk (SQLite), multi-row INSERT … SELECT unnest(…) (PostgreSQL). */
export async function seedProjects(db: RawDb, options: SeedOptions): Promise<{ ms: number; firstId: number; lastId: number }> {
  const started = performance.now();
  const start = options.startIndex ?? 0;
  const lastSeq = options.withEvent ? 1 : 10;
  const baseMs = Date.UTC(2025, 0, 1);
  const rowAt = (i: number) => projectRow(i, options.owners[i % options.owners.length], baseMs + i * 1000, lastSeq);
  let firstId = 0;
  let lastId = 0;
  if (db.backend === 'sqlite') {
    const sqlite = db.sqlite!;
    const insert = sqlite.prepare(`insert into projects (${PROJECT_COLUMNS.join(', ')}) values (${PROJECT_COLUMNS.map(() => '?').join(', ')})`);
    const chunk = sqlite.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const id = Number(insert.run(...rowAt(i)).lastInsertRowid);
        if (!firstId) firstId = id;
        lastId = id;
      }
    });
    for (let from = start; from < start + options.count; from += 50_000) chunk(from, Math.min(start + options.count, from + 50_000));
  } else {
    const client = db.pg!;
    const types = ['text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'int', 'timestamptz', 'timestamptz', 'int', 'int', 'int', 'int', 'jsonb', 'int'];
    const sql = `insert into projects (${PROJECT_COLUMNS.join(', ')})
      select * from unnest(${types.map((t, k) => `$${k + 1}::${t}[]`).join(', ')}) returning id`;
    const batch = 5000;
    for (let from = start; from < start + options.count; from += batch) {
      const to = Math.min(start + options.count, from + batch);
      const columns: unknown[][] = PROJECT_COLUMNS.map(() => []);
      for (let i = from; i < to; i++) {
        const row = rowAt(i);
        row[8] = new Date(row[8] as number).toISOString();
        row[9] = new Date(row[9] as number).toISOString();
        row.forEach((v, k) => columns[k].push(v));
      }
      const { rows } = await client.query<{ id: number }>(sql, columns);
      for (const { id } of rows) {
        if (!firstId || id < firstId) firstId = id;
        if (id > lastId) lastId = id;
      }
    }
  }
  if (options.withEvent) {
    await db.run(
      `insert into provision_events (project_id, seq, at, kind, status, message) select id, 1, created_at, 'log', status, 'Completed' from projects where id between ? and ?`,
      [firstId, lastId],
    );
  }
  await recountUsage(db);
  return { ms: performance.now() - started, firstId, lastId };
}

/**
 * The server keeps usage totals per owner and for the portal (usage_totals) as it writes;
 * rows inserted behind its back must be counted in, as the migration's backfill does.
 */
export async function recountUsage(db: RawDb): Promise<void> {
  const live = `status in ('PENDING', 'RUNNING', 'COMPLETED', 'DELETING')`;
  await db.exec('delete from usage_totals');
  await db.exec(
    `insert into usage_totals (owner, live_projects, hosts, vcpu, memory_gb, disk_gb)
       select owner, count(*), coalesce(sum(host_count), 0), coalesce(sum(vcpu), 0), coalesce(sum(memory_gb), 0), coalesce(sum(disk_gb), 0)
         from projects where ${live} group by owner`,
  );
  await db.exec(
    `insert into usage_totals (owner, live_projects, hosts, vcpu, memory_gb, disk_gb)
       select '*', count(*), coalesce(sum(host_count), 0), coalesce(sum(vcpu), 0), coalesce(sum(memory_gb), 0), coalesce(sum(disk_gb), 0)
         from projects where ${live}`,
  );
}

/** Empties what the create path writes and gives every host back (between rounds). */
export async function resetProvisioning(db: RawDb): Promise<void> {
  const now = db.backend === 'sqlite' ? Date.now() : new Date().toISOString();
  if (db.backend === 'postgresql') {
    // The product server is still up (its dispatcher sweeps and claims in the background), so
    // the TRUNCATE's table locks can meet its row locks in a deadlock; PostgreSQL then cancels
    // one side, which may be this one. Try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await db.exec('truncate provision_events, projects, audit_log, idempotency_keys');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  } else {
    await db.exec('delete from provision_events; delete from projects; delete from audit_log; delete from idempotency_keys;');
  }
  await db.run(`update workload_pool set status = 'available', project_id = null, owner = null, updated_at = ? where project_id is not null`, [now]);
  await recountUsage(db);
}

/** A WORKLOAD_POOL_FILE body with `count` vSphere hosts (10.64.0.0/10 addresses). */
export function poolFile(count: number): string {
  const hosts = [];
  for (let i = 1; i <= count; i++) {
    hosts.push({ vm_name: `BENCH-${i}`, ip_address: `10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`, infra: 'vsphere' });
  }
  return JSON.stringify(hosts);
}
