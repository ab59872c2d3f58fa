/**
 * Migrations (SPEC §5): on a fresh database they build exactly the schema the entities
 * describe (no drift), with the original's table and column names, and a second run — in the
 * same process, from a fresh ORM, or by a restarted server — applies nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import { migrate, sqliteOptions, type Orm } from '../../server/db/orm.js';
import { postgresqlMigrations } from '../../server/db/migrations/postgresql/index.js';
import { sqliteMigrations } from '../../server/db/migrations/sqlite/index.js';
import { WorkloadHost } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { openDataOf, removeDataDir, reuseOf } from '../helpers/data.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Columns the original's clients and queries know by name. */
const ORIGINAL_COLUMNS: Record<string, string[]> = {
  projects: ['id', 'service_name', 'status', 'assigned_ip', 'template_type', 'details', 'created_at'],
  workload_pool: ['id', 'vm_name', 'ip_address', 'status', 'project_id', 'owner'],
  settings: ['id', 'system_notice', 'maintenance_mode'],
  users: ['id', 'username', 'password_hash', 'role', 'status', 'created_at'],
  provision_events: ['id', 'project_id', 'seq', 'kind', 'status', 'message', 'data', 'at'],
  audit_log: ['id', 'at', 'actor', 'action', 'target', 'ip', 'result', 'detail'],
  revoked_tokens: ['jti', 'expires_at'],
  runner_instances: ['id', 'hostname', 'pid', 'started_at', 'heartbeat_at'],
  idempotency_keys: ['id', 'owner', 'key', 'request_hash', 'project_id', 'created_at'],
  usage_totals: ['owner', 'live_projects', 'hosts', 'vcpu', 'memory_gb', 'disk_gb'],
  project_resources: ['project_id', 'ord', 'kind', 'vm_name', 'address'],
};

/** A CREATE TABLE with its column and constraint list sorted: ALTER … ADD COLUMN appends, so order is not drift. */
function normaliseDdl(ddl: string): string {
  // A table rebuilt by a migration (create …__temp_alter, rename) is stored as CREATE TABLE "name".
  const sql = ddl.replace(/^CREATE TABLE "([^"]+)"/, 'CREATE TABLE `$1`');
  const open = sql.indexOf('(');
  const close = sql.lastIndexOf(')');
  if (!sql.startsWith('CREATE TABLE') || open < 0) return sql;
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of sql.slice(open + 1, close)) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  parts.push(current.trim());
  return `${sql.slice(0, open)}(${parts.sort().join(', ')})`;
}

async function columnsByTable(orm: Orm, backend: string): Promise<Record<string, string[]>> {
  const conn = orm.em.getConnection();
  const out: Record<string, string[]> = {};
  if (backend === 'postgresql') {
    const rows: { table_name: string; column_name: string }[] = await conn.execute(
      `select table_name, column_name from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`,
    );
    for (const r of rows) (out[r.table_name] ??= []).push(r.column_name);
    return out;
  }
  const tables: { name: string }[] = await conn.execute(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`);
  for (const { name } of tables) {
    const cols: { name: string }[] = await conn.execute(`pragma table_info(\`${name}\`)`);
    out[name] = cols.map((c) => c.name);
  }
  return out;
}

/** Tables and indexes of an SQLite database with their DDL, whitespace normalised. */
async function sqliteCatalog(orm: Orm): Promise<{ type: string; name: string; sql: string | null }[]> {
  const rows: { type: string; name: string; sql: string | null }[] = await orm.em
    .getConnection()
    .execute(`select type, name, sql from sqlite_master where name not like 'sqlite_%' and tbl_name <> 'mikro_orm_migrations' order by type, name`);
  expect(rows.length).toBeGreaterThan(5);
  return rows.map((r) => ({ ...r, sql: r.sql ? normaliseDdl(r.sql.replace(/\s+/g, ' ').trim()) : null }));
}

const migratedLines = (server: TestServer) =>
  server.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'database migrated');

for (const backend of await backendsFor('migrations')) {
  describe(`migrations (${backend})`, () => {
    let server: TestServer;
    let restarted: TestServer | undefined;
    const expectedNames = (backend === 'postgresql' ? postgresqlMigrations : sqliteMigrations).map((m) => m.name);

    beforeAll(async () => {
      server = await startTestServer({ backend });
    });
    afterAll(async () => {
      await restarted?.close();
      if (!restarted) await server?.close();
      removeDataDir(server);
    });

    it('applied every migration on the fresh database at start-up', async () => {
      expect(expectedNames.length).toBeGreaterThan(0);
      const lines = migratedLines(server);
      expect(lines).toHaveLength(1);
      expect(lines[0].migrations).toEqual(expectedNames);
      const executed = await server.app.orm.getMigrator().getExecutedMigrations();
      expect(executed.map((m) => m.name)).toEqual(expectedNames);
    });

    it('leaves no drift between the schema and the entities', async () => {
      const orm = server.app.orm;
      if (backend === 'postgresql') {
        expect(await orm.getMigrator().checkMigrationNeeded()).toBe(false);
        const update = await orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true });
        expect(update.trim()).toBe('');
        return;
      }
      // MikroORM 6.6.16 misreads SQLite enum checks with 3+ values (only the first and last
      // survive; mikro-orm/mikro-orm#8139), so its diff always proposes table rebuilds here.
      // Compare the DDL instead: the migrated database against one built from the entities.
      const fromEntities = await MikroORM.init(sqliteOptions(':memory:'));
      try {
        await fromEntities.schema.createSchema();
        expect(await sqliteCatalog(orm)).toEqual(await sqliteCatalog(fromEntities));
      } finally {
        await fromEntities.close(true);
      }
    });

    it('keeps the original table and column names', async () => {
      const columns = await columnsByTable(server.app.orm, backend);
      for (const [table, names] of Object.entries(ORIGINAL_COLUMNS)) {
        expect(columns[table], `table ${table}`).toBeDefined();
        expect(columns[table]).toEqual(expect.arrayContaining(names));
      }
      const appTables = Object.keys(columns).filter((t) => t !== 'mikro_orm_migrations').sort();
      expect(appTables).toEqual(Object.keys(ORIGINAL_COLUMNS).sort());
    });

    it('lets the database itself refuse a second row for one host address', async () => {
      const em = server.app.orm.em.fork();
      const taken = await em.findOneOrFail(WorkloadHost, { infra: 'vsphere' }, { orderBy: { id: 'asc' } });
      const twin = em.create(WorkloadHost, { vmName: 'twin', ipAddress: taken.ipAddress, infra: 'vsphere', status: 'available', updatedAt: new Date() });
      await expect(em.persistAndFlush(twin)).rejects.toBeInstanceOf(UniqueConstraintViolationException);
    });

    it('applies nothing when run a second time', async () => {
      const orm = server.app.orm;
      expect(await migrate(orm)).toEqual([]);
      expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
      expect((await orm.getMigrator().getExecutedMigrations()).map((m) => m.name)).toEqual(expectedNames);
    });

    it('applies nothing from a fresh connection, nor when the server restarts on the same data', async () => {
      await server.close(true);
      const data = await openDataOf(server);
      try {
        expect(await migrate(data)).toEqual([]);
        expect(await data.getMigrator().getPendingMigrations()).toEqual([]);
      } finally {
        await data.close(true);
      }
      restarted = await startTestServer({ backend, reuse: reuseOf(server) });
      expect(migratedLines(restarted)).toEqual([]);
      expect((await restarted.app.orm.getMigrator().getExecutedMigrations()).map((m) => m.name)).toEqual(expectedNames);
      const health = await restarted.request('GET', '/healthz');
      expect(health.body.database).toMatchObject({ backend, fell_back: false });
    });
  });
}
