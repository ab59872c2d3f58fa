import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../server/config/catalog.js';
import { backendsFor } from '../helpers/backends.js';
import { checkedAgainstDocument, type CheckedServer } from '../helpers/openapi.js';
import { startTestServer, waitFor, waitForFinalStatus } from '../helpers/server.js';
import { GatedRunner } from '../helpers/test-runners.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/contract/${name}.json`, import.meta.url), 'utf8'));
const provisionContract = fixture('provision');
const historyContract = fixture('history');
const loginContract = fixture('login');
const resourcesContract = fixture('my-resources');
const deleteContract = fixture('delete');

const keysOf = (o: object) => Object.keys(o).sort();
/** What the mock runner's teardown logs: its steps undone in reverse order. */
const TEARDOWN_LOGS = [...loadCatalog().mockSteps].reverse().map((s) => s.teardownLog);

for (const backend of await backendsFor('REST flow')) {
  describe(`REST flow as an old client does it (${backend})`, () => {
    /** Every REST answer is checked against the OpenAPI document (tests/helpers/openapi.ts). */
    let server: CheckedServer;
    let token: string;
    const runner = new GatedRunner();

    beforeAll(async () => {
      server = await checkedAgainstDocument(await startTestServer({ backend, runner }));
      const res = await server.request('POST', '/api/login', { body: { user_id: 'admin', password: 'admin-test-password' } });
      expect(res.status).toBe(200);
      expect(keysOf(res.body)).toEqual(keysOf(loginContract.success.body));
      expect(res.body).toMatchObject({ status: 'success', message: 'Login Approved', token_type: 'bearer', role: 'admin' });
      token = res.body.access_token;
    });
    afterAll(async () => {
      runner.releaseAll();
      await server?.close();
    });

    it('accepts `username` as an alias of `user_id`', async () => {
      const res = await server.request('POST', '/api/login', { body: { username: 'admin', password: 'admin-test-password' } });
      expect(res.status).toBe(200);
    });

    it('answers bad credentials with 401 and the original detail', async () => {
      const res = await server.request('POST', '/api/login', { body: { user_id: 'admin', password: 'wrong-password' } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(loginContract.bad_credentials.body);
    });

    it('serves public settings without a login', async () => {
      const res = await server.request('GET', '/api/public/settings');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ system_notice: '', maintenance_mode: false });
    });

    it('provisions, completes, lists resources and deletes (a teardown shown as RUNNING until it is gone) with the contract shapes', async () => {
      const pool = async () => (await server.request('GET', '/api/monitoring/my-resources', { token })).body as any[];
      const freeBefore = (await pool()).filter((r) => r.status === 'Available').length;

      const created = await server.request('POST', '/api/provision', { token, body: provisionContract.request.body });
      expect(created.status).toBe(200);
      expect(keysOf(created.body)).toEqual(keysOf(provisionContract.success.body));
      const id = created.body.project_id;
      expect(created.body).toEqual({ status: 'success', message: `프로젝트 #${id} 생성 시작`, project_id: id });

      const row = await waitForFinalStatus(server, id, token);
      expect(keysOf(row)).toEqual(keysOf(historyContract.success.body[1]));
      expect(row.status).toBe('COMPLETED');
      expect(row.service_name).toBe('shop-web');
      expect(row.template_type).toBe('standard');
      expect(row.owner).toBe('admin');
      expect(row.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      const d = row.details;
      expect(keysOf(d)).toEqual(keysOf(historyContract.success.body[1].details));
      expect(d.status).toBe('COMPLETED');
      expect(d.infra).toEqual({ type: 'aws', region: 'ap-northeast-2' });
      expect(d.input).toEqual({ ...provisionContract.request.body, userName: 'admin' });
      expect(d.logs).toEqual(historyContract.success.body[1].details.logs);
      expect(d.error).toBeNull();
      expect(d.resources.ssh_targets).toHaveLength(3);
      expect(d.resources.alb_ip).toBe(d.resources.ssh_targets[0].host);
      expect(row.assigned_ip).toBe(d.resources.alb_ip);
      expect(d.resources.web_url).toBe('https://shop-web.mock.example.com');
      expect(d.resources.db_vip).toBe('db-shop-web.vip.mock.local');
      for (const t of d.resources.ssh_targets) expect(t).toMatchObject({ port: 22, user: 'ubuntu' });

      const rows = await pool();
      for (const r of rows) expect(keysOf(r)).toEqual(keysOf(resourcesContract.success.body[0]));
      const hostRows = rows.filter((r) => r.project_name === 'shop-web' && r.vm_name.startsWith('EC2-'));
      expect(hostRows.map((r) => r.ip_address).sort()).toEqual(d.resources.ssh_targets.map((t: any) => t.host).sort());
      expect(hostRows.every((r) => r.status === 'Running')).toBe(true);
      const derived = rows.filter((r) => r.project_name === 'shop-web' && !r.vm_name.startsWith('EC2-'));
      expect(derived.map((r) => r.vm_name)).toEqual(['ALB', 'Web', 'DB', 'SSH-1', 'SSH-2', 'SSH-3']);
      expect(derived.find((r) => r.vm_name === 'Web').ip_address).toBe(d.resources.web_url);
      expect(derived.every((r) => r.status === 'Running' && r.cpu_usage === 0)).toBe(true);
      expect(rows.filter((r) => r.status === 'Available').length).toBe(freeBefore - 3);

      // The delete answers at once; the teardown is held here after its steps, before the hosts return.
      const teardown = runner.hold('teardown-done', 'shop-web');
      const deleted = await server.request('DELETE', `/api/provision/${id}`, { token });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual(deleteContract.success.body);
      await teardown.reached;
      const deleting = (await server.request('GET', '/api/history', { token })).body.find((p: any) => p.id === id);
      expect(keysOf(deleting)).toEqual(keysOf(historyContract.success.body[1]));
      expect(deleting.status).toBe('RUNNING'); // old clients know no DELETING: work in progress, hosts still held
      expect(deleting.details.status).toBe('DELETING');
      const teardownLogs = deleting.details.logs.slice(d.logs.length);
      expect(teardownLogs.slice(0, 2)).toEqual(['Delete requested by admin', expect.stringMatching(/^Tearing down \(instance .+\)$/)]);
      expect(teardownLogs.slice(2)).toEqual(TEARDOWN_LOGS);
      expect((await pool()).filter((r) => r.status === 'Available').length).toBe(freeBefore - 3);
      // Deleting again while the teardown runs changes nothing and answers the same.
      expect(await server.request('DELETE', `/api/provision/${id}`, { token })).toMatchObject({ status: 200, body: deleteContract.success.body });
      expect((await server.request('GET', '/api/history', { token })).body.find((p: any) => p.id === id)).toEqual(deleting);

      teardown.release();
      await waitFor(async () => !(await server.request('GET', '/api/history', { token })).body.some((p: any) => p.id === id), 10_000, 'the teardown');
      const after = await pool();
      expect(after.filter((r) => r.project_name === 'shop-web')).toEqual([]);
      expect(after.filter((r) => r.status === 'Available').length).toBe(freeBefore);

      const again = await server.request('DELETE', `/api/provision/${id}`, { token });
      expect(again.status).toBe(404);
      expect(again.body).toEqual(deleteContract.unknown_id.body);
    });

    it("accepts the original console's request: no userName, empty targetInfra (AWS), extra config keys kept", async () => {
      const body = provisionContract.request_from_original_console.body;
      const created = await server.request('POST', '/api/provision', { token, body });
      expect(created.status).toBe(200);
      const row = await waitForFinalStatus(server, created.body.project_id, token);
      expect(row.status).toBe('COMPLETED');
      expect(row.details.infra).toEqual({ type: 'aws' });
      expect(row.details.input.userName).toBe('admin');
      expect(row.details.config.instanceCost).toBe(25);
      expect(row.details.resources.ssh_targets).toHaveLength(2);
    });

    it('serves the same list on /api/api/history and /api/projects, newest first, with limit and status', async () => {
      const ids: number[] = [];
      for (const name of ['list-a', 'list-b', 'list-c']) {
        const res = await server.request('POST', '/api/provision', { token, body: { serviceName: name, config: { template: 'single' }, targetInfra: 'vsphere' } });
        ids.push(res.body.project_id);
      }
      for (const id of ids) await waitForFinalStatus(server, id, token);
      const main = await server.request('GET', '/api/history', { token });
      const alias = await server.request('GET', '/api/api/history', { token });
      const projects = await server.request('GET', '/api/projects', { token });
      expect(alias.body).toEqual(main.body);
      expect(projects.body).toEqual(main.body);
      const listed = main.body.map((p: any) => p.id);
      expect(listed).toEqual([...listed].sort((a: number, b: number) => b - a));
      const two = await server.request('GET', '/api/history?limit=2', { token });
      expect(two.body.map((p: any) => p.id)).toEqual([ids[2], ids[1]]);
      const completed = await server.request('GET', '/api/history?status=COMPLETED', { token });
      expect(completed.body.length).toBeGreaterThanOrEqual(3);
      expect(completed.body.every((p: any) => p.status === 'COMPLETED')).toBe(true);
      expect(main.body.find((p: any) => p.id === ids[0]).details.infra).toEqual({ type: 'vsphere' });
    });

    it('fails a run at the injected step with the error, and returns its hosts; a retry runs it again, keeping its history', async () => {
      const created = await server.request('POST', '/api/provision', {
        token,
        body: { serviceName: 'will-fail', config: { template: 'standard', mockFailAt: 'db' }, targetInfra: { type: 'vsphere' } },
      });
      const row = await waitForFinalStatus(server, created.body.project_id, token);
      expect(row.status).toBe('FAILED');
      expect(row.details.status).toBe('FAILED');
      expect(row.details.error.message).toMatch(/step "db"/);
      expect(row.details.logs.at(-1)).toBe(`Error: ${row.details.error.message}`);
      expect(row.details.resources).toBeNull();
      const rows = (await server.request('GET', '/api/monitoring/my-resources', { token })).body as any[];
      expect(rows.filter((r) => r.project_name === 'will-fail')).toEqual([]);

      const id = created.body.project_id;
      const retried = await server.request('POST', `/api/provision/${id}/retry`, { token });
      expect(retried.body).toEqual({ status: 'success', message: `프로젝트 #${id} 재시도 시작`, project_id: id, project_status: 'PENDING' });
      const again = await waitForFinalStatus(server, id, token);
      expect(again.status).toBe('FAILED'); // the same input, so the same injected failure
      expect(again.details.logs.slice(0, row.details.logs.length)).toEqual(row.details.logs);
      expect(again.details.logs).toContain('Retry #1 requested by admin');
      expect(again.details.logs.filter((l: string) => l === row.details.logs.at(-1))).toHaveLength(2);
      const after = (await server.request('GET', '/api/monitoring/my-resources', { token })).body as any[];
      expect(after.filter((r) => r.project_name === 'will-fail')).toEqual([]);
    });

    it('refuses new orders with 503 while maintenance mode is on', async () => {
      const on = await server.gql(
        `mutation { updateAdminSettings(input: { maintenanceMode: true, systemNotice: "점검 중" }, adminPassword: "admin-test-password") { maintenanceMode } }`,
        {},
        token,
      );
      expect(on.data.updateAdminSettings.maintenanceMode).toBe(true);
      const settings = await server.request('GET', '/api/public/settings');
      expect(settings.body).toMatchObject({ system_notice: '점검 중', maintenance_mode: true });
      const refused = await server.request('POST', '/api/provision', { token, body: { serviceName: 'during-maintenance' } });
      expect(refused.status).toBe(503);
      expect(refused.body.detail).toMatch(/maintenance/i);
      await server.request('POST', '/api/admin/settings', { token, body: { maintenance_mode: false, system_notice: '', admin_password: 'admin-test-password' } });
      const accepted = await server.request('POST', '/api/provision', { token, body: { serviceName: 'after-maintenance' } });
      expect(accepted.status).toBe(200);
    });

    it('reports the active database on /healthz', async () => {
      const res = await server.request('GET', '/healthz');
      expect(res.body.database).toMatchObject({ backend, fell_back: false });
    });

    it('answered every exchange as the OpenAPI document describes it, status by status', () => {
      const seen = [...server.validator.seen.keys()];
      for (const exchange of ['POST /api/login 200', 'POST /api/login 401', 'POST /api/provision 200', 'POST /api/provision 503', 'GET /api/history 200', 'GET /api/api/history 200', 'GET /api/projects 200',
        'DELETE /api/provision/{id} 200', 'DELETE /api/provision/{id} 404', 'POST /api/provision/{id}/retry 200', 'GET /api/monitoring/my-resources 200', 'GET /api/public/settings 200', 'POST /api/admin/settings 200', 'GET /healthz 200']) {
        expect(seen).toContain(exchange);
      }
    });
  });
}
