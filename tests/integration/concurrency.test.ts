/**
 * The workload pool under concurrent orders (SPEC §4): a host is never given to two live
 * projects, every project holds exactly the hosts its order needs, and an exhausted pool refuses
 * the extra orders cleanly (409 when the order is placed, nothing created) and takes returned
 * hosts again. Checked in the database itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project, WorkloadHost } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';

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

  describe(`an exhausted pool refuses the extra orders cleanly (${backend})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { IP_POOL_VSPHERE: '192.168.77.0/29' } });
    });
    afterAll(() => server?.close());

    const order = (serviceName: string, template = 'single') =>
      server.request('POST', '/api/provision', { token: server.adminToken, body: { serviceName, config: { template }, targetInfra: 'vsphere' } });

    it('10 concurrent single-host orders on 6 hosts: 6 accepted and complete, 4 refused with 409, none shares a host', async () => {
      const token = server.adminToken;
      const em = server.app.orm.em.fork();
      const pool = await em.find(WorkloadHost, { infra: 'vsphere' }, { orderBy: { id: 'asc' } });
      expect(pool.map((h) => h.ipAddress)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `192.168.77.${n}`));

      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => order(`tiny-${i}`)));
      // Hosts are taken when the order is placed: the orders that find none are refused at once.
      const accepted = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status !== 200);
      expect(accepted).toHaveLength(6);
      expect(refused.map((a) => [a.status, a.body])).toEqual(Array(4).fill([409, { detail: '1 hosts needed, 0 available' }]));
      const ids = accepted.map((a) => a.body.project_id as number);
      expect(new Set(ids).size).toBe(6);
      // A refused order leaves no project behind.
      expect((await server.request('GET', '/api/history', { token })).body.map((p: any) => p.id).sort()).toEqual([...ids].sort());

      const finals = await Promise.all(ids.map((id) => waitForFinalStatus(server, id, token)));
      expect(finals.map((f) => f.status)).toEqual(Array(6).fill('COMPLETED'));
      const addresses = finals.map((c) => c.details.resources.ssh_targets[0].host).sort();
      expect(addresses).toEqual(pool.map((h) => h.ipAddress).sort());

      const state = await dbState(server);
      expect(state.duplicates).toEqual([]);
      expect(state.projects.map((p) => p.id).sort()).toEqual([...ids].sort());
      expectExclusiveHolding(state.projects, state.hosts, () => 1);
      expect(state.hosts.filter((h) => h.infra === 'vsphere' && h.status === 'available')).toEqual([]);

      // A deleted project gives its host back once its teardown finished; the next order gets exactly that host.
      const gone = finals[0];
      const freed = gone.details.resources.ssh_targets[0].host;
      expect((await server.request('DELETE', `/api/provision/${gone.id}`, { token })).status).toBe(200);
      await waitFor(async () => !(await server.request('GET', '/api/history', { token })).body.some((p: any) => p.id === gone.id), 10_000, 'the teardown');
      const freeNow = await server.app.orm.em.fork().find(WorkloadHost, { infra: 'vsphere', status: 'available' });
      expect(freeNow.map((h) => [h.ipAddress, h.projectId ?? null, h.owner ?? null])).toEqual([[freed, null, null]]);

      const again = await order('tiny-again');
      expect(again.status).toBe(200);
      const row = await waitForFinalStatus(server, again.body.project_id, token);
      expect(row.status).toBe('COMPLETED');
      expect(row.details.resources.ssh_targets.map((t: any) => t.host)).toEqual([freed]);

      const final = await dbState(server);
      expectExclusiveHolding(final.projects, final.hosts, () => 1);
      // With the pool full again, the next orders are refused with how many hosts were needed and how many are free.
      const before = final.projects.length;
      expect(await order('tiny-extra')).toMatchObject({ status: 409, body: { detail: '1 hosts needed, 0 available' } });
      expect(await order('std-extra', 'standard')).toMatchObject({ status: 409, body: { detail: '3 hosts needed, 0 available' } });
      const gql = await server.gql(
        'mutation($input: ProvisionInput!) { provision(input: $input) { id } }',
        { input: { serviceName: 'gql-extra', config: { template: 'standard' }, targetInfra: 'vsphere' } },
        token,
      );
      expect(gql.data ?? null).toBeNull();
      expect(gql.errors?.map((e) => [e.message, e.extensions])).toEqual([['3 hosts needed, 0 available', { code: 'CONFLICT', needed: 3, available: 0 }]]);
      expect((await dbState(server)).projects).toHaveLength(before);
    });
  });
}
