/**
 * The usage totals (one row per owner and one for the portal) are filled from the projects a
 * database already holds when the migration that adds them runs: live projects only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresOptions, sqliteOptions } from '../../server/db/orm.js';
import { backendsFor } from '../helpers/backends.js';
import { createTempPostgresDatabase, type TempDatabase } from '../helpers/postgres.js';

const BEFORE_TOTALS: Record<string, string> = { sqlite: 'Migration20261126100439', postgresql: 'Migration20261126100440' };

for (const backend of await backendsFor('usage totals backfill')) {
  describe(`usage totals backfill (${backend})`, () => {
    let pg: TempDatabase | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'hcmp-usage-'));
    afterAll(async () => {
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sums the live projects per owner and for the portal', async () => {
      if (backend === 'postgresql') pg = await createTempPostgresDatabase();
      const orm = await MikroORM.init(backend === 'postgresql' ? postgresOptions(pg!.url, 5000) : sqliteOptions(join(dir, 'hcmp.db')));
      try {
        const migrator = orm.getMigrator();
        await migrator.up({ to: BEFORE_TOTALS[backend] });
        const conn = orm.em.getConnection();
        const insert = (owner: string, status: string, hosts: number) =>
          conn.execute(
            `insert into projects (service_name, status, template_type, owner, infra, details, last_seq, created_at, updated_at, host_count, vcpu, memory_gb, disk_gb, attempt)
             values (?, ?, 'standard', ?, 'vsphere', ?, 1, ?, ?, ?, ?, ?, ?, 1)`,
            ['svc', status, owner, JSON.stringify({ status }), new Date(), new Date(), hosts, hosts * 2, hosts * 4, hosts * 20],
          );
        await insert('ann', 'COMPLETED', 3);
        await insert('ann', 'RUNNING', 1);
        await insert('ann', 'FAILED', 5);
        await insert('bob', 'DELETING', 2);
        await insert('bob', 'CANCELLED', 4);
        await insert('cid', 'FAILED', 1);
        await migrator.up();
        const rows: any[] = await conn.execute('select owner, live_projects, hosts, vcpu, memory_gb, disk_gb from usage_totals order by owner');
        expect(rows.map((r) => [r.owner, ...[r.live_projects, r.hosts, r.vcpu, r.memory_gb, r.disk_gb].map(Number)])).toEqual([
          ['*', 3, 6, 12, 24, 120],
          ['ann', 2, 4, 8, 16, 80],
          ['bob', 1, 2, 4, 8, 40],
        ]);
      } finally {
        await orm.close(true);
      }
    });
  });
}
