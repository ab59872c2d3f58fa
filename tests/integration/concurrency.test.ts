/**
 * The workload pool under concurrent orders (SPEC §4): a host is never given to two live
 * projects, every project holds exactly the hosts its order needs, and an exhausted pool fails
 * the extra orders cleanly and takes returned hosts again. Checked in the database itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project, WorkloadHost } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const HOSTS_OF: Record<string, number> = { single: 1, standard: 3 };

interface Order {
  token: string;
  username: string;
  template: 'single' | 'standard';
  infra: 'aws' | 'vsphere';
  serviceName: string;
}

async function dbState(server: TestServer) {
  const em = server.app.orm.em.fork();
  const projects = await em.find(Project, {}, { orderBy: { id: 'asc' } });
  const hosts = await em.find(WorkloadHost, {}, { orderBy: { id: 'asc' } });
  const duplicates: unknown[] = await em
    .getConnection()
    .execute('select ip_address, count(*) as n from workload_pool group by ip_address having count(*) > 1');
  return { projects, hosts, duplicates };
}

/** Every rule about who holds which host, checked on the rows (not through the API). */
function expectExclusiveHolding(projects: Project[], hosts: WorkloadHost[], needed: (p: Project) => number) {
  const byProject = new Map<number, WorkloadHost[]>();
  for (const h of hosts) {
    if (h.projectId == null) {
      expect(h.status).toBe('available');
      expect(h.owner ?? null).toBeNull();
      continue;
    }
    byProject.set(h.projectId, [...(byProject.get(h.projectId) ?? []), h]);
  }
  const live = new Set(projects.filter((p) => p.status === 'COMPLETED').map((p) => p.id));
  // No host row is held by a project that is not live (failed or unknown).
  for (const holder of byProject.keys()) expect(live.has(holder), `host held by project ${holder}`).toBe(true);

  const seenTargets = new Map<string, number>();
  for (const p of projects) {
    const held = byProject.get(p.id) ?? [];
    if (p.status !== 'COMPLETED') {
      expect(held).toEqual([]);
      expect(p.assignedIp ?? null).toBeNull();
      continue;
    }
    expect(held, `hosts of project ${p.id}`).toHaveLength(needed(p));
    for (const h of held) {
      expect(h.status).toBe('assigned');
      expect(h.owner).toBe(p.owner);
      expect(h.infra).toBe(p.infra);
    }
    const targets = (p.details.resources?.ssh_targets ?? []).map((t) => t.host);
    expect(targets.slice().sort()).toEqual(held.map((h) => h.ipAddress).sort());
    expect(p.assignedIp).toBe(targets[0]);
    for (const ip of targets) {
      expect(seenTargets.get(ip), `${ip} in projects ${seenTargets.get(ip)} and ${p.id}`).toBeUndefined();
      seenTargets.set(ip, p.id);
    }
  }
}

for (const backend of await backendsFor('concurrency')) {
  describe(`concurrent orders share the workload pool safely (${backend})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ backend });
    });
    afterAll(() => server?.close());

    it('50 concurrent orders from several users all complete with hosts of their own', async () => {
      const users = ['ann', 'bob', 'cho', 'dae', 'eun'];
      const tokens = await Promise.all(users.map((u) => server.createUser(`conc-${u}`)));
      const orders: Order[] = Array.from({ length: 50 }, (_, i) => ({
        token: tokens[i % tokens.length],
        username: `conc-${users[i % users.length]}`,
        template: i % 3 === 0 ? 'standard' : 'single',
        infra: i % 2 === 0 ? 'vsphere' : 'aws',
        serviceName: `conc-${i}`,
      }));

      const answers = await Promise.all(
        orders.map((o) =>
          server.request('POST', '/api/provision', {
            token: o.token,
            body: { serviceName: o.serviceName, config: { template: o.template }, targetInfra: { type: o.infra } },
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(orders.map(() => 200));
      const ids = answers.map((a) => a.body.project_id as number);
      expect(new Set(ids).size).toBe(50);

      const finals = await Promise.all(ids.map((id, i) => waitForFinalStatus(server, id, orders[i].token)));
      expect(finals.map((f) => f.status)).toEqual(orders.map(() => 'COMPLETED'));

      const { projects, hosts, duplicates } = await dbState(server);
      expect(duplicates).toEqual([]);
      const ordered = projects.filter((p) => ids.includes(p.id));
      expect(ordered).toHaveLength(50);
      for (const p of ordered) {
        const order = orders[ids.indexOf(p.id)];
        expect(p.status).toBe('COMPLETED');
        expect(p.owner).toBe(order.username);
        expect(p.infra).toBe(order.infra);
        expect(p.templateType).toBe(order.template);
        expect(p.details.status).toBe('COMPLETED');
      }
      expectExclusiveHolding(projects, hosts, (p) => HOSTS_OF[p.templateType]);
      const held = hosts.filter((h) => h.projectId != null).length;
      expect(held).toBe(orders.reduce((n, o) => n + HOSTS_OF[o.template], 0));
    });
  });

  describe(`an exhausted pool fails the extra orders cleanly (${backend})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { IP_POOL_VSPHERE: '192.168.77.0/29' } });
    });
    afterAll(() => server?.close());

    it('10 concurrent single-host orders on 6 hosts: 6 complete, 4 fail, none shares a host', async () => {
      const token = server.adminToken;
      const em = server.app.orm.em.fork();
      const pool = await em.find(WorkloadHost, { infra: 'vsphere' }, { orderBy: { id: 'asc' } });
      expect(pool.map((h) => h.ipAddress)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `192.168.77.${n}`));

      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          server.request('POST', '/api/provision', {
            token,
            body: { serviceName: `tiny-${i}`, config: { template: 'single' }, targetInfra: 'vsphere' },
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      const ids = answers.map((a) => a.body.project_id as number);
      const finals = await Promise.all(ids.map((id) => waitForFinalStatus(server, id, token)));

      const completed = finals.filter((f) => f.status === 'COMPLETED');
      const failed = finals.filter((f) => f.status === 'FAILED');
      expect(completed).toHaveLength(6);
      expect(failed).toHaveLength(4);
      for (const f of failed) {
        expect(f.details.status).toBe('FAILED');
        expect(f.details.error).toEqual({ message: '1 hosts needed, 0 available' });
        expect(f.details.logs.at(-1)).toBe('Error: 1 hosts needed, 0 available');
        expect(f.details.resources).toBeNull();
        expect(f.assigned_ip).toBe(''); // REST shows no address as "", as the original did
      }
      const addresses = completed.map((c) => c.details.resources.ssh_targets[0].host).sort();
      expect(addresses).toEqual(pool.map((h) => h.ipAddress).sort());

      const state = await dbState(server);
      expect(state.duplicates).toEqual([]);
      expectExclusiveHolding(state.projects, state.hosts, () => 1);
      expect(state.hosts.filter((h) => h.infra === 'vsphere' && h.status === 'available')).toEqual([]);

      // A project deleted gives its host back; the next order gets exactly that host.
      const gone = completed[0];
      const freed = gone.details.resources.ssh_targets[0].host;
      expect((await server.request('DELETE', `/api/provision/${gone.id}`, { token })).status).toBe(200);
      const freeNow = await server.app.orm.em.fork().find(WorkloadHost, { infra: 'vsphere', status: 'available' });
      expect(freeNow.map((h) => [h.ipAddress, h.projectId ?? null, h.owner ?? null])).toEqual([[freed, null, null]]);

      const again = await server.request('POST', '/api/provision', {
        token,
        body: { serviceName: 'tiny-again', config: { template: 'single' }, targetInfra: 'vsphere' },
      });
      expect(again.status).toBe(200);
      const row = await waitForFinalStatus(server, again.body.project_id, token);
      expect(row.status).toBe('COMPLETED');
      expect(row.details.resources.ssh_targets.map((t: any) => t.host)).toEqual([freed]);

      const final = await dbState(server);
      expectExclusiveHolding(final.projects, final.hosts, () => 1);
      // One more order still fails with the clear error, now that the pool is full again.
      const extra = await server.request('POST', '/api/provision', {
        token,
        body: { serviceName: 'tiny-extra', config: { template: 'single' }, targetInfra: 'vsphere' },
      });
      const extraRow = await waitForFinalStatus(server, extra.body.project_id, token);
      expect(extraRow.status).toBe('FAILED');
      expect(extraRow.details.error.message).toBe('1 hosts needed, 0 available');
    });
  });
}
