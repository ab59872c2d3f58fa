/**
 * "My resources" at any pool size: GraphQL `resources` pages through every row exactly once
 * (host rows by pool id, then derived rows by project id and ALB, Web, DB, SSH-n), filters and
 * counts them in SQL, never shows a user another's rows; `resourceSummary` equals the counts of
 * the rows themselves; REST my-resources answers byte for byte what the old ORM code path
 * answered on the same data (that code is kept below, as the oracle, and only here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { Project, WorkloadHost, type HostStatus } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { GatedRunner } from '../helpers/test-runners.js';

// --- the oracle: the old listResources (ORM entities, every row), as it was before the rewrite ---

interface OracleRow {
  kind: string;
  vmName: string;
  ipAddress: string;
  projectId: number | null;
  projectName: string;
  owner: string;
  cpuUsage: number;
  memoryUsage: number;
  diskUsage: number;
  status: string;
  hasMetrics: boolean;
  /** Not in the old row: the host's pool id and infra, to compare with the new rows. */
  hostId: number | null;
  infra: string;
}

const LABEL: Record<HostStatus, string> = { available: 'Available', provisioning: 'Provisioning', assigned: 'Running', drained: 'Drained' };

function oracleDerived(project: Project): OracleRow[] {
  const resources = project.details.resources;
  if (!resources) return [];
  const status = project.status === 'COMPLETED' ? 'Running' : project.status;
  const base = { projectId: project.id, projectName: project.serviceName, owner: project.owner, status, cpuUsage: 0, memoryUsage: 0, diskUsage: 0, hasMetrics: false, hostId: null, infra: project.infra };
  const rows: OracleRow[] = [];
  if (resources.alb_ip) rows.push({ ...base, kind: 'alb', vmName: 'ALB', ipAddress: resources.alb_ip });
  if (resources.web_url) rows.push({ ...base, kind: 'web', vmName: 'Web', ipAddress: resources.web_url });
  if (resources.db_vip) rows.push({ ...base, kind: 'db', vmName: 'DB', ipAddress: resources.db_vip });
  (resources.ssh_targets ?? []).forEach((target, i) => rows.push({ ...base, kind: 'ssh', vmName: `SSH-${i + 1}`, ipAddress: target.host }));
  return rows;
}

/** The old code path: hosts by id, then each project with an assigned_ip, newest first. */
async function oracle(em: EntityManager, who: { username: string; admin: boolean }): Promise<{ hosts: OracleRow[]; derived: OracleRow[] }> {
  const hostWhere: FilterQuery<WorkloadHost> = who.admin ? {} : { owner: who.username, projectId: { $ne: null } };
  const projectWhere: FilterQuery<Project> = who.admin ? {} : { owner: who.username };
  const [hosts, projects] = await Promise.all([
    em.find(WorkloadHost, hostWhere, { orderBy: { id: 'asc' } }),
    em.find(Project, { ...projectWhere, assignedIp: { $ne: null } } as FilterQuery<Project>, { orderBy: { id: 'desc' } }),
  ]);
  const names = new Map(projects.map((p) => [p.id, p.serviceName]));
  const missing = [...new Set(hosts.map((h) => h.projectId).filter((id): id is number => id != null && !names.has(id)))];
  if (missing.length) for (const p of await em.find(Project, { id: { $in: missing } }, { fields: ['id', 'serviceName'] })) names.set(p.id, p.serviceName);
  const hostRows = hosts.map((h) => ({
    kind: 'host',
    vmName: h.vmName,
    ipAddress: h.ipAddress,
    projectId: h.projectId ?? null,
    projectName: h.projectId != null ? (names.get(h.projectId) ?? '') : '',
    owner: h.owner ?? '',
    status: LABEL[h.status],
    cpuUsage: 0,
    memoryUsage: 0,
    diskUsage: 0,
    hasMetrics: false,
    hostId: h.id,
    infra: h.infra,
  }));
  return { hosts: hostRows, derived: projects.flatMap(oracleDerived) };
}

/** The old REST body: every row mapped to the original's keys, serialised as Fastify does. */
const oracleRestBody = (o: { hosts: OracleRow[]; derived: OracleRow[] }) =>
  JSON.stringify(
    [...o.hosts, ...o.derived].map((r) => ({
      vm_name: r.vmName,
      ip_address: r.ipAddress,
      project_name: r.projectName,
      owner: r.owner,
      cpu_usage: r.cpuUsage,
      memory_usage: r.memoryUsage,
      disk_usage: r.diskUsage,
      status: r.status,
    })),
  );

/** The new order of the rows: hosts by id, then derived rows by project id (ALB, Web, DB, SSH-n within). */
const pagedOrder = (o: { hosts: OracleRow[]; derived: OracleRow[] }) => [...o.hosts, ...[...o.derived].sort((a, b) => a.projectId! - b.projectId!)];

// --- GraphQL helpers --------------------------------------------------------------------------

const ROW = 'kind hostId vmName ipAddress infra projectId projectName owner status cpuUsage memoryUsage diskUsage hasMetrics networkIn networkOut load1 uptimeSeconds';
const PAGE = `query($first: Int, $after: String, $infra: InfraType, $status: String, $projectId: Int, $owner: String, $search: String, $kind: [ResourceKind!]) {
  resources(first: $first, after: $after, infra: $infra, status: $status, projectId: $projectId, owner: $owner, search: $search, kind: $kind) {
    edges { cursor } nodes { ${ROW} } pageInfo { hasNextPage endCursor } totalCount
  }
}`;
const SUMMARY = `{ resourceSummary { hostsByInfra { infra total available provisioning assigned drained } hosts projects runningProjects derivedRows rows metrics { measuredHosts } } }`;

type Filter = { infra?: string; status?: string; projectId?: number; owner?: string; search?: string; kind?: string[] | string };

/** Every page of `resources` with this filter; checks each page's shape on the way. */
async function allPages(server: TestServer, token: string, filter: Filter, first: number): Promise<{ rows: any[]; totals: number[]; pages: number }> {
  const rows: any[] = [];
  const totals: number[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const res: any = await server.gql(PAGE, { ...filter, first, after }, token);
    expect(res.errors).toBeUndefined();
    const page = res.data.resources;
    pages++;
    expect(page.edges).toHaveLength(page.nodes.length);
    expect(page.nodes.length).toBeLessThanOrEqual(first);
    if (page.pageInfo.hasNextPage) expect(page.nodes).toHaveLength(first);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
    rows.push(...page.nodes);
    totals.push(page.totalCount);
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
    if (pages > 1000) throw new Error('paging does not end');
  }
  return { rows, totals, pages };
}

/** What a row of the new list must equal, from an oracle row. */
const expectedNode = (r: OracleRow) => ({
  kind: r.kind,
  hostId: r.hostId,
  vmName: r.vmName,
  ipAddress: r.ipAddress,
  infra: r.infra,
  projectId: r.projectId,
  projectName: r.projectName,
  owner: r.owner,
  status: r.status,
  cpuUsage: 0,
  memoryUsage: 0,
  diskUsage: 0,
  hasMetrics: false,
  networkIn: null,
  networkOut: null,
  load1: null,
  uptimeSeconds: null,
});

const matches = (r: OracleRow, f: Filter) => {
  const kinds = f.kind === undefined ? null : Array.isArray(f.kind) ? f.kind : [f.kind];
  const search = f.search?.trim().toLowerCase();
  return (
    (!f.infra || r.infra === f.infra) &&
    (!f.status || r.status === f.status) &&
    (f.projectId === undefined || r.projectId === f.projectId) &&
    (f.owner === undefined || r.owner === f.owner) &&
    (!kinds || kinds.includes(r.kind)) &&
    (!search || r.vmName.toLowerCase().includes(search) || r.ipAddress.toLowerCase().includes(search))
  );
};

for (const backend of await backendsFor('resources')) {
  describe(`my resources at any pool size (${backend})`, () => {
    let server: TestServer;
    const runner = new GatedRunner();
    const tokens: Record<string, string> = {};
    const ids: Record<string, number> = {};
    let release: (() => void)[] = [];

    const order = async (user: string, serviceName: string, config: Record<string, unknown>, targetInfra: string) => {
      const created = await server.request('POST', '/api/provision', { token: tokens[user], body: { serviceName, config, targetInfra } });
      expect(created.status).toBe(200);
      ids[serviceName] = created.body.project_id;
      return created.body.project_id as number;
    };
    const oracleFor = (user: string) => oracle(server.app.orm.em.fork(), { username: user, admin: user === 'admin' });
    const restText = async (user: string) => {
      const res = await fetch(`${server.url}/api/monitoring/my-resources`, { headers: { authorization: `Bearer ${tokens[user]}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      return res.text();
    };

    beforeAll(async () => {
      server = await startTestServer({ backend, runner, env: { IP_POOL_AWS: '10.99.0.0/28', IP_POOL_VSPHERE: '192.168.40.0/27' } });
      tokens.admin = server.adminToken;
      tokens.alice = await server.createUser('alice');
      tokens.bob = await server.createUser('bob');
      const finished = [
        await order('alice', 'a-shop', { template: 'standard' }, 'vsphere'),
        await order('alice', 'a-aws', { instanceType: 't3.micro', nodeCount: 2 }, 'aws'),
        await order('alice', 'a-broken', { template: 'single', mockFailAt: 'db' }, 'vsphere'),
        await order('bob', 'b-shop', { template: 'standard' }, 'aws'),
        await order('bob', 'b-one', { template: 'single' }, 'vsphere'),
        await order('admin', 'adm-one', { template: 'single' }, 'vsphere'),
      ];
      for (const id of finished) await waitForFinalStatus(server, id, tokens.admin);
      // One run held before its first step (RUNNING, hosts Provisioning), one teardown held
      // (DELETING with its resources), one free host drained.
      const held = runner.hold('run', 'b-held');
      await order('bob', 'b-held', { template: 'single' }, 'aws');
      await held.reached;
      const teardown = runner.hold('teardown', 'b-one');
      expect((await server.request('DELETE', `/api/provision/${ids['b-one']}`, { token: tokens.bob })).status).toBe(200);
      await teardown.reached;
      release = [held.release, teardown.release];
      const free = (await server.gql('{ poolHosts(first: 1, status: available, infra: aws) { nodes { id } } }', {}, tokens.admin)).data.poolHosts.nodes[0].id;
      expect((await server.gql('mutation($id: Int!) { drainPoolHost(id: $id) { status } }', { id: free }, tokens.admin)).data.drainPoolHost.status).toBe('drained');
    }, 60_000);
    afterAll(async () => {
      for (const r of release) r();
      runner.releaseAll();
      await server?.close();
    });

    it('REST my-resources answers byte for byte what the old code path answered, for a user and for an admin', async () => {
      for (const user of ['alice', 'bob', 'admin']) {
        const o = await oracleFor(user);
        expect(o.hosts.length + o.derived.length).toBeGreaterThan(0);
        expect(await restText(user)).toBe(oracleRestBody(o));
      }
      // The states this data holds, so the comparison covered them.
      const statuses = new Set(JSON.parse(await restText('admin')).map((r: any) => r.status));
      for (const s of ['Available', 'Provisioning', 'Running', 'Drained', 'DELETING']) expect(statuses).toContain(s);
    });

    it('pages through every row exactly once, in order, for a user and for an admin, with the total on every page', async () => {
      for (const user of ['alice', 'admin']) {
        const o = await oracleFor(user);
        const expected = pagedOrder(o).map(expectedNode);
        for (const first of [1, 7, 50, 200]) {
          const { rows, totals, pages } = await allPages(server, tokens[user], {}, first);
          expect(rows).toEqual(expected);
          expect(new Set(totals)).toEqual(new Set([expected.length]));
          expect(pages).toBe(Math.max(1, Math.ceil(expected.length / first)));
        }
      }
    });

    it('filters by infra, status, project, owner, search and kind, counting what matches', async () => {
      const o = await oracleFor('admin');
      const all = pagedOrder(o);
      const filters: Filter[] = [
        { infra: 'aws' },
        { infra: 'vsphere' },
        { status: 'Running' },
        { status: 'Available' },
        { status: 'Provisioning' },
        { status: 'Drained' },
        { status: 'DELETING' },
        { status: 'FAILED' },
        { projectId: ids['a-shop'] },
        { owner: 'bob' },
        { owner: 'nobody' },
        { search: '192.168.40.1' },
        { search: 'web' },
        { search: 'SSH-2' },
        { search: 'b-shop' },
        { search: '%' },
        { kind: 'host' },
        { kind: ['alb', 'web', 'ssh'] },
        { kind: 'db', owner: 'alice' },
        { infra: 'aws', status: 'Running', kind: ['host', 'ssh'] },
        { projectId: ids['b-shop'], kind: 'ssh', search: '10.99' },
      ];
      for (const filter of filters) {
        const expected = all.filter((r) => matches(r, filter)).map(expectedNode);
        const { rows, totals } = await allPages(server, tokens.admin, filter, 4);
        expect({ filter, rows }).toEqual({ filter, rows: expected });
        expect({ filter, totals: new Set(totals) }).toEqual({ filter, totals: new Set([expected.length]) });
      }
      // A derived row matches on its address and on its name, e.g. every project's "Web".
      expect(all.filter((r) => matches(r, { search: 'web' })).length).toBeGreaterThan(3);
    });

    it('never shows a user another user’s rows, whatever the filters or cursors', async () => {
      const alice = pagedOrder(await oracleFor('alice')).map(expectedNode);
      expect(alice.every((r) => r.owner === 'alice')).toBe(true);
      expect((await allPages(server, tokens.alice, { owner: 'alice' }, 5)).rows).toEqual(alice);
      for (const filter of [{ owner: 'bob' }, { projectId: ids['b-shop'] }, { search: 'b-shop' }, { status: 'DELETING' }, { owner: 'admin', kind: 'host' }] as Filter[]) {
        const { rows, totals } = await allPages(server, tokens.alice, filter, 5);
        expect({ filter, rows, totals }).toEqual({ filter, rows: [], totals: [0] });
      }
      // A cursor taken from the admin's list (past bob's hosts) gives Alice only her own rows after it.
      const adminPage = (await server.gql(PAGE, { first: 3 }, tokens.admin)).data.resources;
      const rest = (await server.gql(PAGE, { first: 200, after: adminPage.pageInfo.endCursor }, tokens.alice)).data.resources.nodes;
      expect(rest.every((r: any) => r.owner === 'alice')).toBe(true);
      // Bob sees his held and his tearing-down project, and no one else's.
      const bob = (await allPages(server, tokens.bob, {}, 50)).rows;
      expect(new Set(bob.map((r) => r.owner))).toEqual(new Set(['bob']));
      expect(bob.some((r) => r.status === 'DELETING' && r.kind === 'alb')).toBe(true);
      expect(bob.some((r) => r.status === 'Provisioning' && r.kind === 'host')).toBe(true);
    });

    it('summarises exactly what the rows hold, for a user and for an admin', async () => {
      for (const user of ['alice', 'bob', 'admin']) {
        const rows = (await allPages(server, tokens[user], {}, 200)).rows;
        const summary = (await server.gql(SUMMARY, {}, tokens[user])).data.resourceSummary;
        const hosts = rows.filter((r) => r.kind === 'host');
        const derived = rows.filter((r) => r.kind !== 'host');
        const state = (status: string) => ({ Available: 'available', Provisioning: 'provisioning', Running: 'assigned', Drained: 'drained' })[status]!;
        expect(summary.hostsByInfra).toEqual(
          ['aws', 'vsphere'].map((infra) => {
            const of = hosts.filter((h) => h.infra === infra);
            const n = (s: string) => of.filter((h) => state(h.status) === s).length;
            return { infra, total: of.length, available: n('available'), provisioning: n('provisioning'), assigned: n('assigned'), drained: n('drained') };
          }),
        );
        expect(summary).toMatchObject({
          hosts: hosts.length,
          derivedRows: derived.length,
          rows: rows.length,
          projects: new Set(derived.map((r) => r.projectId)).size,
          runningProjects: new Set(derived.filter((r) => r.status === 'Running').map((r) => r.projectId)).size,
          metrics: null,
        });
      }
    });

    it('drops a project’s rows when a retry clears its resources and when it is deleted, REST still as the old path', async () => {
      const before = (await allPages(server, tokens.alice, { projectId: ids['a-aws'] }, 50)).rows;
      expect(before.filter((r) => r.kind !== 'host').map((r) => r.vmName)).toEqual(['ALB', 'Web', 'DB', 'SSH-1', 'SSH-2']);
      expect((await server.request('DELETE', `/api/provision/${ids['a-aws']}`, { token: tokens.alice })).status).toBe(200);
      await waitFor(async () => (await server.request('GET', '/api/history', { token: tokens.alice })).body.every((p: any) => p.id !== ids['a-aws']), 20_000, 'the project to go');
      expect((await allPages(server, tokens.alice, { projectId: ids['a-aws'] }, 50)).rows).toEqual([]);
      expect(await restText('alice')).toBe(oracleRestBody(await oracleFor('alice')));
      expect(await restText('admin')).toBe(oracleRestBody(await oracleFor('admin')));
      const failed = await server.gql(PAGE, { projectId: ids['a-broken'] }, tokens.alice);
      expect(failed.data.resources).toMatchObject({ nodes: [], totalCount: 0 });
    });

    it('refuses a bad page size, cursor, status or search with BAD_USER_INPUT', async () => {
      const bare = await server.gql('query($first: Int) { resources(first: $first) { totalCount } }', { first: 501 }, tokens.alice);
      expect(bare.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      for (const variables of [{ first: 0 }, { after: 'bm9wZQ' }, { status: 'COMPLETED' }, { search: 'x'.repeat(65) }, { projectId: 0 }]) {
        const res = await server.gql(PAGE, variables, tokens.alice);
        expect({ variables, code: res.errors?.[0]?.extensions?.code }).toEqual({ variables, code: 'BAD_USER_INPUT' });
      }
      expect((await server.gql('{ resources { totalCount } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await server.gql('{ resourceSummary { rows } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });
}
