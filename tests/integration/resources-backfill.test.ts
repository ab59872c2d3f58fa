/**
 * The rows of project_resources are filled from the projects a database already holds when the
 * migration that adds the table runs: the same rows the journal writes from then on
 * (services/resources.ts resourceEntries), for projects with an assigned_ip only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresOptions, sqliteOptions } from '../../server/db/orm.js';
import { resourceEntries } from '../../server/services/resources.js';
import { backendsFor } from '../helpers/backends.js';
import { createTempPostgresDatabase, type TempDatabase } from '../helpers/postgres.js';

const BEFORE_TABLE = 'Migration20261206143553';

const target = (host: string) => ({ host, port: 22, user: 'ubuntu' });
/** assigned_ip, resources: every shape the derivation distinguishes. */
const PROJECTS: [string | null, Record<string, unknown> | null][] = [
  ['10.0.0.1', { alb_ip: '10.0.0.1', web_url: 'https://a.example.com', db_vip: 'db-a.vip', ssh_targets: [target('10.0.0.1'), target('10.0.0.2'), target('10.0.0.3')] }],
  ['10.0.0.4', { alb_ip: '10.0.0.4', web_url: '', db_vip: 'db-b.vip', ssh_targets: [] }],
  ['10.0.0.5', { alb_ip: '10.0.0.5', ssh_targets: [target('10.0.0.5')], extra: 'kept' }],
  ['10.0.0.6', { alb_ip: '10.0.0.6', web_url: 'http://x/', db_vip: 'db', ssh_targets: Array.from({ length: 12 }, (_, i) => target(`10.0.1.${i}`)) }],
  // No assigned_ip (a retried run, or a failed one): no rows, resources or not.
  [null, { alb_ip: '10.0.0.7', web_url: 'w', db_vip: 'd', ssh_targets: [target('10.0.0.7')] }],
  [null, null],
  ['10.0.0.8', null],
];

for (const backend of await backendsFor('project resources backfill')) {
  describe(`project resources backfill (${backend})`, () => {
    let pg: TempDatabase | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'hcmp-resources-'));
    afterAll(async () => {
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('derives the ALB, Web, DB and SSH-n rows of every project with an assigned address, as the journal does', async () => {
      if (backend === 'postgresql') pg = await createTempPostgresDatabase();
      const orm = await MikroORM.init(backend === 'postgresql' ? postgresOptions(pg!.url, 5000) : sqliteOptions(join(dir, 'hcmp.db')));
      try {
        const migrator = orm.getMigrator();
        await migrator.up({ to: BEFORE_TABLE });
        const conn = orm.em.getConnection();
        const ids: number[] = [];
        for (const [i, [assignedIp, resources]] of PROJECTS.entries()) {
          await conn.execute(
            `insert into projects (service_name, status, assigned_ip, template_type, owner, infra, details, last_seq, created_at, updated_at, host_count, vcpu, memory_gb, disk_gb, attempt)
             values (?, 'COMPLETED', ?, 'standard', 'ann', 'vsphere', ?, 1, ?, ?, 1, 1, 1, 1, 1)`,
            [`svc-${i}`, assignedIp, JSON.stringify({ status: 'COMPLETED', logs: ['a', 'b'], resources, error: null }), new Date(), new Date()],
          );
          const [{ id }] = await conn.execute('select max(id) as id from projects');
          ids.push(Number(id));
        }
        await migrator.up();
        const rows: any[] = await conn.execute('select project_id, ord, kind, vm_name, address from project_resources order by project_id, ord');
        const expected = PROJECTS.flatMap(([assignedIp, resources], i) =>
          resourceEntries(assignedIp, resources as never).map((e) => ({ project_id: ids[i], ord: e.ord, kind: e.kind, vm_name: e.vmName, address: e.address })),
        );
        expect(expected.length).toBe(6 + 2 + 2 + 15);
        expect(rows.map((r) => ({ ...r, project_id: Number(r.project_id), ord: Number(r.ord) }))).toEqual(expected);
      } finally {
        await orm.close(true);
      }
    });
  });
}
