/**
 * Entity writes without `em.flush()` or `em.transactional()`.
 *
 * MikroORM 6 runs every flush inside an AsyncLocalStorage (UnitOfWork.commit), and
 * `em.transactional` inside another. On Node 20 the first `AsyncLocalStorage#run` switches on
 * V8's promise hooks for the rest of the process, and nothing switches them off again. From
 * then on every promise and every `await` of every request takes V8's slow path. One admin
 * approving one account was enough to make every later GraphQL request take 1.2-1.25 × as long
 * (A/B under load, docs/BENCHMARKS.md, session 5).
 *
 * So the server writes entities with single native statements. Its other writes are plain SQL
 * already (server/db/sql.ts, the project journal). tests/integration/no-async-context.test.ts
 * fails when a request path enters an AsyncLocalStorage again.
 */
import type { EntityData, EntityManager, EntityName, FilterQuery, RequiredEntityData } from '@mikro-orm/core';

/** Rows per INSERT in {@link insertRows}: well under SQLite's limit of bound values. */
const INSERT_CHUNK = 500;

/** Inserts one row and answers it as an entity with its generated key; `em` does not track it. */
export async function insertEntity<T extends object>(em: EntityManager, entityName: EntityName<T>, data: RequiredEntityData<T>): Promise<T> {
  const entity = em.create(entityName, data, { persist: false });
  await em.insert(entity);
  return entity;
}

/** Inserts many rows, a few hundred per statement. */
export async function insertRows<T extends object>(em: EntityManager, entityName: EntityName<T>, rows: RequiredEntityData<T>[]): Promise<void> {
  for (let at = 0; at < rows.length; at += INSERT_CHUNK) {
    await em.insertMany<T>(entityName, rows.slice(at, at + INSERT_CHUNK));
  }
}

type Snapshot = Map<string, unknown>;

function scalarProperties(em: EntityManager, entity: object): string[] {
  const meta = em.getMetadata().get(entity.constructor.name);
  return meta.props.filter((p) => !p.primary && p.persist !== false && p.kind === 'scalar').map((p) => p.name);
}

/** A field's value in a snapshot: dates by their time, objects (JSON columns) as their JSON text. */
function frozen(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
}

/** The entity's column values as they are now, for {@link saveChanges} to compare against. */
export function snapshot(em: EntityManager, entity: object): Snapshot {
  const values = new Map<string, unknown>();
  for (const name of scalarProperties(em, entity)) values.set(name, frozen((entity as Record<string, unknown>)[name]));
  return values;
}

/**
 * Writes the fields that changed since `before` with one UPDATE of the entity's row (by its
 * primary key), as a flush would, so a concurrent change of other fields is not overwritten.
 * Dates compare by their time and objects (JSON columns) by their JSON text, so a change made
 * in place counts too. Answers the names of the fields written.
 */
export async function saveChanges<T extends { id: number | string }>(em: EntityManager, entity: T, before: Snapshot): Promise<string[]> {
  const changed: Record<string, unknown> = {};
  for (const [name, was] of before) {
    const now = (entity as Record<string, unknown>)[name];
    if (!Object.is(was, frozen(now))) changed[name] = now;
  }
  const names = Object.keys(changed);
  if (names.length) {
    const updated = await em.nativeUpdate(entity.constructor as EntityName<T>, { id: entity.id } as FilterQuery<T>, changed as EntityData<T>);
    if (updated !== 1) throw new Error(`${entity.constructor.name} ${entity.id} was not found to update`);
  }
  return names;
}
