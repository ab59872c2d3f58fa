/**
 * Quotas and the portal limit under concurrent orders. An order checks its limits inside its
 * own transaction, against the usage totals as that transaction leaves them (the rows locked
 * until the commit), with no lock across the whole order (server/services/quotas.ts). These
 * bursts check that concurrent orders still cannot slip past a limit together: exactly as many
 * are accepted as fit, every other one is a 409 naming the limit, and the usage totals, the
 * hosts and the projects agree afterwards (tests/helpers/host-ledger.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { burst } from '../helpers/burst.js';
import { readLedger } from '../helpers/host-ledger.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

/** One host, 1 vCPU, 2 GB, 20 GB disk (catalog sizing of template `single`, traffic `low`). */
const SMALL = { config: { template: 'single', traffic: 'low' }, targetInfra: 'vsphere' };
const ENV = { DEFAULT_QUOTA_HOSTS: '7', DEFAULT_QUOTA_VCPU: '1000', DEFAULT_QUOTA_MEMORY_GB: '1000', DEFAULT_QUOTA_DISK_GB: '100000' };

for (const backend of await backendsFor('quota races')) {
  describe(`limits under concurrent orders (${backend})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: ENV });
    });
    afterAll(async () => {
      await server?.close();
    });

    const projectsOf = async (owner: string) =>
      Number((await server.app.orm.em.fork().getConnection().execute('select count(*) as n from projects where owner = ?', [owner]))[0].n);

    it('40 concurrent one-host orders against a 7-host quota: exactly 7 accepted, 33 refused, totals agree', async () => {
      const token = await server.createUser('race-quota');
      const answers = await burst(
        server,
        Array.from({ length: 40 }, (_, i) => ({ method: 'POST', path: '/api/provision', token, body: { serviceName: `rq-${i}`, ...SMALL } })),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(7);
      expect(statuses.filter((s) => s === 409)).toHaveLength(33);
      for (const a of answers.filter((x) => x.status === 409)) expect(a.body.detail).toMatch(/^Quota exceeded for race-quota: hosts [0-7] \+ 1 > 7/);
      expect(await projectsOf('race-quota')).toBe(7);
      await server.app.dispatcher.whenIdle();
      const ledger = await readLedger(server);
      expect(ledger.problems).toEqual([]);
      expect(ledger.held.filter((h) => h.owner === 'race-quota')).toHaveLength(7);
      const used = (await server.gql('query { myQuota { used { usedHosts usedVcpu } } }', {}, token)).data.myQuota.used;
      expect(used).toEqual({ usedHosts: 7, usedVcpu: 7 });
    });

    it('orders of four accounts at once against the portal vCPU limit: exactly what fits is accepted', async () => {
      const admin = server.adminToken;
      const stats = (await server.request('GET', '/api/admin/stats', { token: admin })).body;
      const limit = stats.used_vcpu + 12;
      const set = await server.request('POST', '/api/admin/settings', { token: admin, body: { max_vcpu: limit, admin_password: ADMIN.password } });
      expect(set.status).toBe(200);
      const tokens = await Promise.all(['race-a', 'race-b', 'race-c', 'race-d'].map((name) => server.createUser(name)));
      const answers = await burst(
        server,
        Array.from({ length: 24 }, (_, i) => ({ method: 'POST', path: '/api/provision', token: tokens[i % 4], body: { serviceName: `rp-${i}`, ...SMALL } })),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(12);
      expect(statuses.filter((s) => s === 409)).toHaveLength(12);
      for (const a of answers.filter((x) => x.status === 409)) expect(a.body.detail).toMatch(new RegExp(`^Portal vCPU limit reached: \\d+ \\+ 1 > ${limit}$`));
      const after = (await server.request('GET', '/api/admin/stats', { token: admin })).body;
      expect(after.used_vcpu).toBe(limit);
      await server.app.dispatcher.whenIdle();
      expect((await readLedger(server)).problems).toEqual([]);
      const restore = await server.request('POST', '/api/admin/settings', { token: admin, body: { max_vcpu: 1_000_000, admin_password: ADMIN.password } });
      expect(restore.status).toBe(200);
    });
  });
}
