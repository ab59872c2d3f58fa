/**
 * Plain SQL with bound parameters, on the EntityManager's connection and transaction, handed
 * straight to the driver.
 *
 * MikroORM's `Connection.execute(sql, params)` writes the parameters into the SQL text itself
 * (`platform.formatQuery`): every statement becomes a new text, so SQLite prepared it again
 * each time (the prepared-statement cache in orm.ts never hit) and every value was escaped
 * into a string first; then knex's query runner and transaction wrapper added about as much
 * again per statement. Here the statement runs on the driver connection that MikroORM's pool
 * (knex) hands out — the transaction's own connection inside `em.transactional`, so it is part
 * of that transaction — with the values as bindings: `?` placeholders (numbered `$1…` for
 * PostgreSQL), the text the same from call to call. Values are converted as MikroORM stores
 * them: on SQLite a Date as epoch milliseconds and a boolean as 0/1; node-postgres sends a
 * Date as a timestamp with its offset.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { AbstractSqlConnection, Knex } from '@mikro-orm/knex';

/** `all`: the rows; `run`: how many rows the statement changed. */
export type SqlMethod = 'all' | 'run';

export interface RunResult {
  affectedRows: number;
}

interface SqliteStatement {
  reader: boolean;
  all(params: unknown[]): unknown[];
  run(params: unknown[]): { changes: number };
}
interface SqliteConnection {
  prepare(text: string): SqliteStatement;
}
interface PgConnection {
  query(config: { text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
/** What knex's client offers for taking a connection out of the pool and giving it back. */
interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
}

/**
 * A transaction run by hand on one driver connection ({@link transaction}). Only plain
 * statements ({@link sql}) run in it, never the ORM: the type has no EntityManager methods.
 */
export class SqlTransaction {
  private ended = false;
  private committedBy: 'statement' | null = null;

  /** @internal */
  constructor(
    readonly driver: unknown,
    readonly postgres: boolean,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** @internal */
  end(): void {
    this.ended = true;
  }

  /** @internal Whether {@link commitWith} committed already. */
  get committed(): boolean {
    return this.committedBy !== null;
  }

  /**
   * PostgreSQL: sends `text` and COMMIT in one round trip (the simple query protocol), so the
   * locks `text` takes are held only for its execution and the commit, not for a round trip
   * and whatever the event loop does in between. `text` must hold its values written out
   * ({@link sqlLiteral}); if it fails, nothing after it runs and the transaction rolls back.
   */
  async commitWith(text: string): Promise<Record<string, unknown>[]> {
    if (!this.postgres) throw new Error('commitWith is for PostgreSQL');
    if (this.ended || this.committed) throw new Error('The transaction of this statement has already ended');
    const results = (await (this.driver as PgConnection).query({ text: `${text};\ncommit`, values: [] })) as unknown as { rows: Record<string, unknown>[] }[];
    this.committedBy = 'statement';
    return results[0].rows;
  }
}

/** A value written into PostgreSQL SQL text: integers as they are, text as an escaped E'' string. */
export function sqlLiteral(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    return String(value);
  }
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Where a statement runs: an EntityManager (its transaction, if any) or a hand-run transaction. */
export type SqlTarget = EntityManager | SqlTransaction;

export function sql<T = Record<string, unknown>[]>(target: SqlTarget, text: string, params?: readonly unknown[], method?: 'all'): Promise<T>;
export function sql(target: SqlTarget, text: string, params: readonly unknown[], method: 'run'): Promise<RunResult>;
export async function sql(target: SqlTarget, text: string, params: readonly unknown[] = [], method: SqlMethod = 'all'): Promise<unknown> {
  if (target instanceof SqlTransaction) {
    if (target.isEnded) throw new Error('The transaction of this statement has already ended');
    return target.postgres ? runPg(target.driver as PgConnection, text, params, method) : runSqlite(target.driver as SqliteConnection, text, params, method);
  }
  const em = target;
  const connection = em.getConnection() as AbstractSqlConnection;
  const trx = em.getTransactionContext<Knex.Transaction>();
  const client = (trx ?? connection.getKnex()).client as unknown as PoolClient;
  const postgres = (client as unknown as { dialect: string }).dialect === 'postgresql';
  // Inside a transaction this is the transaction's connection (knex's transaction client
  // always answers with it and never gives it back to the pool).
  const driver = await client.acquireConnection();
  try {
    if (trx?.isCompleted()) throw new Error('The transaction of this statement has already ended');
    return postgres ? await runPg(driver as PgConnection, text, params, method) : runSqlite(driver as SqliteConnection, text, params, method);
  } finally {
    if (!trx) client.releaseConnection(driver);
  }
}

/**
 * Runs `work` in a transaction of its own on one connection taken from MikroORM's pool, with
 * BEGIN and COMMIT sent by hand: no ORM unit of work and none of knex's transaction machinery
 * (which cost more than the statements of a short transaction). Rolls back when `work` throws;
 * a connection that cannot even roll back is not given back to the pool for reuse.
 */
export async function transaction<T>(em: EntityManager, work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  const connection = em.getConnection() as AbstractSqlConnection;
  const client = connection.getKnex().client as unknown as PoolClient & { dialect: string };
  const tx = new SqlTransaction(await client.acquireConnection(), client.dialect === 'postgresql');
  const control = (statement: 'begin' | 'commit' | 'rollback') =>
    tx.postgres ? (tx.driver as PgConnection).query({ text: statement, values: [] }) : (tx.driver as SqliteConnection).prepare(statement).run([]);
  let committed = false;
  try {
    await control('begin');
    const result = await work(tx);
    if (!tx.committed) await control('commit');
    committed = true;
    return result;
  } catch (err) {
    if (!committed) {
      try {
        await control('rollback');
      } catch {
        // knex's pool checks this mark before handing the connection out again, and drops it.
        if (tx.postgres) (tx.driver as { __knex__disposed?: unknown }).__knex__disposed = err;
      }
    }
    throw err;
  } finally {
    tx.end();
    client.releaseConnection(tx.driver);
  }
}

function runSqlite(db: SqliteConnection, text: string, params: readonly unknown[], method: SqlMethod): unknown {
  const statement = db.prepare(text);
  const values = params.map((v) => (v instanceof Date ? v.getTime() : typeof v === 'boolean' ? Number(v) : v));
  if (statement.reader) {
    const rows = statement.all(values);
    return method === 'all' ? rows : { affectedRows: rows.length };
  }
  const result = statement.run(values);
  return method === 'all' ? [] : { affectedRows: result.changes };
}

async function runPg(db: PgConnection, text: string, params: readonly unknown[], method: SqlMethod): Promise<unknown> {
  const result = await db.query({ text: numbered(text), values: params as unknown[] });
  return method === 'all' ? result.rows : { affectedRows: Number(result.rowCount ?? 0) };
}

/** PostgreSQL placeholders: each `?` outside quotes becomes `$1`, `$2`, … (remembered per text). */
const NUMBERED_CACHE_SIZE = 500;
const numberedTexts = new Map<string, string>();

function numbered(text: string): string {
  let out = numberedTexts.get(text);
  if (out !== undefined) return out;
  out = '';
  let n = 0;
  let quote: string | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  if (numberedTexts.size >= NUMBERED_CACHE_SIZE) numberedTexts.delete(numberedTexts.keys().next().value!);
  numberedTexts.set(text, out);
  return out;
}
