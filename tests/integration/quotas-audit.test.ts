/**
 * Quotas, portal limits, usage figures and the audit trail, as a user and an admin see them:
 * an order beyond the account's hosts or vCPU is refused (409 / CONFLICT) and creates nothing,
 * a deletion frees the quota once its teardown finished, a cancel frees it at once and a retry
 * takes it again, an admin can raise it, the portal limit binds admins too, the stats add up,
 * and every step is in the audit trail with actor, action, target, ip and result.
 *
 * The server runs a gated mock runner, so the test can hold a run or a teardown where it wants
 * to look at the quota without racing the runner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { ADMIN, startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { GatedRunner } from '../helpers/test-runners.js';

const ENV = { DEFAULT_QUOTA_HOSTS: '5', DEFAULT_QUOTA_VCPU: '10', DEFAULT_QUOTA_MEMORY_GB: '20', DEFAULT_QUOTA_DISK_GB: '100' };
const USER = { username: 'quota-user', password: 'quota-user-password' };
const PROVISION = `mutation($input: ProvisionInput!) { provision(input: $input) { id } }`;
const AUDIT_FIELDS = 'entries { id at actor action target ip result detail } hasMore nextBefore';
const code = (res: { errors?: any[] }) => res.errors?.[0]?.extensions?.code;

/** What an order takes (catalog sizing: low 1 vCPU 2 GB, mid 4/8, high 8/16, 20 GB disk a host). */
const SIZES = { standardLow: { hosts: 3, vcpu: 3, memory: 6, disk: 60 }, singleHigh: { hosts: 1, vcpu: 8, memory: 16, disk: 20 }, singleMid: { hosts: 1, vcpu: 4, memory: 8, disk: 20 }, singleLow: { hosts: 1, vcpu: 1, memory: 2, disk: 20 } };
type Size = (typeof SIZES)[keyof typeof SIZES];
const order = (serviceName: string, template: string, traffic: string) => ({ serviceName, config: { template, traffic }, targetInfra: 'vsphere' });

for (const backend of await backendsFor('quotas and audit')) {
  describe(`quotas, portal limits, stats and the audit trail (${backend})`, () => {
    let server: TestServer;
    let admin: string;
    let user: string;
    const runner = new GatedRunner();
    /** The project cancelled and retried (for the audit trail). */
    let cancelledId = 0;
    /** Live projects ordered so far, with their sizes: what the stats must add up to. */
    const ledger = new Map<number, Size>();

    async function provisionRest(token: string, body: object, size: Size): Promise<number> {
      const res = await server.request('POST', '/api/provision', { token, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      ledger.set(res.body.project_id, size);
      expect((await waitForFinalStatus(server, res.body.project_id, token)).status).toBe('COMPLETED');
      return res.body.project_id;
    }
    async function refusedRest(token: string, body: object) {
      const res = await server.request('POST', '/api/provision', { token, body });
      expect(res.status).toBe(409);
      return res.body.detail as string;
    }
    const projectCount = async () => (await server.request('GET', '/api/history', { token: admin })).body.length;
    const usedBy = async (token: string) =>
      (await server.gql('query { myQuota { used { usedHosts usedVcpu usedMemory usedDisk } } }', {}, token)).data.myQuota.used;
    const torndown = (id: number) =>
      waitFor(async () => !(await server.request('GET', '/api/history', { token: admin })).body.some((p: any) => p.id === id), 10_000, `project ${id} to be torn down`);

    beforeAll(async () => {
      server = await startTestServer({ backend, env: ENV, runner });
      admin = server.adminToken;
      expect((await server.request('POST', '/api/signup', { body: USER })).status).toBe(200);
      expect((await server.request('POST', `/api/admin/approve-user/${USER.username}`, { token: admin })).status).toBe(200);
      expect((await server.request('POST', '/api/login', { body: { user_id: USER.username, password: 'not-the-password' } })).status).toBe(401);
      user = await server.login(USER.username, USER.password);
    });
    afterAll(async () => {
      runner.releaseAll();
      await server?.close();
    });

    it('refuses a second 3-host order over a 5-host quota (409 / CONFLICT) and creates nothing; a deletion frees it once torn down', async () => {
      const first = await provisionRest(user, order('std-1', 'standard', 'low'), SIZES.standardLow);
      const before = await projectCount();
      const detail = await refusedRest(user, order('std-2', 'standard', 'low'));
      expect(detail).toMatch(/quota/i);
      expect(detail).toContain('hosts 3 + 3 > 5');
      const gql = await server.gql(PROVISION, { input: order('std-2', 'standard', 'low') }, user);
      expect(code(gql)).toBe('CONFLICT');
      expect(gql.errors![0].message).toMatch(/quota/i);
      expect(await projectCount()).toBe(before);
      const mine = (await server.request('GET', '/api/history', { token: user })).body;
      expect(mine.map((p: any) => p.service_name)).toEqual(['std-1']);

      // While the teardown runs (held here after its steps), the project still holds its hosts and its quota.
      const teardown = runner.hold('teardown-done', 'std-1');
      expect((await server.request('DELETE', `/api/provision/${first}`, { token: user })).status).toBe(200);
      await teardown.reached;
      const deleting = (await server.request('GET', '/api/history', { token: user })).body;
      expect(deleting.map((p: any) => [p.id, p.status, p.details.status])).toEqual([[first, 'RUNNING', 'DELETING']]);
      expect(await usedBy(user)).toEqual({ usedHosts: 3, usedVcpu: 3, usedMemory: 6, usedDisk: 60 });
      expect(await refusedRest(user, order('std-3', 'standard', 'low'))).toContain('hosts 3 + 3 > 5');
      teardown.release();
      await torndown(first);
      ledger.delete(first);
      expect(await usedBy(user)).toEqual({ usedHosts: 0, usedVcpu: 0, usedMemory: 0, usedDisk: 0 });
      const again = await provisionRest(user, order('std-3', 'standard', 'low'), SIZES.standardLow);
      expect((await server.gql(`mutation { deleteProject(id: ${again}) }`, {}, user)).data.deleteProject).toBe(true);
      await torndown(again);
      ledger.delete(again);
    });

    it('refuses a mid order over the vCPU quota after a high one; setUserQuota raises it', async () => {
      await provisionRest(user, order('big', 'single', 'high'), SIZES.singleHigh);
      const detail = await refusedRest(user, order('mid', 'single', 'mid'));
      expect(detail).toContain('vCPU 8 + 4 > 10');
      expect(code(await server.gql(PROVISION, { input: order('mid', 'single', 'mid') }, user))).toBe('CONFLICT');

      const SET = `mutation($q: QuotaInput!) { setUserQuota(username: "${USER.username}", quota: $q) { quota { hosts vcpu memoryGb diskGb } } }`;
      expect(code(await server.gql(SET, { q: { vcpu: 100 } }, user))).toBe('FORBIDDEN');
      expect(code(await server.gql(SET, { q: { vcpu: -1 } }, admin))).toBe('BAD_USER_INPUT');
      const raised = await server.gql(SET, { q: { vcpu: 16 } }, admin);
      expect(raised.data.setUserQuota.quota).toEqual({ hosts: 5, vcpu: 16, memoryGb: 20, diskGb: 100 });
      expect(await refusedRest(user, order('mid', 'single', 'mid'))).toContain('memory GB 16 + 8 > 20');
      const rest = await server.request('POST', `/api/admin/users/${USER.username}/quota`, { token: admin, body: { max_ram: 32 } });
      expect(rest.body.quota).toEqual({ max_vms: 5, max_cpu: 16, max_ram: 32, max_disk: 100 });
      await provisionRest(user, order('mid', 'single', 'mid'), SIZES.singleMid);
      const quota = await server.gql('query { myQuota { limit { vcpu memoryGb } used { usedHosts usedVcpu usedMemory usedDisk } } }', {}, user);
      expect(quota.data.myQuota).toEqual({ limit: { vcpu: 16, memoryGb: 32 }, used: { usedHosts: 2, usedVcpu: 12, usedMemory: 24, usedDisk: 40 } });
    });

    it('refuses orders beyond the portal vCPU limit, even for admins', async () => {
      const used = (await server.request('GET', '/api/admin/stats', { token: admin })).body.used_vcpu;
      const SETTINGS = `mutation($input: AdminSettingsInput!, $pw: String!) { updateAdminSettings(input: $input, adminPassword: $pw) { maxVcpu } }`;
      expect(code(await server.gql(SETTINGS, { input: { maxVcpu: used + 2 }, pw: 'wrong-admin-password' }, admin))).toBe('FORBIDDEN');
      expect(code(await server.gql(SETTINGS, { input: { maxVcpu: used + 2 }, pw: ADMIN.password }, user))).toBe('FORBIDDEN');
      const set = await server.gql(SETTINGS, { input: { maxVcpu: used + 2 }, pw: ADMIN.password }, admin);
      expect(set.data.updateAdminSettings.maxVcpu).toBe(used + 2);

      await provisionRest(admin, order('admin-small', 'single', 'low'), SIZES.singleLow);
      const before = await projectCount();
      expect(await refusedRest(admin, order('admin-big', 'standard', 'low'))).toContain(`Portal vCPU limit reached: ${used + 1} + 3 > ${used + 2}`);
      expect(code(await server.gql(PROVISION, { input: order('admin-big', 'standard', 'low') }, admin))).toBe('CONFLICT');
      expect(await refusedRest(user, order('user-small', 'single', 'mid'))).toMatch(/Portal vCPU limit/);
      expect(await projectCount()).toBe(before);

      const restore = await server.request('POST', '/api/admin/settings', { token: admin, body: { max_vcpu: 1_000_000, admin_password: ADMIN.password } });
      expect(restore.body).toEqual({ status: 'success', message: '설정이 저장되었습니다.' });
      await provisionRest(admin, order('admin-big', 'standard', 'low'), SIZES.standardLow);
    });

    it('reports stats that add up to what was ordered (REST /api/admin/stats and GraphQL adminStats); admins only', async () => {
      const sizes = [...ledger.values()];
      const sum = (k: keyof Size) => sizes.reduce((n, s) => n + s[k], 0);
      const stats = await server.request('GET', '/api/admin/stats', { token: admin });
      expect(stats.status).toBe(200);
      expect(stats.body).toEqual({ total_projects: ledger.size, used_vcpu: sum('vcpu'), used_memory: sum('memory'), live_projects: ledger.size, used_hosts: sum('hosts'), used_disk: sum('disk') });
      expect(stats.body).toMatchObject({ total_projects: 4, used_vcpu: 16, used_memory: 32 });
      const gql = await server.gql('query { adminStats { totalProjects usedVcpu usedMemory usedHosts usedDisk } }', {}, admin);
      expect(gql.data.adminStats).toEqual({ totalProjects: ledger.size, usedVcpu: sum('vcpu'), usedMemory: sum('memory'), usedHosts: sum('hosts'), usedDisk: sum('disk') });
      expect((await server.request('GET', '/api/admin/stats', { token: user })).body).toEqual({ detail: '관리자만 접근 가능합니다.' });
      expect(code(await server.gql('query { adminStats { usedVcpu } }', {}, user))).toBe('FORBIDDEN');
    });

    it('frees the quota of a cancelled run at once, and a retry takes it again', async () => {
      const before = await usedBy(user);
      const running = runner.hold('run', 'to-cancel');
      const res = await server.request('POST', '/api/provision', { token: user, body: order('to-cancel', 'single', 'low') });
      expect(res.status).toBe(200);
      cancelledId = res.body.project_id;
      await running.reached;
      const plus = (a: typeof before, s: Size) => ({ usedHosts: a.usedHosts + s.hosts, usedVcpu: a.usedVcpu + s.vcpu, usedMemory: a.usedMemory + s.memory, usedDisk: a.usedDisk + s.disk });
      expect(await usedBy(user)).toEqual(plus(before, SIZES.singleLow));

      const cancel = await server.request('POST', `/api/provision/${cancelledId}/cancel`, { token: user });
      expect(cancel.body).toEqual({ status: 'success', message: `프로젝트 #${cancelledId} 취소 요청`, project_id: cancelledId, project_status: 'RUNNING' });
      const row = await waitForFinalStatus(server, cancelledId, user);
      expect([row.status, row.details.status]).toEqual(['FAILED', 'CANCELLED']); // REST shows CANCELLED as FAILED
      expect(await usedBy(user)).toEqual(before);
      expect(code(await server.gql(`mutation { cancelProvision(id: ${cancelledId}) { status } }`, {}, user))).toBe('CONFLICT');

      running.release();
      const retried = await server.gql(`mutation { retryProvision(id: ${cancelledId}) { id status attempt } }`, {}, user);
      expect(retried.data.retryProvision).toEqual({ id: cancelledId, status: 'PENDING', attempt: 2 });
      expect(await usedBy(user)).toEqual(plus(before, SIZES.singleLow));
      expect((await waitForFinalStatus(server, cancelledId, user)).status).toBe('COMPLETED');
      ledger.set(cancelledId, SIZES.singleLow);
    });

    it('keeps an audit trail of logins, sign-ups, approvals, orders, cancels, retries, deletes, settings and user changes', async () => {
      const res = await server.request('GET', '/api/admin/audit?limit=200', { token: admin });
      expect(res.status).toBe(200);
      const entries: any[] = res.body.entries;
      for (const e of entries) expect(Object.keys(e).sort()).toEqual(['action', 'actor', 'at', 'detail', 'id', 'ip', 'result', 'target']);
      const has = (shape: object) => expect(entries).toContainEqual(expect.objectContaining({ ip: '127.0.0.1', ...shape }));
      has({ action: 'signup', actor: null, target: USER.username, result: 'success' });
      has({ action: 'user.approve', actor: ADMIN.username, target: USER.username, result: 'success' });
      has({ action: 'login', actor: null, target: USER.username, result: 'failure', detail: { reason: 'bad credentials' } });
      has({ action: 'login', actor: USER.username, target: USER.username, result: 'success' });
      has({ action: 'provision', actor: USER.username, result: 'success', detail: { serviceName: 'std-1', owner: USER.username } });
      has({ action: 'provision', actor: USER.username, target: 'std-2', result: 'failure' });
      has({ action: 'project.delete', actor: USER.username, result: 'success', detail: { serviceName: 'std-1', owner: USER.username } });
      has({ action: 'project.cancel', actor: USER.username, target: `project:${cancelledId}`, result: 'success', detail: { status: 'RUNNING' } });
      has({ action: 'project.retry', actor: USER.username, target: `project:${cancelledId}`, result: 'success', detail: { attempt: 2 } });
      has({ action: 'user.quota', actor: ADMIN.username, target: USER.username, result: 'success', detail: { vcpu: 16 } });
      has({ action: 'settings.update', actor: ADMIN.username, target: 'settings', result: 'success', detail: { changed: ['maxVcpu'] } });
      has({ action: 'settings.update', actor: ADMIN.username, result: 'failure' });
      expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => b - a));
      expect(JSON.stringify(entries)).not.toContain(USER.password);
      expect(JSON.stringify(entries)).not.toContain(ADMIN.password);
    });

    it('filters the audit trail by action, actor and result, and pages it with `before` (REST and GraphQL)', async () => {
      const get = async (query: string) => (await server.request('GET', `/api/admin/audit?${query}`, { token: admin })).body;
      const failures = await get('action=login&result=failure');
      expect(failures.entries.length).toBeGreaterThan(0);
      expect(failures.entries.every((e: any) => e.action === 'login' && e.result === 'failure')).toBe(true);
      const byUser = await get(`actor=${USER.username}`);
      expect(byUser.entries.length).toBeGreaterThan(3);
      expect(byUser.entries.every((e: any) => e.actor === USER.username)).toBe(true);
      expect(await get('action=user.approve&limit=1')).toMatchObject({ has_more: false, next_before: null });

      const six = (await get('limit=6')).entries.map((e: any) => e.id);
      const page1 = await get('limit=3');
      expect(page1.has_more).toBe(true);
      expect(page1.next_before).toBe(page1.entries[2].id);
      const page2 = await get(`limit=3&before=${page1.next_before}`);
      expect([...page1.entries, ...page2.entries].map((e: any) => e.id)).toEqual(six);
      expect((await server.request('GET', '/api/admin/audit?limit=abc', { token: admin })).status).toBe(422);
      expect((await server.request('GET', '/api/admin/audit?result=maybe', { token: admin })).status).toBe(422);

      const AUDIT = `query($first: Int, $before: Int, $action: String, $actor: String, $result: String) { auditLog(first: $first, before: $before, action: $action, actor: $actor, result: $result) { ${AUDIT_FIELDS} } }`;
      const signups = await server.gql(AUDIT, { action: 'signup' }, admin);
      expect(signups.data.auditLog.entries).toEqual([expect.objectContaining({ action: 'signup', target: USER.username, ip: '127.0.0.1', result: 'success' })]);
      const g1 = (await server.gql(AUDIT, { first: 3 }, admin)).data.auditLog;
      const g2 = (await server.gql(AUDIT, { first: 3, before: g1.nextBefore }, admin)).data.auditLog;
      expect([...g1.entries, ...g2.entries].map((e: any) => e.id)).toEqual(six);
      const mine = (await server.gql(AUDIT, { actor: ADMIN.username, result: 'failure' }, admin)).data.auditLog.entries;
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((e: any) => e.actor === ADMIN.username && e.result === 'failure')).toBe(true);

      expect(await server.request('GET', '/api/admin/audit', { token: user })).toMatchObject({ status: 403, body: { detail: '관리자만 접근 가능합니다.' } });
      expect((await server.request('GET', '/api/admin/audit')).status).toBe(401);
      expect(code(await server.gql(AUDIT, {}, user))).toBe('FORBIDDEN');
      expect(code(await server.gql(AUDIT, {}))).toBe('UNAUTHENTICATED');
    });
  });
}
