/**
 * No request, start-up or runner path enters an AsyncLocalStorage.
 *
 * On Node 20 the first `AsyncLocalStorage#run` or `enterWith` switches on V8's promise hooks
 * for the rest of the process. MikroORM's `em.flush()` and `em.transactional()` both enter one.
 * Under the same load, a build without them answered GraphQL `project(id)` 1.19 × and the
 * GraphQL order 1.25 × as fast (docs/BENCHMARKS.md, session 5). So the server writes entities
 * with native statements (server/db/entity-writes.ts). This test wraps
 * AsyncLocalStorage's entry points before the server starts, walks the accounts, admin and
 * provisioning flows, and fails on any entry made from the server's code or from MikroORM.
 * It also checks the write helpers themselves: only changed fields are written, and a row
 * that is gone is an error.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveChanges, snapshot } from '../../server/db/entity-writes.js';
import { AuditEntry, Setting, User } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { ADMIN, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

type Entry = 'run' | 'enterWith';
const entries: string[] = [];
const originals = new Map<Entry, (...args: any[]) => unknown>();

/** Records entries whose stack passes through the server's code or MikroORM. */
function watchAsyncLocalStorage(): void {
  for (const name of ['run', 'enterWith'] as const) {
    const original = AsyncLocalStorage.prototype[name] as (...args: any[]) => unknown;
    originals.set(name, original);
    (AsyncLocalStorage.prototype as any)[name] = function (this: AsyncLocalStorage<unknown>, ...args: unknown[]) {
      const stack = new Error().stack ?? '';
      if (/[/\\]server[/\\]|@mikro-orm/.test(stack)) entries.push(`${name}:\n${stack.split('\n').slice(2, 10).join('\n')}`);
      return original.apply(this, args);
    };
  }
}

function unwatch(): void {
  for (const [name, original] of originals) (AsyncLocalStorage.prototype as any)[name] = original;
}

for (const backend of await backendsFor('no-async-context')) {
  describe(`no AsyncLocalStorage on the server's paths (${backend})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      watchAsyncLocalStorage();
      // Start-up seeds the admin, the settings row, the workload pool and the runner instance.
      server = await startTestServer({ backend, env: { MOCK_STEP_DELAY_MS: '2' } });
    });
    afterAll(async () => {
      unwatch();
      await server?.close();
    });

    it('start-up, accounts, admin changes, settings, a provision followed over graphql-ws and its deletion enter none', async () => {
      const admin = server.adminToken;
      const post = (path: string, token: string | undefined, body: unknown) => server.request('POST', path, { token, body });

      expect((await post('/api/signup', undefined, { username: 'alsuser', password: 'als-password-1', full_name: 'A' })).status).toBe(200);
      expect((await post('/api/admin/approve-user/alsuser', admin, {})).status).toBe(200);
      expect((await post('/api/admin/users/alsuser/quota', admin, { max_vms: 9 })).status).toBe(200);
      expect((await post('/api/admin/users/alsuser/role', admin, { role: 'user' })).status).toBe(200);
      const login = await post('/api/login', undefined, { user_id: 'alsuser', password: 'als-password-1' });
      expect(login.status).toBe(200);
      const token = login.body.access_token as string;
      expect((await post('/api/me/password', token, { current_password: 'als-password-1', new_password: 'als-password-2' })).status).toBe(200);
      const other = await server.createUser('alsother');
      expect((await post('/api/admin/users/alsother/password', admin, { new_password: 'als-other-pass-2' })).status).toBe(200);
      expect((await post('/api/admin/disable-user/alsother', admin, {})).status).toBe(200);
      expect((await server.request('GET', '/api/history', { token: other })).status).toBe(401);
      expect((await post('/api/admin/settings', admin, { system_notice: 'als check', admin_password: ADMIN.password })).status).toBe(200);
      expect((await server.request('GET', '/api/public/settings')).body).toMatchObject({ system_notice: 'als check' });

      const order = await post('/api/provision', token, { serviceName: 'als-svc', config: { template: 'standard' }, targetInfra: 'vsphere' });
      expect(order.status).toBe(200);
      const id = order.body.project_id as number;
      const project = await server.gql<{ project: { status: string; logs: string[] } }>('query($id: Int!) { project(id: $id) { status logs } }', { id }, token);
      expect(project.errors).toBeUndefined();
      // The console follows the run over graphql-ws until the stream completes.
      const client = server.wsClient(token);
      const statuses = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        client.subscribe<{ provisionStatus: { status: string } }>(
          { query: 'subscription($id: Int!) { provisionStatus(projectId: $id, afterSeq: 0) { status } }', variables: { id } },
          { next: (msg) => (msg.data ? seen.push(msg.data.provisionStatus.status) : reject(new Error(JSON.stringify(msg.errors)))), error: reject, complete: () => resolve(seen) },
        );
      });
      await client.dispose();
      expect(statuses.at(-1)).toBe('COMPLETED');
      expect((await server.request('DELETE', `/api/provision/${id}`, { token })).status).toBe(200);
      await waitFor(async () => (await server.gql('query($id: Int!) { project(id: $id) { status } }', { id }, token)).errors?.[0]?.extensions?.code === 'NOT_FOUND', 20_000, 'the teardown to finish');
      expect((await post('/api/logout', token, {})).status).toBe(200);
      await server.app.dispatcher.whenIdle();

      expect(entries).toEqual([]);
    });

    it('saveChanges writes only the fields changed since its snapshot, JSON changed in place too; a row that is gone is an error', async () => {
      entries.length = 0;
      const a = server.app.orm.em.fork();
      const b = server.app.orm.em.fork();
      const [ua, ub] = [await a.findOneOrFail(User, { username: 'alsuser' }), await b.findOneOrFail(User, { username: 'alsuser' })];
      const [sa, sb] = [snapshot(a, ua), snapshot(b, ub)];
      ua.fullName = 'Changed by A';
      ub.maxVcpu = 33;
      expect(await saveChanges(a, ua, sa)).toEqual(['fullName']);
      expect(await saveChanges(b, ub, sb)).toEqual(['maxVcpu']);
      // Nothing changed: no statement, nothing reported.
      expect(await saveChanges(b, ub, snapshot(b, ub))).toEqual([]);
      const fresh = await server.app.orm.em.fork().findOneOrFail(User, { username: 'alsuser' });
      expect([fresh.fullName, fresh.maxVcpu, fresh.maxHosts]).toEqual(['Changed by A', 33, 9]);

      // A JSON column changed in place counts as changed.
      const entry = await a.findOneOrFail(AuditEntry, { action: 'user.quota', target: 'alsuser' });
      const atEntry = snapshot(a, entry);
      entry.detail!.note = 'in place';
      expect(await saveChanges(a, entry, atEntry)).toEqual(['detail']);
      const stored = await server.app.orm.em.fork().findOneOrFail(AuditEntry, entry.id);
      expect(stored.detail).toMatchObject({ note: 'in place' });

      const settings = await a.findOneOrFail(Setting, 1);
      const before = snapshot(a, settings);
      settings.id = 999_999;
      settings.systemNotice = 'nowhere';
      await expect(saveChanges(a, settings, before)).rejects.toThrow('Setting 999999 was not found');
      expect(entries).toEqual([]);
    });
  });
}
