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
  /** SQLite: the rowid of the last row inserted on the connection (RETURNING costs more there). */
  insertId?: number;
}

interface SqliteStatement {
  reader: boolean;
  all(params: unknown[]): unknown[];
  run(params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  /** better-sqlite3: answer rows as arrays of values (true) or as objects (false, the default). */
  raw(toggle: boolean): SqliteStatement;
  columns(): { name: string }[];
}
interface SqliteConnection {
  prepare(text: string): SqliteStatement;
  /** better-sqlite3: false once the connection is closed. */
  readonly open: boolean;
}
interface PgConnection {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
/** What knex's client offers for taking a connection out of the pool and giving it back. */
interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
  /** knex's pool (tarn), through its public counters. */
  pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number; numPendingCreates(): number };
}

/**
 * The SQLite connection each knex client last handed out. The SQLite pool holds exactly one
 * connection (db/orm.ts), so while the pool shows it free and nobody waiting, this one is it.
 */
const sqliteConnections = new WeakMap<PoolClient, SqliteConnection>();

/**
 * The SQLite connection when nobody holds it: no transaction is open on it (a transaction keeps
 * its connection until it ends) and no caller is queued for it. A statement can then run on it
 * at once, without the asynchronous round through the pool (about 10 µs, a third of a
 * one-row read): better-sqlite3 runs it to the end before anything else can take the connection.
 */
function idleSqliteConnection(client: PoolClient): SqliteConnection | undefined {
  const connection = sqliteConnections.get(client);
  const pool = client.pool;
  if (!connection || !pool || !connection.open || (connection as { __knex__disposed?: unknown }).__knex__disposed) return undefined;
  if (pool.numUsed() !== 0 || pool.numFree() !== 1 || pool.numPendingAcquires() !== 0 || pool.numPendingCreates() !== 0) return undefined;
  return connection;
}

/**
 * A transaction run by hand on one driver connection ({@link transaction}). Only plain
 * statements ({@link sql}, {@link deferSql}) run in it, never the ORM: the type has no
 * EntityManager methods.
 *
 * On PostgreSQL every round trip costs a network wait and, on these machines, a large share of
 * the process's CPU (one writev and one read per statement), so the transaction sends as few as
 * it can: BEGIN goes out with the first statement, statements whose answer nobody waits for
 * ({@link deferSql}) go out with the COMMIT, and {@link commitWith} adds a last statement to
 * that same message. Those statements are written out with their values ({@link sqlLiteral})
 * and sent with the simple query protocol, which accepts several statements at once; when one
 * fails, the ones after it (and the COMMIT) do not run and the transaction rolls back.
 */
export class SqlTransaction {
  private ended = false;
  private begun = false;
  private committedHere = false;
  private readonly deferred: string[] = [];
  /** Statements this transaction sent written out that its connection should prepare ({@link prepareWanted}). */
  readonly wanted = new Set<Preparable>();
  private readonly pending: { text: string; params: readonly unknown[]; method: SqlMethod; resolve: (value: unknown) => void; reject: (err: unknown) => void }[] = [];

  /** @internal */
  constructor(
    readonly driver: unknown,
    readonly postgres: boolean,
    /** PostgreSQL: statements may run prepared ({@link Preparable}); false with {@link usePlainStatements}. */
    private readonly prepare = true,
  ) {}

  /** @internal Whether the COMMIT was sent (by {@link commitWith} or {@link finish}). */
  get committed(): boolean {
    return this.committedHere;
  }

  /** @internal */
  end(): void {
    this.ended = true;
  }

  private assertOpen(): void {
    if (this.ended || this.committedHere) throw new Error('The transaction of this statement has already ended');
  }

  /**
   * @internal Runs one statement. On PostgreSQL, statements issued in the same turn of the event
   * loop (before any of them is awaited) go out together in one message, with the BEGIN in front
   * when they are the first: `const a = sql(tx, …); const b = await sql(tx, …); await a;` is one
   * round trip.
   */
  run(text: string, params: readonly unknown[], method: SqlMethod): Promise<unknown> {
    try {
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.postgres) {
      try {
        if (!this.begun) this.control('begin');
        this.begun = true;
        return Promise.resolve(runSqlite(this.driver as SqliteConnection, text, params, method));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ text, params, method, resolve, reject });
      if (this.pending.length === 1) queueMicrotask(() => void this.send());
    });
  }

  /** Sends the statements issued since the last message (see {@link run}). */
  private async send(): Promise<void> {
    const batch = this.pending.splice(0);
    if (!batch.length) return;
    const opening = this.opening();
    try {
      if (batch.length === 1 && opening.length === 0) {
        const [only] = batch;
        const prepared = this.prepared(only.text);
        if (!prepared) {
          only.resolve(await runPg(this.driver as PgConnection, only.text, only.params, only.method, this.prepare));
          return;
        }
        const [result] = await this.simple([executeSql(prepared, only.params)]);
        only.resolve(answerOf(result, only.method));
        return;
      }
      const texts = batch.map((b) => this.statement(b.text, b.params));
      const results = await this.simple([...opening, ...texts]);
      batch.forEach((b, i) => {
        const result = results[opening.length + i];
        b.resolve(answerOf(result, b.method));
      });
    } catch (err) {
      // One failed: the ones after it in the message did not run, and the transaction is lost.
      for (const b of batch) b.reject(err);
    }
  }

  /** @internal Queues a statement to go with the COMMIT (PostgreSQL); runs it now on SQLite. */
  async defer(text: string, params: readonly unknown[]): Promise<void> {
    this.assertOpen();
    if (!this.postgres) {
      await this.run(text, params, 'run');
      return;
    }
    this.deferred.push(this.statement(text, params));
  }

  /**
   * PostgreSQL: the statement as this transaction sends it in a message of several: `EXECUTE`
   * of the statement prepared on this connection, or written out with its values (and then
   * noted for the connection to prepare, once the text has been used often enough).
   */
  private statement(text: string, params: readonly unknown[]): string {
    const prepared = this.prepared(text);
    return prepared ? executeSql(prepared, params) : formatSql(text, params);
  }

  /** The statement prepared for `text` on this connection, or undefined (then maybe noted as wanted). */
  private prepared(text: string): Preparable | undefined {
    if (!this.prepare) return undefined;
    const entry = preparableFor(text);
    if (!entry) return undefined;
    if (preparedOn.get(this.driver as object)?.has(entry)) return entry;
    if (entry.uses >= PREPARE_AFTER_USES && !entry.refused) this.wanted.add(entry);
    return undefined;
  }

  /**
   * PostgreSQL: sends what was deferred, `text` (with `params`) and COMMIT in one round trip,
   * so the locks `text` takes are held only for its execution and the commit, not for a round
   * trip and whatever the event loop does in between. Returns the rows `text` answered.
   */
  async commitWith(text: string, params: readonly unknown[]): Promise<Record<string, unknown>[]> {
    if (!this.postgres) throw new Error('commitWith is for PostgreSQL');
    this.assertOpen();
    const last = this.statement(text, params);
    const results = await this.simple([...this.opening(), ...this.deferred.splice(0), last, 'commit']);
    this.committedHere = true;
    return results[results.length - 2].rows;
  }

  /** @internal Commits: the deferred statements and COMMIT in one round trip. */
  async finish(): Promise<void> {
    if (this.committedHere) return;
    if (!this.postgres) {
      if (this.begun) this.control('commit');
    } else if (this.begun || this.deferred.length) {
      await this.simple([...this.opening(), ...this.deferred.splice(0), 'commit']);
    }
    this.committedHere = true;
  }

  /** @internal Rolls back whatever was sent; what was only queued is dropped. */
  async abort(): Promise<void> {
    this.deferred.length = 0;
    for (const b of this.pending.splice(0)) b.reject(new Error('The transaction of this statement was rolled back'));
    if (this.begun && !this.committedHere) {
      if (this.postgres) await this.simple(['rollback']);
      else this.control('rollback');
    }
  }

  private opening(): string[] {
    if (this.begun) return [];
    this.begun = true;
    return ['begin'];
  }

  private control(statement: 'begin' | 'commit' | 'rollback'): void {
    (this.driver as SqliteConnection).prepare(statement).run([]);
  }

  private async simple(statements: string[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }[]> {
    let answer: unknown;
    try {
      answer = await (this.driver as PgConnection).query({ text: statements.join(';\n'), values: [] });
    } catch (err) {
      dropIfStatementLost(this.driver, err);
      throw err;
    }
    return (Array.isArray(answer) ? answer : [answer]) as { rows: Record<string, unknown>[]; rowCount: number | null }[];
  }
}

/**
 * A value written into PostgreSQL SQL text: null, a boolean, a finite number, a Date (as its
 * ISO text, which a timestamptz column reads as that instant) or text as an escaped E'' string
 * (backslashes and quotes doubled, safe whatever standard_conforming_strings says).
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : null;
  if (text === null) throw new Error(`cannot write a ${typeof value} into SQL`);
  if (text.includes('\0')) throw new Error('text with U+0000 cannot be stored');
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** PostgreSQL: `text` with each `?` outside quotes replaced by its value written out. */
export function formatSql(text: string, params: readonly unknown[]): string {
  const out = replacePlaceholders(text, (i) => {
    if (i >= params.length) throw new Error('more placeholders than values');
    return sqlLiteral(params[i]);
  });
  if (out.count !== params.length) throw new Error('more values than placeholders');
  return out.text;
}

/** `text` with its n-th `?` outside quotes (from 0) replaced by `replace(n)`, and how many there were. */
function replacePlaceholders(text: string, replace: (index: number) => string): { text: string; count: number } {
  let out = '';
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
      out += replace(n++);
    } else {
      out += ch;
    }
  }
  return { text: out, count: n };
}

/**
 * A statement whose answer nobody waits for: in a hand-run PostgreSQL transaction it goes out
 * with the COMMIT (see {@link SqlTransaction}); anywhere else it runs now.
 */
export async function deferSql(target: SqlTarget, text: string, params: readonly unknown[] = []): Promise<void> {
  if (target instanceof SqlTransaction) return target.defer(text, params);
  await sql(target, text, params, 'run');
}

/** Where a statement runs: an EntityManager (its transaction, if any) or a hand-run transaction. */
export type SqlTarget = EntityManager | SqlTransaction;

export function sql<T = Record<string, unknown>[]>(target: SqlTarget, text: string, params?: readonly unknown[], method?: 'all'): Promise<T>;
export function sql(target: SqlTarget, text: string, params: readonly unknown[], method: 'run'): Promise<RunResult>;
export async function sql(target: SqlTarget, text: string, params: readonly unknown[] = [], method: SqlMethod = 'all'): Promise<unknown> {
  if (target instanceof SqlTransaction) return target.run(text, params, method);
  const em = target;
  const connection = em.getConnection() as AbstractSqlConnection;
  const trx = em.getTransactionContext<Knex.Transaction>();
  const client = (trx ?? connection.getKnex()).client as unknown as PoolClient;
  const postgres = (client as unknown as { dialect: string }).dialect === 'postgresql';
  const prepare = postgres && !plainClients.has(connection.getKnex().client);
  if (!trx && !postgres) {
    const idle = idleSqliteConnection(client);
    if (idle) return runSqlite(idle, text, params, method);
  }
  // Inside a transaction this is the transaction's connection (knex's transaction client
  // always answers with it and never gives it back to the pool).
  const driver = await client.acquireConnection();
  if (!postgres) sqliteConnections.set(client, driver as SqliteConnection);
  try {
    if (trx?.isCompleted()) throw new Error('The transaction of this statement has already ended');
    return postgres ? await runPg(driver as PgConnection, text, params, method, prepare) : runSqlite(driver as SqliteConnection, text, params, method);
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
  const tx = new SqlTransaction(await client.acquireConnection(), client.dialect === 'postgresql', !plainClients.has(client));
  try {
    const result = await work(tx);
    await tx.finish();
    return result;
  } catch (err) {
    if (!tx.committed) {
      try {
        await tx.abort();
      } catch {
        // knex's pool checks this mark before handing the connection out again, and drops it.
        if (tx.postgres) (tx.driver as { __knex__disposed?: unknown }).__knex__disposed = err;
      }
    }
    throw err;
  } finally {
    tx.end();
    const driver = tx.driver as PgConnection & { __knex__disposed?: unknown };
    if (tx.postgres && tx.wanted.size && !driver.__knex__disposed) {
      // After the answer: the caller does not wait for this round trip, only the pool does.
      void prepareWanted(driver, [...tx.wanted]).finally(() => client.releaseConnection(driver));
    } else {
      client.releaseConnection(driver);
    }
  }
}

/**
 * PostgreSQL prepared statements for the statements of hand-run transactions.
 *
 * A transaction's statements go out several to a message (the simple query protocol, see
 * {@link SqlTransaction}), written out with their values: PostgreSQL parsed, analysed and
 * planned each one again for every order. A statement prepared on the connection runs as
 * `EXECUTE name(values)` instead, which skips the parse and analysis, and after a few runs
 * the planning too when PostgreSQL finds its generic plan as good (plan_cache_mode auto).
 *
 * A statement is prepared only outside any transaction: when a transaction noted statements to
 * prepare ({@link SqlTransaction.wanted}), its connection prepares them after the COMMIT (or
 * ROLLBACK) and before it goes back to the pool, one message each. A PREPARE that fails there
 * affects nothing else; when PostgreSQL refuses the text itself (it cannot tell a value's type,
 * say) the text is never prepared again and keeps going out written out. A prepared statement
 * lives as long as its connection (nothing here deallocates one), so what was prepared is known
 * without asking the server.
 */
export interface Preparable {
  /** The statement's name on every connection (one per text, for the life of the process). */
  readonly name: string;
  /** The text with numbered placeholders. */
  readonly text: string;
  /** How many values it takes. */
  readonly count: number;
  /** How many times a transaction sent it. */
  uses: number;
  /** PostgreSQL refused to prepare it. */
  refused: boolean;
}

/** A text is prepared once transactions have sent it this many times (not for one-off statements). */
const PREPARE_AFTER_USES = 3;
/** At most this many texts are prepared; later new texts go out written out. */
const MAX_PREPARED_TEXTS = 100;
const preparables = new Map<string, Preparable>();
/** Per connection, the statements prepared on it. */
const preparedOn = new WeakMap<object, Set<Preparable>>();

function preparableFor(text: string): Preparable | undefined {
  let entry = preparables.get(text);
  if (!entry) {
    if (preparables.size >= MAX_PREPARED_TEXTS) return undefined;
    const out = replacePlaceholders(text, (i) => `$${i + 1}`);
    entry = { name: `hcmp_${preparables.size + 1}`, text: out.text, count: out.count, uses: 0, refused: false };
    preparables.set(text, entry);
  }
  entry.uses++;
  return entry;
}

/** `EXECUTE` of a prepared statement with its values written out. */
function executeSql(statement: Preparable, params: readonly unknown[]): string {
  if (params.length !== statement.count) throw new Error(params.length > statement.count ? 'more values than placeholders' : 'more placeholders than values');
  return params.length ? `execute ${statement.name}(${params.map(sqlLiteral).join(', ')})` : `execute ${statement.name}`;
}

/**
 * Prepares `statements` on a connection no transaction is open on. Stops at the first failure
 * that is not about the statement's own text (the connection may be unusable; the pool finds out).
 */
async function prepareWanted(connection: PgConnection, statements: Preparable[]): Promise<void> {
  let known = preparedOn.get(connection);
  if (!known) preparedOn.set(connection, (known = new Set()));
  for (const statement of statements) {
    if (known.has(statement) || statement.refused) continue;
    try {
      await connection.query({ text: `prepare ${statement.name} as ${statement.text}`, values: [] });
      known.add(statement);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === '42P05') {
        known.add(statement); // already there (cannot happen while this map is right; harmless if it does)
      } else if (typeof code === 'string' && /^(42|0A|22)/.test(code)) {
        statement.refused = true;
      } else {
        return;
      }
    }
  }
}

/** The column names of each statement's rows, in order (better-sqlite3 makes the list anew on every call). */
const sqliteColumns = new WeakMap<SqliteStatement, string[]>();

/**
 * A reading statement's rows as objects. better-sqlite3 makes each row object in C++, one
 * property at a time through V8's API (~0.25 µs a value: 100 µs for 21 rows of 19 columns);
 * it makes rows as arrays for a fraction of that, and objects built here with the same keys in
 * the same order share one shape and cost ~20 ns a value (~7 µs for those rows). The statement is
 * shared (the cache in db/orm.ts, knex's queries too), so it answers arrays only for this call.
 * The statements here name their columns (never `*`), so a statement's names do not change;
 * the length check refreshes them anyway should one ever answer another count of columns.
 */
function readSqliteRows(statement: SqliteStatement, values: unknown[]): Record<string, unknown>[] {
  statement.raw(true);
  let arrays: unknown[][];
  try {
    arrays = statement.all(values) as unknown[][];
  } finally {
    statement.raw(false);
  }
  if (!arrays.length) return [];
  let names = sqliteColumns.get(statement);
  if (!names || names.length !== arrays[0].length) {
    names = statement.columns().map((c) => c.name);
    sqliteColumns.set(statement, names);
  }
  const rows = new Array<Record<string, unknown>>(arrays.length);
  for (let r = 0; r < arrays.length; r++) {
    const values = arrays[r];
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c]] = values[c];
    rows[r] = row;
  }
  return rows;
}

function runSqlite(db: SqliteConnection, text: string, params: readonly unknown[], method: SqlMethod): unknown {
  const statement = db.prepare(text);
  const values = params.map((v) => (v instanceof Date ? v.getTime() : typeof v === 'boolean' ? Number(v) : v));
  if (statement.reader) {
    if (method === 'all') return readSqliteRows(statement, values);
    return { affectedRows: statement.all(values).length };
  }
  const result = statement.run(values);
  return method === 'all' ? [] : { affectedRows: result.changes, insertId: Number(result.lastInsertRowid) };
}

async function runPg(db: PgConnection, text: string, params: readonly unknown[], method: SqlMethod, prepare: boolean): Promise<unknown> {
  let result: Awaited<ReturnType<PgConnection['query']>>;
  try {
    result = await db.query({ ...pgStatement(text, prepare), values: params as unknown[] });
  } catch (err) {
    dropIfStatementLost(db, err);
    throw err;
  }
  return answerOf(result, method);
}

/** What {@link sql} answers for a PostgreSQL result: the rows, or how many rows changed. */
function answerOf(result: { rows: unknown[]; rowCount: number | null }, method: SqlMethod): unknown {
  return method === 'all' ? result.rows : { affectedRows: Number(result.rowCount ?? 0) };
}

/**
 * PostgreSQL: ORMs whose connections run every statement unprepared and unnamed
 * (DB_PREPARED_STATEMENTS=false), by their knex client.
 */
const plainClients = new WeakSet<object>();

/**
 * Switches prepared and named statements off for this ORM's connections: for a connection pooler
 * in transaction mode, which may run a statement on another server connection than the one it was
 * prepared on.
 */
export function usePlainStatements(em: EntityManager): void {
  plainClients.add((em.getConnection() as AbstractSqlConnection).getKnex().client);
}

/**
 * PostgreSQL answered that a prepared or named statement does not exist (26000): something
 * deallocated it behind our back (DISCARD ALL, a pooler), so what is known about this
 * connection's statements is wrong. The connection is marked for knex's pool to drop instead of
 * handing it out again; a new one starts with nothing prepared.
 */
function dropIfStatementLost(connection: unknown, err: unknown): void {
  if ((err as { code?: unknown }).code === '26000') (connection as { __knex__disposed?: unknown }).__knex__disposed = err;
}

/**
 * PostgreSQL, one statement with its values bound (the extended query protocol): the text with
 * numbered placeholders (each `?` outside quotes becomes `$1`, `$2`, …) and, once the text has
 * run {@link NAME_AFTER_USES} times, a statement name (for at most {@link MAX_NAMED_TEXTS}
 * texts). node-postgres parses a named statement once per connection (it notes the name when
 * PostgreSQL confirms the parse) and afterwards only binds and executes it, so PostgreSQL skips
 * parsing it and, once the generic plan is as good, planning it. The parameter types are
 * inferred as for an unnamed statement, so a text that runs unnamed runs named. The names
 * (`hcmp_q…`) are apart from the PREPAREd ones above (`hcmp_…`): both kinds share one
 * namespace per connection.
 */
const NAME_AFTER_USES = 3;
const MAX_NAMED_TEXTS = 200;
const namedTexts = new Map<string, { name: string; text: string }>();
/** Texts not (yet) named, the most recently used remembered. */
const NUMBERED_CACHE_SIZE = 500;
const numberedTexts = new Map<string, { text: string; uses: number }>();

/** The statement to send for `text`: numbered, and named once it has earned it (never when `mayName` is false). */
function pgStatement(text: string, mayName: boolean): { name?: string; text: string } {
  const known = namedTexts.get(text);
  if (known) return mayName ? known : { text: known.text };
  let entry = numberedTexts.get(text);
  if (!entry) {
    if (numberedTexts.size >= NUMBERED_CACHE_SIZE) numberedTexts.delete(numberedTexts.keys().next().value!);
    entry = { text: replacePlaceholders(text, (i) => `$${i + 1}`).text, uses: 0 };
    numberedTexts.set(text, entry);
  }
  if (!mayName || ++entry.uses < NAME_AFTER_USES || namedTexts.size >= MAX_NAMED_TEXTS) return { text: entry.text };
  numberedTexts.delete(text);
  const promoted = { name: `hcmp_q${namedTexts.size + 1}`, text: entry.text };
  namedTexts.set(text, promoted);
  return promoted;
}
