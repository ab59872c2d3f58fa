/**
 * Pool management by admins, over GraphQL and REST, on SQLite and PostgreSQL: only admins
 * (a user is FORBIDDEN / 403, no token UNAUTHENTICATED / 401); hosts added all or none, with every
 * problem of a batch answered at once and nothing stored; a held host cannot be removed (409
 * naming its project), a free one can; a drained host is never given to an order; a host
 * drained while held is drained once its project is deleted or cancelled; undrain; key reset;
 * a check without SSH credentials says so on the host; every change is in the audit trail; and a
 * removed host stays removed after a restart.
 *
 * The pool: 3 vSphere hosts (orders take them) and 2 AWS hosts (the add / remove / list tests
 * work there, so the vSphere counts stay known). A gated runner holds a run where a test needs
 * a host to stay taken.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../server/db/sql.js';
import { NO_SSH_CREDENTIALS } from '../../server/services/pool-admin.js';
import { ADMIN_ONLY } from '../../server/services/settings.js';
import { backendsFor } from '../helpers/backends.js';
import { removeDataDir, reuseOf } from '../helpers/data.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { GatedRunner } from '../helpers/test-runners.js';

const POOL = [
  { vm_name: 'WK-1', ip_address: '10.61.0.1', infra: 'vsphere' },
  { vm_name: 'WK-2', ip_address: '10.61.0.2', infra: 'vsphere' },
  { vm_name: 'WK-3', ip_address: '10.61.0.3', infra: 'vsphere' },
  { vm_name: 'EC2-A', ip_address: '10.62.0.1', infra: 'aws' },
  { vm_name: 'EC2-B', ip_address: '10.62.0.2', infra: 'aws' },
];
const HOST = 'id vmName ipAddress infra status projectId owner drainRequested hostKeySet hostKeyFingerprints checkedAt checkOk checkMessage updatedAt';
const LIST = `query($first: Int, $after: String, $infra: InfraType, $status: PoolHostStatus, $search: String) {
  poolHosts(first: $first, after: $after, infra: $infra, status: $status, search: $search) { totalCount nodes { ${HOST} } edges { cursor } pageInfo { hasNextPage endCursor } } }`;
const ADD = `mutation($hosts: [PoolHostInput!]!) { addPoolHosts(hosts: $hosts) { ${HOST} } }`;
const REMOVE = `mutation($id: Int!) { removePoolHost(id: $id) { ${HOST} } }`;
const DRAIN = `mutation($id: Int!) { drainPoolHost(id: $id) { ${HOST} } }`;
const UNDRAIN = `mutation($id: Int!) { undrainPoolHost(id: $id) { ${HOST} } }`;
const RESET_KEY = `mutation($id: Int!) { resetPoolHostKey(id: $id) { ${HOST} } }`;
const CHECK = `mutation($ids: [Int!]!) { checkPoolHosts(ids: $ids) { ${HOST} } }`;
const AUDIT = `query($action: String) { auditLog(action: $action, first: 50) { entries { actor action target result detail } } }`;
const ED25519_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const code = (res: { errors?: any[] }) => res.errors?.[0]?.extensions?.code;

for (const backend of await backendsFor('pool admin')) {
  describe(`pool management by admins (${backend})`, () => {
    let server: TestServer;
    let dir: string;
    let admin: string;
    let user: string;
    const runner = new GatedRunner();
    /** The first server, once the restart test stopped it (its SQLite file lives in its directory). */
    let stopped: TestServer | undefined;

    const gqlOk = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await server.gql(query, variables, admin);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      return res.data;
    };
    const list = async (variables: Record<string, unknown> = {}) => (await gqlOk(LIST, { first: 100, ...variables })).poolHosts;
    const hostBy = async (ip: string) => (await list({ search: ip })).nodes.find((h: any) => h.ipAddress === ip);
    const order = async (serviceName: string) =>
      server.request('POST', '/api/provision', { token: admin, body: { serviceName, config: { template: 'single' }, targetInfra: 'vsphere' } });
    const audited = async (action: string) => (await gqlOk(AUDIT, { action })).auditLog.entries;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hcmp-pool-admin-'));
      writeFileSync(join(dir, 'pool.json'), JSON.stringify(POOL));
      server = await startTestServer({ backend, runner, env: { WORKLOAD_POOL_FILE: join(dir, 'pool.json') } });
      admin = server.adminToken;
      user = await server.createUser('pool-user');
    });
    afterAll(async () => {
      runner.releaseAll();
      await server?.close();
      removeDataDir(stopped);
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses every pool operation to a user (FORBIDDEN / 403) and to a caller without a token (UNAUTHENTICATED / 401), and changes nothing', async () => {
      const before = await list();
      const id = before.nodes[0].id;
      const operations: [string, Record<string, unknown>][] = [
        [LIST, {}],
        [ADD, { hosts: [{ vmName: 'sneaky', ipAddress: '10.62.0.99', infra: 'aws' }] }],
        [REMOVE, { id }],
        [DRAIN, { id }],
        [UNDRAIN, { id }],
        [RESET_KEY, { id }],
        [CHECK, { ids: [id] }],
      ];
      for (const [query, variables] of operations) {
        const asUser = await server.gql(query, variables, user);
        expect([code(asUser), asUser.errors?.[0].message, asUser.data ?? null]).toEqual(['FORBIDDEN', ADMIN_ONLY, null]);
        const anonymous = await server.gql(query, variables);
        expect([code(anonymous), anonymous.data ?? null]).toEqual(['UNAUTHENTICATED', null]);
      }
      const rest: [string, string, unknown?][] = [
        ['GET', '/api/admin/pool'],
        ['POST', '/api/admin/pool', { hosts: [{ vm_name: 'sneaky', ip_address: '10.62.0.99', infra: 'aws' }] }],
        ['DELETE', `/api/admin/pool/${id}`],
        ['POST', `/api/admin/pool/${id}/drain`],
        ['POST', `/api/admin/pool/${id}/undrain`],
        ['POST', `/api/admin/pool/${id}/reset-host-key`],
        ['POST', '/api/admin/pool/check', { ids: [id] }],
        // access comes first: a malformed id is still 403 / 401
        ['POST', '/api/admin/pool/not-a-number/drain'],
      ];
      for (const [method, path, body] of rest) {
        expect([path, (await server.request(method, path, { token: user, body })).status]).toEqual([path, 403]);
        expect([path, (await server.request(method, path, { body })).status]).toEqual([path, 401]);
      }
      expect(await list()).toEqual(before);
    });

    it('lists hosts lowest id first with filters, search and keyset pages, and the total of every match', async () => {
      const all = await list();
      expect(all.totalCount).toBe(5);
      expect(all.nodes.map((h: any) => h.vmName)).toEqual(['WK-1', 'WK-2', 'WK-3', 'EC2-A', 'EC2-B']);
      expect(all.nodes[0]).toMatchObject({ infra: 'vsphere', status: 'available', projectId: null, owner: null, drainRequested: false, hostKeySet: false, hostKeyFingerprints: [], checkedAt: null, checkOk: null, checkMessage: null });

      const aws = await list({ infra: 'aws' });
      expect([aws.totalCount, aws.nodes.map((h: any) => h.ipAddress)]).toEqual([2, ['10.62.0.1', '10.62.0.2']]);
      expect((await list({ search: 'ec2-' })).nodes.map((h: any) => h.vmName)).toEqual(['EC2-A', 'EC2-B']);
      expect((await list({ search: '10.61.0.3' })).nodes.map((h: any) => h.vmName)).toEqual(['WK-3']);
      // LIKE wildcards are matched as themselves
      expect((await list({ search: '%' })).totalCount).toBe(0);
      expect((await list({ status: 'drained' })).totalCount).toBe(0);

      const first = await list({ first: 2 });
      expect([first.totalCount, first.nodes.length, first.pageInfo.hasNextPage]).toEqual([5, 2, true]);
      const second = await list({ first: 2, after: first.pageInfo.endCursor });
      const third = await list({ first: 2, after: second.pageInfo.endCursor });
      expect([...first.nodes, ...second.nodes, ...third.nodes].map((h: any) => h.id)).toEqual(all.nodes.map((h: any) => h.id));
      expect(third.pageInfo.hasNextPage).toBe(false);

      const rest = await server.request('GET', '/api/admin/pool?limit=2&infra=vsphere', { token: admin });
      expect(rest.status).toBe(200);
      expect([rest.body.total_count, rest.body.has_more, rest.body.hosts.map((h: any) => h.vm_name)]).toEqual([3, true, ['WK-1', 'WK-2']]);
      expect(rest.body.hosts[0]).toMatchObject({ ip_address: '10.61.0.1', infra: 'vsphere', status: 'available', project_id: null, drain_requested: false, host_key_set: false, check_ok: null });
      const next = await server.request('GET', `/api/admin/pool?limit=2&infra=vsphere&after=${rest.body.next_after}`, { token: admin });
      expect([next.body.hosts.map((h: any) => h.vm_name), next.body.has_more, next.body.next_after]).toEqual([['WK-3'], false, null]);

      const bad = await server.request('GET', '/api/admin/pool?status=gone&infra=moon', { token: admin });
      expect(bad.status).toBe(422);
      expect(bad.body.detail.map((i: any) => i.loc.join('.')).sort()).toEqual(['query.infra', 'query.status']);
      for (const limit of ['0', '501', 'x']) {
        const refused = await server.request('GET', `/api/admin/pool?limit=${limit}`, { token: admin });
        expect([refused.status, refused.body.detail[0].loc]).toEqual([422, ['query', 'limit']]);
      }
      expect(code(await server.gql(LIST, { first: 0 }, admin))).toBe('BAD_USER_INPUT');
    });

    it('answers every problem of a batch at once and stores nothing when anything is wrong', async () => {
      const hosts = [
        { vmName: 'good-1', ipAddress: '10.62.1.1', infra: 'aws' },
        { vmName: 'bad name!', ipAddress: '10.62.1.2', infra: 'aws' },
        { vmName: 'good-3', ipAddress: '10.62.1.300', infra: 'aws' },
        { vmName: 'good-4', ipAddress: '10.62.1.1', infra: 'aws' },
        { vmName: 'good-5', ipAddress: '10.62.0.1', infra: 'aws' },
        { vmName: '', ipAddress: '010.62.1.6', infra: 'aws' },
      ];
      const res = await server.gql(ADD, { hosts }, admin);
      expect(code(res)).toBe('BAD_USER_INPUT');
      const issues = res.errors![0].extensions.issues.map((i: any) => [i.loc.join('.'), i.type]);
      expect(issues).toEqual([
        ['body.hosts.1.vm_name', 'string_pattern_mismatch'],
        ['body.hosts.2.ip_address', 'value_error'],
        ['body.hosts.3.ip_address', 'value_error.duplicate'],
        ['body.hosts.4.ip_address', 'value_error.exists'],
        ['body.hosts.5.vm_name', 'string_pattern_mismatch'],
        ['body.hosts.5.ip_address', 'value_error'],
      ]);
      expect((await list()).totalCount).toBe(5);

      // REST: the same batch in snake_case, plus a bad infrastructure, as FastAPI's 422
      const rest = await server.request('POST', '/api/admin/pool', {
        token: admin,
        body: { hosts: [...hosts.map((h) => ({ vm_name: h.vmName, ip_address: h.ipAddress, infra: h.infra })), { vm_name: 'moon-1', ip_address: '10.62.1.7', infra: 'moon' }] },
      });
      expect(rest.status).toBe(422);
      expect(rest.body.detail).toHaveLength(7);
      expect(rest.body.detail.at(-1)).toEqual({ loc: ['body', 'hosts', 6, 'infra'], msg: 'must be one of aws, vsphere', type: 'enum' });
      for (const body of [{}, { hosts: [] }, { hosts: 'x' }, []]) {
        expect((await server.request('POST', '/api/admin/pool', { token: admin, body })).status).toBe(422);
      }
      expect((await list()).totalCount).toBe(5);
    });

    it('adds one host over GraphQL and a list over REST; an address already in the pool is refused on its own', async () => {
      const one = await gqlOk(ADD, { hosts: [{ vmName: 'EC2-C', ipAddress: '10.62.0.3', infra: 'aws' }] });
      expect(one.addPoolHosts).toEqual([expect.objectContaining({ vmName: 'EC2-C', ipAddress: '10.62.0.3', infra: 'aws', status: 'available' })]);
      const many = await server.request('POST', '/api/admin/pool', {
        token: admin,
        body: { hosts: [{ vm_name: 'EC2-D', ip_address: '10.62.0.4', infra: 'aws' }, { vm_name: 'EC2-E', ip_address: '10.62.0.5', infra: 'aws' }] },
      });
      expect(many.status).toBe(200);
      expect(many.body.hosts.map((h: any) => [h.vm_name, h.status])).toEqual([['EC2-D', 'available'], ['EC2-E', 'available']]);
      expect((await list({ infra: 'aws' })).totalCount).toBe(5);

      const again = await server.request('POST', '/api/admin/pool', { token: admin, body: { hosts: [{ vm_name: 'EC2-again', ip_address: '10.62.0.4', infra: 'aws' }] } });
      expect([again.status, again.body.detail.map((i: any) => i.type)]).toEqual([422, ['value_error.exists']]);
      expect(again.body.detail[0].msg).toContain('EC2-D');
      expect((await list({ infra: 'aws' })).totalCount).toBe(5);
    });

    it('removes a free host, refuses a held one with 409 naming its project, and answers an unknown id 404', async () => {
      const free = await hostBy('10.62.0.5');
      const removed = await server.request('DELETE', `/api/admin/pool/${free.id}`, { token: admin });
      expect([removed.status, removed.body.host.ip_address]).toEqual([200, '10.62.0.5']);
      expect(await hostBy('10.62.0.5')).toBeUndefined();
      expect((await server.request('DELETE', `/api/admin/pool/${free.id}`, { token: admin })).status).toBe(404);
      expect(code(await server.gql(REMOVE, { id: free.id }, admin))).toBe('NOT_FOUND');
      expect((await server.request('DELETE', '/api/admin/pool/abc', { token: admin })).status).toBe(422);

      const gate = runner.hold('run', 'held-for-remove');
      const ordered = await order('held-for-remove');
      expect(ordered.status).toBe(200);
      await gate.reached;
      const held = (await list({ status: 'provisioning' })).nodes[0];
      expect(held.projectId).toBe(ordered.body.project_id);
      const refused = await server.request('DELETE', `/api/admin/pool/${held.id}`, { token: admin });
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain(`project #${ordered.body.project_id}`);
      const gql = await server.gql(REMOVE, { id: held.id }, admin);
      expect([code(gql), gql.errors![0].extensions.projectId]).toEqual(['CONFLICT', ordered.body.project_id]);
      expect((await hostBy(held.ipAddress)).status).toBe('provisioning');
      gate.release();
      expect((await waitForFinalStatus(server, ordered.body.project_id, admin)).status).toBe('COMPLETED');
      // a completed project's host is held too
      expect((await server.request('DELETE', `/api/admin/pool/${held.id}`, { token: admin })).status).toBe(409);
      expect((await server.request('DELETE', `/api/provision/${ordered.body.project_id}`, { token: admin })).status).toBe(200);
      await waitFor(async () => (await hostBy(held.ipAddress)).status === 'available', 10_000, 'the host to be given back');
    });

    it('never gives a drained host to an order: with the other hosts taken, the next order is refused as pool exhausted', async () => {
      const target = await hostBy('10.61.0.1');
      const drained = (await gqlOk(DRAIN, { id: target.id })).drainPoolHost;
      expect([drained.status, drained.drainRequested]).toEqual(['drained', false]);
      // idempotent
      expect((await gqlOk(DRAIN, { id: target.id })).drainPoolHost.status).toBe('drained');
      expect((await gqlOk('{ workloadPool { infra available drained total } }')).workloadPool.find((p: any) => p.infra === 'vsphere')).toEqual({ infra: 'vsphere', available: 2, drained: 1, total: 3 });

      const taken: number[] = [];
      for (const name of ['fill-1', 'fill-2']) {
        const res = await order(name);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        taken.push(res.body.project_id);
      }
      const exhausted = await order('one-too-many');
      expect([exhausted.status, exhausted.body]).toEqual([409, { detail: '1 hosts needed, 0 available' }]);
      expect(await hostBy('10.61.0.1')).toMatchObject({ status: 'drained', projectId: null, owner: null });
      for (const id of taken) await waitForFinalStatus(server, id, admin);
      for (const id of taken) expect((await server.request('DELETE', `/api/provision/${id}`, { token: admin })).status).toBe(200);
      await waitFor(async () => (await list({ infra: 'vsphere', status: 'available' })).totalCount === 2, 10_000, 'the fill hosts to come back');

      const undrained = (await server.request('POST', `/api/admin/pool/${target.id}/undrain`, { token: admin })).body.host;
      expect([undrained.status, undrained.drain_requested]).toEqual(['available', false]);
      expect((await list({ infra: 'vsphere', status: 'available' })).totalCount).toBe(3);
    });

    it('drains a held host when its project is deleted, and when it is cancelled; undrain withdraws a requested drain', async () => {
      // deleted
      const gate = runner.hold('run', 'drain-on-delete');
      const ordered = await order('drain-on-delete');
      await gate.reached;
      const held = (await list({ status: 'provisioning' })).nodes[0];
      const requested = await server.request('POST', `/api/admin/pool/${held.id}/drain`, { token: admin });
      expect(requested.body.host).toMatchObject({ status: 'provisioning', drain_requested: true, project_id: ordered.body.project_id });
      gate.release();
      await waitForFinalStatus(server, ordered.body.project_id, admin);
      expect(await hostBy(held.ipAddress)).toMatchObject({ status: 'assigned', drainRequested: true });
      expect((await server.request('DELETE', `/api/provision/${ordered.body.project_id}`, { token: admin })).status).toBe(200);
      await waitFor(async () => (await hostBy(held.ipAddress)).status === 'drained', 10_000, 'the host to be drained');
      expect(await hostBy(held.ipAddress)).toMatchObject({ status: 'drained', drainRequested: false, projectId: null });
      expect((await gqlOk(UNDRAIN, { id: held.id })).undrainPoolHost).toMatchObject({ status: 'available', drainRequested: false });

      // cancelled
      const gate2 = runner.hold('run', 'drain-on-cancel');
      const second = await order('drain-on-cancel');
      await gate2.reached;
      const held2 = (await list({ status: 'provisioning' })).nodes[0];
      await gqlOk(DRAIN, { id: held2.id });
      expect((await server.request('POST', `/api/provision/${second.body.project_id}/cancel`, { token: admin })).status).toBe(200);
      gate2.release();
      await waitFor(async () => (await hostBy(held2.ipAddress)).status === 'drained', 10_000, 'the cancelled host to be drained');
      await gqlOk(UNDRAIN, { id: held2.id });

      // a requested drain withdrawn before the project gives the host back
      const gate3 = runner.hold('run', 'drain-withdrawn');
      const third = await order('drain-withdrawn');
      await gate3.reached;
      const held3 = (await list({ status: 'provisioning' })).nodes[0];
      await gqlOk(DRAIN, { id: held3.id });
      expect((await gqlOk(UNDRAIN, { id: held3.id })).undrainPoolHost).toMatchObject({ status: 'provisioning', drainRequested: false });
      gate3.release();
      await waitForFinalStatus(server, third.body.project_id, admin);
      expect((await server.request('DELETE', `/api/provision/${third.body.project_id}`, { token: admin })).status).toBe(200);
      await waitFor(async () => (await hostBy(held3.ipAddress)).status === 'available', 10_000, 'the host to come back into service');
      expect((await list({ infra: 'vsphere', status: 'available' })).totalCount).toBe(3);
      expect(code(await server.gql(DRAIN, { id: 999_999 }, admin))).toBe('NOT_FOUND');
    });

    it("resets a host's recorded key, and a check without SSH credentials says so on the host", async () => {
      const host = await hostBy('10.62.0.2');
      await sql(server.app.services.sqlDb, 'update workload_pool set host_key = ? where id = ?', [`10.62.0.2 ${ED25519_LINE}`, host.id], 'run');
      const withKey = await hostBy('10.62.0.2');
      expect(withKey.hostKeySet).toBe(true);
      expect(withKey.hostKeyFingerprints).toEqual([expect.stringMatching(/^ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}$/)]);
      const reset = await server.request('POST', `/api/admin/pool/${host.id}/reset-host-key`, { token: admin });
      expect(reset.body.host).toMatchObject({ host_key_set: false, host_key_fingerprints: [] });
      expect(code(await server.gql(RESET_KEY, { id: 999_999 }, admin))).toBe('NOT_FOUND');

      const checked = (await gqlOk(CHECK, { ids: [host.id] })).checkPoolHosts;
      expect(checked).toEqual([expect.objectContaining({ id: host.id, checkOk: false, checkMessage: NO_SSH_CREDENTIALS })]);
      expect(Date.now() - Date.parse(checked[0].checkedAt)).toBeLessThan(60_000);
      expect(await hostBy('10.62.0.2')).toMatchObject({ checkOk: false, checkMessage: NO_SSH_CREDENTIALS });
      const rest = await server.request('POST', '/api/admin/pool/check', { token: admin, body: { ids: [host.id, 999_999] } });
      expect(rest.status).toBe(404);
      expect((await server.request('POST', '/api/admin/pool/check', { token: admin, body: { ids: [] } })).status).toBe(422);
    });

    it('records every change in the audit trail with the admin, the host and the result', async () => {
      const add = await audited('pool.add');
      expect(add.map((e: any) => [e.actor, e.result])).toEqual(expect.arrayContaining([['admin', 'success'], ['admin', 'failure']]));
      expect(add.find((e: any) => e.result === 'success' && e.detail.count === 2).detail.addresses).toEqual(['10.62.0.4', '10.62.0.5']);
      const removes = await audited('pool.remove');
      expect(removes.find((e: any) => e.result === 'success').detail).toEqual({ vm_name: 'EC2-E', ip_address: '10.62.0.5' });
      expect(removes.find((e: any) => e.result === 'failure').detail.reason).toMatch(/held by project #\d+/);
      expect((await audited('pool.drain')).filter((e: any) => e.result === 'success').length).toBeGreaterThanOrEqual(4);
      expect((await audited('pool.undrain')).length).toBeGreaterThanOrEqual(3);
      expect((await audited('pool.reset_host_key')).map((e: any) => e.result)).toEqual(['failure', 'success']);
      expect((await audited('pool.check')).map((e: any) => [e.result, e.detail])).toEqual([
        ['failure', { reason: expect.stringContaining('1 to 50') }],
        ['failure', { reason: expect.stringContaining('#999999') }],
        ['success', { ok: 0, failed: 1 }],
      ]);
      // refusals of non-admins are not admin actions: nothing by pool-user
      const byUser = (await gqlOk(`{ auditLog(actor: "pool-user", first: 50) { entries { action } } }`)).auditLog.entries;
      expect(byUser.filter((e: any) => e.action.startsWith('pool.'))).toEqual([]);
    });

    it('keeps a removed host out after a restart: the configured pool only fills an empty one', async () => {
      const gone = await hostBy('10.62.0.1');
      expect((await server.request('DELETE', `/api/admin/pool/${gone.id}`, { token: admin })).status).toBe(200);
      const before = await list();
      await server.close(true);
      stopped = server;
      server = await startTestServer({ backend, runner, env: { WORKLOAD_POOL_FILE: join(dir, 'pool.json') }, reuse: reuseOf(stopped) });
      admin = server.adminToken;
      const after = await list();
      expect(after.nodes.map((h: any) => h.ipAddress)).toEqual(before.nodes.map((h: any) => h.ipAddress));
      expect(await hostBy('10.62.0.1')).toBeUndefined();
    });
  });
}
