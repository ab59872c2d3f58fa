/**
 * The console's terminal (`/ws/terminal`, issue 18) against real hosts: a fleet of network
 * namespaces with their own sshd (scripts/fleet/lib.ts) is the workload pool, the mock runner
 * completes orders on them, and the server logs in as root with the fleet's key
 * (SSH_USER / SSH_PRIVATE_KEY_FILE). The owner runs commands and reads their output; every
 * refusal closes with its code before any shell starts; logout, disabling, teardown, the idle
 * timeout and the maximum length end a live session; every session is in the audit trail.
 *
 * Needs root (network namespaces); skips with a message otherwise, unless REQUIRE_ROOT=1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../scripts/fleet/lib.js';
import { sql } from '../../server/db/sql.js';
import { backendsFor } from '../helpers/backends.js';
import { removeFleet, testFleet } from '../helpers/fleet.js';
import { shouldRunPostgres } from '../helpers/postgres.js';
import { shouldRunAsRoot } from '../helpers/root.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { openTerminal, type TestTerminal } from '../helpers/terminal.js';

const SUITE = 'web terminal against fleet hosts';
const runAsRoot = shouldRunAsRoot(SUITE);
const backends = runAsRoot ? await backendsFor(SUITE) : [];
const twoInstances = runAsRoot && (await shouldRunPostgres(`${SUITE} (two instances)`));

const AUDIT = 'query($action: String) { auditLog(action: $action, first: 200) { entries { id actor action target ip result detail } } }';
/** Some other host's key: what a rebuilt host (or a machine answering in its place) would show. */
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

function serverEnv(fleet: Fleet, extra: Record<string, string> = {}): Record<string, string> {
  return { WORKLOAD_POOL_FILE: fleet.poolFile, SSH_USER: 'root', SSH_PRIVATE_KEY_FILE: fleet.keyFile, ...extra };
}

/** Orders a one-host project for `token` and waits for it to complete: its id and host address. */
async function completedProject(server: TestServer, token: string, serviceName: string): Promise<{ id: number; host: string }> {
  const res = await server.request('POST', '/api/provision', { token, body: { serviceName, config: { template: 'single' }, targetInfra: 'vsphere' } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const row = await waitForFinalStatus(server, res.body.project_id, token);
  expect(row.status).toBe('COMPLETED');
  return { id: res.body.project_id, host: row.assigned_ip };
}

async function auditOf(server: TestServer, action: string): Promise<any[]> {
  const res = await server.gql(AUDIT, { action }, server.adminToken);
  expect(res.errors).toBeUndefined();
  return res.data.auditLog.entries;
}

/** Every terminal a case opened, closed after it whatever happened. */
const opened = new Set<TestTerminal>();
function terminal(server: TestServer, options: Parameters<typeof openTerminal>[1]): TestTerminal {
  const t = openTerminal(server.url, options);
  opened.add(t);
  return t;
}
afterEach(async () => {
  for (const t of opened) t.close();
  await Promise.all([...opened].map((t) => t.closed));
  opened.clear();
});

/** Opens a terminal and waits for the shell's prompt to be usable (a marker echoed back). */
async function shellOf(server: TestServer, token: string, project: number, host: string): Promise<TestTerminal> {
  const t = terminal(server, { token, project, host });
  await t.ready;
  t.type('echo shell-$((40+2))\r');
  await t.waitForOutput('shell-42');
  return t;
}

describe.skipIf(!runAsRoot)(SUITE, () => {
  let fleet: Fleet;
  const realKey = (address: string) => {
    const host = fleet.hosts.find((h) => h.address === address)!;
    const [type, key] = readFileSync(join(fleet.dir, 'hosts', host.name, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
    return `${address} ${type} ${key}`;
  };

  beforeAll(async () => {
    fleet = await testFleet(4);
  }, 60_000);
  afterAll(() => removeFleet(fleet));

  for (const backend of backends) {
    describe(backend, () => {
      let server: TestServer;
      let tokens: { alice: string; bob: string };
      let alices: { id: number; host: string };
      let bobs: { id: number; host: string };
      const hostKeyOf = async (address: string) =>
        ((await sql(server.app.services.sqlDb, 'select host_key from workload_pool where ip_address = ?', [address])) as { host_key: string | null }[])[0].host_key;

      beforeAll(async () => {
        server = await startTestServer({ backend, env: serverEnv(fleet, { TERMINAL_MAX_SESSIONS: '3', MOCK_STEP_DELAY_MS: '300' }) });
        tokens = { alice: await server.createUser('alice'), bob: await server.createUser('bob') };
        alices = await completedProject(server, tokens.alice, 'alice-shop');
        bobs = await completedProject(server, tokens.bob, 'bob-shop');
      }, 60_000);
      afterAll(() => server?.close());

      it("the owner runs commands on their project's host and reads the output; the shell's exit code ends the session", async () => {
        expect(await hostKeyOf(alices.host)).toBeNull();
        const t = terminal(server, { token: tokens.alice, project: alices.id, host: alices.host });
        await t.ready;
        expect(t.messages).toEqual([{ type: 'ready' }]);
        t.type('echo "$(whoami)@$(hostname -I | tr -d " ")" $((6*7))\r');
        await t.waitForOutput(`root@${alices.host} 42`);
        // The key the host showed on first contact is recorded, as the Ansible runner and the checks do.
        expect(await hostKeyOf(alices.host)).toBe(realKey(alices.host));
        t.type('exit 3\r');
        expect(await t.closed).toEqual({ code: 1000, reason: 'The shell exited with code 3', exit: 3 });
        expect(t.messages.at(-1)).toEqual({ type: 'exit', code: 3 });
      });

      it('follows the pane: a resize reaches the pseudo-terminal', async () => {
        const t = terminal(server, { token: tokens.alice, project: alices.id, host: alices.host, cols: 90, rows: 20 });
        await t.ready;
        t.type('stty size\r');
        await t.waitForOutput(/\r20 90\r\n/);
        t.control({ type: 'resize', cols: 132, rows: 43 });
        const before = t.output().length;
        t.type('stty size\r');
        await t.waitForOutput(/\r43 132\r\n/, 10_000, before);
        t.close();
        await t.closed;
      });

      it('refuses, each with its code and no shell: a bad token, another user, a host outside the project, no such project', async () => {
        const refusals: [string, TestTerminal][] = [
          ['bad token', terminal(server, { token: `${tokens.alice.slice(0, -4)}AAAA`, project: alices.id, host: alices.host })],
          ['no token', terminal(server, { project: alices.id, host: alices.host })],
          ['binary first frame', terminal(server, { project: alices.id, host: alices.host, first: Buffer.from('ls\r') })],
          ["Bob to Alice's host", terminal(server, { token: tokens.bob, project: alices.id, host: alices.host })],
          ["Bob to Alice's project with his own host", terminal(server, { token: tokens.bob, project: alices.id, host: bobs.host })],
          ["Bob's project with Alice's host", terminal(server, { token: tokens.bob, project: bobs.id, host: alices.host })],
          ['a host in no project', terminal(server, { token: tokens.alice, project: alices.id, host: fleet.hosts.find((h) => ![alices.host, bobs.host].includes(h.address))!.address })],
          ['no such project', terminal(server, { token: tokens.alice, project: 999_999, host: alices.host })],
          ['a project id that is no number', terminal(server, { token: tokens.alice, project: 'x', host: alices.host })],
        ];
        const ends = await Promise.all(refusals.map(async ([what, t]) => [what, await t.closed, t.output(), t.messages] as const));
        expect(ends.map(([what, end, output, messages]) => [what, end.code, end.reason, output, messages])).toEqual([
          ['bad token', 4401, 'Invalid or expired token', '', []],
          ['no token', 4401, 'Not authenticated', '', []],
          ['binary first frame', 4400, 'The first message must be {"type":"auth","token":…}', '', []],
          ["Bob to Alice's host", 4403, 'Not your project', '', []],
          ["Bob to Alice's project with his own host", 4403, 'Not your project', '', []],
          ["Bob's project with Alice's host", 4404, 'The host is not one of the project’s hosts', '', []],
          ['a host in no project', 4404, 'The host is not one of the project’s hosts', '', []],
          ['no such project', 4404, 'No such project', '', []],
          ['a project id that is no number', 4404, 'No such project', '', []],
        ]);
        // Refusals are audited with who asked (when known), what for and the code.
        const failures = (await auditOf(server, 'terminal.open')).filter((e) => e.result === 'failure');
        expect(failures.filter((e) => e.actor === 'bob').map((e) => e.detail.code).sort()).toEqual([4403, 4403, 4404]);
        expect(failures.find((e) => e.detail.reason === 'Invalid or expired token')).toMatchObject({ actor: null, target: `project:${alices.id}`, ip: '127.0.0.1', detail: { code: 4401, host: alices.host } });
      });

      it('refuses a project that is not COMPLETED (4409): still running, then failed', async () => {
        const order = await server.request('POST', '/api/provision', { token: tokens.alice, body: { serviceName: 'alice-slow', config: { template: 'single' }, targetInfra: 'vsphere' } });
        const id = order.body.project_id as number;
        const host = await waitFor(async () => {
          const status = (await server.gql('query($id: Int!) { project(id: $id) { status } }', { id }, tokens.alice)).data?.project.status;
          const [held] = (await sql(server.app.services.sqlDb, 'select ip_address from workload_pool where project_id = ?', [id])) as { ip_address: string }[];
          return status === 'RUNNING' && held?.ip_address;
        }, 10_000, 'the order to run');
        const running = terminal(server, { token: tokens.alice, project: id, host });
        expect(await running.closed).toEqual({ code: 4409, reason: 'The project is RUNNING, not COMPLETED' });
        await waitForFinalStatus(server, id, tokens.alice);
        await server.request('DELETE', `/api/provision/${id}`, { token: tokens.alice });
        await waitFor(async () => !((await server.request('GET', '/api/history', { token: tokens.alice })).body as any[]).some((p) => p.id === id), 20_000, 'the teardown');

        const failed = await server.request('POST', '/api/provision', { token: tokens.alice, body: { serviceName: 'alice-fails', config: { template: 'single', mockFailAt: 'db' }, targetInfra: 'vsphere' } });
        expect((await waitForFinalStatus(server, failed.body.project_id, tokens.alice)).status).toBe('FAILED');
        const t = terminal(server, { token: tokens.alice, project: failed.body.project_id, host });
        expect(await t.closed).toEqual({ code: 4409, reason: 'The project is FAILED, not COMPLETED' });
      });

      it('refuses a host whose key is not the one recorded (4495), and records nothing over it', async () => {
        const forged = `${bobs.host} ${OTHER_KEY}`;
        await sql(server.app.services.sqlDb, 'update workload_pool set host_key = ? where ip_address = ?', [forged, bobs.host], 'run');
        const t = terminal(server, { token: tokens.bob, project: bobs.id, host: bobs.host });
        expect(await t.closed).toEqual({ code: 4495, reason: 'The host key changed since it was recorded; an admin must reset it if the host was rebuilt' });
        expect(t.output()).toBe('');
        expect(await hostKeyOf(bobs.host)).toBe(forged);
        await sql(server.app.services.sqlDb, 'update workload_pool set host_key = null where ip_address = ?', [bobs.host], 'run');
        const again = await shellOf(server, tokens.bob, bobs.id, bobs.host);
        expect(await hostKeyOf(bobs.host)).toBe(realKey(bobs.host));
        again.close();
      });

      it("lets an admin open a session to another user's host, audited as an admin's session, with duration and bytes each way", async () => {
        const t = await shellOf(server, server.adminToken, alices.id, alices.host);
        t.type('printf "%s" "$(head -c 3000 /dev/zero | tr "\\0" x)" | wc -c\r');
        await t.waitForOutput(/\r3000\r\n/);
        t.type('exit\r');
        expect(await t.closed).toMatchObject({ code: 1000, exit: 0 });
        const [open] = (await auditOf(server, 'terminal.open')).filter((e) => e.actor === 'admin' && e.result === 'success');
        expect(open).toMatchObject({ target: `project:${alices.id}`, ip: '127.0.0.1', detail: { host: alices.host, projectOwner: 'alice', asAdmin: true, session: expect.any(String) } });
        const [close] = (await auditOf(server, 'terminal.close')).filter((e) => e.detail.session === open.detail.session);
        expect(close).toMatchObject({ actor: 'admin', target: `project:${alices.id}`, result: 'success', detail: { host: alices.host, asAdmin: true, code: 1000, exitCode: 0 } });
        expect(close.detail.seconds).toBeGreaterThan(0);
        expect(close.detail.bytesToHost).toBe(Buffer.byteLength('echo shell-$((40+2))\r') + Buffer.byteLength('printf "%s" "$(head -c 3000 /dev/zero | tr "\\0" x)" | wc -c\r') + 'exit\r'.length);
        expect(close.detail.bytesFromHost).toBe(Buffer.byteLength(t.output()));
        // The owner's own sessions are not an admin's.
        const owners = (await auditOf(server, 'terminal.open')).filter((e) => e.actor === 'alice' && e.result === 'success');
        expect(owners.length).toBeGreaterThan(0);
        for (const e of owners) expect(e.detail.asAdmin).toBeUndefined();
      });

      it('refuses a session beyond TERMINAL_MAX_SESSIONS of the account (4429); one more fits once one ends', async () => {
        const open = [];
        for (let i = 0; i < 3; i++) open.push(await shellOf(server, tokens.bob, bobs.id, bobs.host));
        const extra = terminal(server, { token: tokens.bob, project: bobs.id, host: bobs.host });
        expect(await extra.closed).toEqual({ code: 4429, reason: 'At most 3 terminal sessions at once' });
        // Other accounts have limits of their own.
        const alice = await shellOf(server, tokens.alice, alices.id, alices.host);
        open[0].close();
        await open[0].closed;
        await waitFor(() => server.app.services.terminals.count('bob') === 2, 5_000, "the server to forget Bob's session");
        const fits = await shellOf(server, tokens.bob, bobs.id, bobs.host);
        for (const t of [...open.slice(1), alice, fits]) t.close();
        await waitFor(() => server.app.services.terminals.count() === 0, 5_000, 'every session to end');
      });

      it('ends a live session when its token is logged out (4401), and follows a renewed token of the same account', async () => {
        const first = await server.login('alice', 'alice-password-1');
        const t = await shellOf(server, first, alices.id, alices.host);
        const renewed = await server.login('alice', 'alice-password-1');
        const tokenIds = () => server.app.services.terminals.snapshot().filter((s) => s.username === 'alice').map((s) => s.tokenId);
        const [before] = tokenIds();
        t.control({ type: 'auth', token: renewed });
        await waitFor(() => tokenIds()[0] !== before, 5_000, 'the session to take the renewed token');
        // The first token's logout no longer concerns the session…
        expect((await server.request('POST', '/api/logout', { token: first })).status).toBe(200);
        const seen = t.output().length;
        t.type('echo still-$((1+1))\r');
        await t.waitForOutput('still-2', 10_000, seen);
        // …the renewed one's does.
        expect((await server.request('POST', '/api/logout', { token: renewed })).status).toBe(200);
        expect(await t.closed).toEqual({ code: 4401, reason: 'Logged out' });
        const [close] = (await auditOf(server, 'terminal.close')).filter((e) => e.actor === 'alice');
        expect(close.detail).toMatchObject({ code: 4401, reason: 'Logged out' });
        // A token of another account is not a renewal.
        const other = await shellOf(server, tokens.bob, bobs.id, bobs.host);
        other.control({ type: 'auth', token: tokens.alice });
        expect(await other.closed).toEqual({ code: 4401, reason: 'A token of another account' });
      });

      it("ends the sessions of an account an admin disables (4401), and of a project whose teardown starts (4409)", async () => {
        const carol = await server.createUser('carol');
        const carols = await completedProject(server, carol, 'carol-shop');
        const t = await shellOf(server, carol, carols.id, carols.host);
        expect((await server.request('POST', '/api/admin/disable-user/carol', { token: server.adminToken })).status).toBe(200);
        expect(await t.closed).toEqual({ code: 4401, reason: 'Account is not active' });

        const dave = await server.createUser('dave');
        const daves = await completedProject(server, dave, 'dave-shop');
        const [one, two] = [await shellOf(server, dave, daves.id, daves.host), await shellOf(server, server.adminToken, daves.id, daves.host)];
        expect((await server.request('DELETE', `/api/provision/${daves.id}`, { token: dave })).status).toBe(200);
        for (const s of [one, two]) expect(await s.closed).toEqual({ code: 4409, reason: 'The project is being deleted' });
        await waitFor(async () => !((await server.request('GET', '/api/history', { token: dave })).body as any[]).some((p) => p.id === daves.id), 20_000, 'the teardown');
      });

      it('refuses WebSocket upgrades on other paths (404), while /graphql still upgrades', async () => {
        const status = await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws/ssh/${alices.host}`);
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('open', () => reject(new Error('upgraded')));
          ws.on('error', () => undefined);
        });
        expect(status).toBe(404);
        const plain = await server.request('GET', '/ws/terminal');
        expect([plain.status, plain.body]).toEqual([404, { detail: 'Not Found' }]);
        const client = server.wsClient(tokens.bob);
        const result = await new Promise<unknown>((resolve, reject) => {
          client.subscribe({ query: `subscription { provisionStatus(projectId: ${bobs.id}, afterSeq: 0) { seq status } }` }, { next: resolve, error: reject, complete: () => undefined });
        });
        expect(result).toMatchObject({ data: { provisionStatus: { seq: 1 } } });
      });
    });
  }

  describe('time limits (sqlite)', () => {
    let server: TestServer;
    let token: string;
    let project: { id: number; host: string };

    beforeAll(async () => {
      // Idle after 6 s without input; no session longer than 18 s. A login shell on a loaded
      // machine took over 3 s to print its first prompt, so shorter limits ended it first.
      server = await startTestServer({ env: serverEnv(fleet, { TERMINAL_IDLE_MINUTES: '0.1', TERMINAL_MAX_SESSION_MINUTES: '0.3' }) });
      token = await server.createUser('erin');
      project = await completedProject(server, token, 'erin-shop');
    }, 60_000);
    afterAll(() => server?.close());

    it('closes a session without input for TERMINAL_IDLE_MINUTES (4408); input keeps it open; none outlives TERMINAL_MAX_SESSION_MINUTES (4410)', async () => {
      // Both open at once: a login shell may take seconds to start on a loaded machine, and the
      // idle one's clock runs from its last input while the other starts.
      const busyOpening = Date.now();
      const [idle, busy] = await Promise.all([shellOf(server, token, project.id, project.host), shellOf(server, token, project.id, project.host)]);
      // Output alone is not the user's input: a busy screen does not keep a session open.
      idle.type('while sleep 0.5; do echo tick; done\r');
      const lastInput = Date.now();
      const keys = setInterval(() => busy.type(' '), 1000);
      try {
        expect(await idle.closed).toEqual({ code: 4408, reason: 'No input for too long' });
        expect(Date.now() - lastInput).toBeGreaterThanOrEqual(5900);
        expect(Date.now() - lastInput).toBeLessThan(8500);
        expect(idle.output()).toContain('tick');
        expect(busy.socket.readyState).toBe(WebSocket.OPEN);
        expect(await busy.closed).toEqual({ code: 4410, reason: 'The session reached its maximum length' });
        expect(Date.now() - busyOpening).toBeGreaterThanOrEqual(17_950);
      } finally {
        clearInterval(keys);
      }
      const closes = await auditOf(server, 'terminal.close');
      expect(closes.map((e) => e.detail.code).sort()).toEqual([4408, 4410]);
    }, 60_000);
  });

  describe.runIf(twoInstances)('two instances on one PostgreSQL database', () => {
    let a: TestServer;
    let b: TestServer;

    beforeAll(async () => {
      a = await startTestServer({ backend: 'postgresql', env: serverEnv(fleet) });
      b = await startTestServer({ backend: 'postgresql', env: serverEnv(fleet), reuse: { postgres: a.postgres } });
    }, 60_000);
    afterAll(async () => {
      await b?.close(true);
      await a?.close();
    });

    it('a logout, a disabled account and a teardown on one instance end the sessions open on the other', async () => {
      const token = await a.createUser('frank');
      const project = await completedProject(a, token, 'frank-shop');
      const session = await a.login('frank', 'frank-password-1');
      const onB = await shellOf(b, session, project.id, project.host);
      expect((await a.request('POST', '/api/logout', { token: session })).status).toBe(200);
      expect(await onB.closed).toEqual({ code: 4401, reason: 'Logged out' });

      const disabled = await shellOf(b, token, project.id, project.host);
      expect((await a.request('POST', '/api/admin/disable-user/frank', { token: a.adminToken })).status).toBe(200);
      expect(await disabled.closed).toEqual({ code: 4401, reason: 'Account is not active' });

      const grace = await a.createUser('grace');
      const hers = await completedProject(a, grace, 'grace-shop');
      const torn = await shellOf(b, grace, hers.id, hers.host);
      expect((await a.request('DELETE', `/api/provision/${hers.id}`, { token: grace })).status).toBe(200);
      expect(await torn.closed).toEqual({ code: 4409, reason: 'The project is being deleted' });
    }, 60_000);
  });
});
