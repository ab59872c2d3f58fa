/**
 * Plain SQL with bound parameters, on the EntityManager's connection and transaction.
 *
 * MikroORM's `Connection.execute(sql, params)` writes the parameters into the SQL text itself
 * (`platform.formatQuery`): every statement becomes a new text, so SQLite prepares it again
 * each time (the prepared-statement cache in orm.ts never hits) and every value is escaped
 * into a string first. Here the parameters go to the driver as bindings (`?` placeholders;
 * knex numbers them for PostgreSQL), the text stays the same from call to call, and the
 * driver converts values itself (better-sqlite3 through knex: a Date as epoch milliseconds and
 * a boolean as 0/1, as MikroORM stores them; node-postgres: a Date as a timestamp with its
 * offset). No parameter may be an array: knex would expand it into a list.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { AbstractSqlConnection, Knex } from '@mikro-orm/knex';

/** `all`: the rows; `run`: how many rows the statement changed. */
export type SqlMethod = 'all' | 'run';

interface RunResult {
  affectedRows: number;
}

export function sql<T = Record<string, unknown>[]>(em: EntityManager, text: string, params?: readonly unknown[], method?: 'all'): Promise<T>;
export function sql(em: EntityManager, text: string, params: readonly unknown[], method: 'run'): Promise<RunResult>;
export async function sql(em: EntityManager, text: string, params: readonly unknown[] = [], method: SqlMethod = 'all'): Promise<unknown> {
  const connection = em.getConnection() as AbstractSqlConnection;
  const query = connection.getKnex().raw(text, params as readonly Knex.RawBinding[]);
  const ctx = em.getTransactionContext();
  if (ctx) query.transacting(ctx);
  const result = (await query) as unknown;
  return shape(result, method);
}

/** The rows, or the changed-row count, of a knex raw result (better-sqlite3 or node-postgres). */
function shape(result: unknown, method: SqlMethod): unknown {
  // node-postgres: a Result with rows and rowCount.
  if (result && typeof result === 'object' && 'rows' in result && 'rowCount' in result) {
    const r = result as { rows: unknown[]; rowCount: number | null };
    return method === 'all' ? r.rows : { affectedRows: Number(r.rowCount ?? 0) };
  }
  // better-sqlite3: the rows of a reading statement, or { changes, lastInsertRowid }.
  if (Array.isArray(result)) return method === 'all' ? result : { affectedRows: result.length };
  const r = result as { changes?: number } | undefined;
  return method === 'all' ? [] : { affectedRows: Number(r?.changes ?? 0) };
}
