/**
 * The token state each instance remembers for a second (services/sessions.ts) stays right across
 * instances sharing one PostgreSQL database, as behind a load balancer: a logout, a disabled
 * account or a new role reaches the instance that made the change at once and the other one
 * through the event feed; an instance whose feed connection is lost forgets what it remembered.
 *
 * The clock (Date) stands still while a case runs, so what an instance remembers never expires
 * on its own: a refusal can only come from the change reaching it.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { shouldRunPostgres } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const run = await shouldRunPostgres('shared account state');

/** Polls until `check` holds; timed with performance.now(), which keeps running while Date stands still. */
async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Counts an instance's reads of token state (the authentication query). */
function stateReads(server: TestServer): () => number {
  let reads = 0;
  server.app.orm.em
    .getConnection()
    .getKnex()
    .on('query', (q: { sql: string }) => {
      if (q.sql.includes('from revoked_tokens')) reads += 1;
    });
  return () => reads;
}

describe.runIf(run)('remembered token state across two instances (postgresql)', () => {
  let a: TestServer;
  let b: TestServer;
  let readsOnB: () => number;

  beforeAll(async () => {
    a = await startTestServer({ backend: 'postgresql' });
    b = await startTestServer({ backend: 'postgresql', reuse: { postgres: a.postgres } });
    readsOnB = stateReads(b);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await b?.close(true);
    await a?.close();
  });

  const history = (server: TestServer, token: string) => server.request('GET', '/api/history', { token });
  const statusOf = async (server: TestServer, token: string) => (await history(server, token)).status;

  /** B answers from memory: a second request reads no state. */
  async function rememberedOnB(token: string): Promise<void> {
    expect(await statusOf(b, token)).toBe(200);
    const reads = readsOnB();
    expect(await statusOf(b, token)).toBe(200);
    expect(readsOnB()).toBe(reads);
  }

  it('refuses a disabled account at once on the instance that disabled it, and soon on the other', async () => {
    const token = await a.createUser('shared-dis');
    vi.useFakeTimers({ toFake: ['Date'] });
    expect(await statusOf(a, token)).toBe(200);
    await rememberedOnB(token);
    expect((await a.request('POST', '/api/admin/disable-user/shared-dis', { token: a.adminToken })).status).toBe(200);
    expect(await statusOf(a, token)).toBe(401);
    await waitFor(async () => (await statusOf(b, token)) === 401, 5000, 'B to refuse the disabled account');
  });

  it('refuses a logged-out token at once on the instance that logged it out, and soon on the other', async () => {
    const token = await a.createUser('shared-out');
    const other = await a.login('shared-out', 'shared-out-password-1');
    vi.useFakeTimers({ toFake: ['Date'] });
    await rememberedOnB(token);
    await rememberedOnB(other);
    expect((await a.request('POST', '/api/logout', { token })).status).toBe(200);
    expect(await statusOf(a, token)).toBe(401);
    await waitFor(async () => (await statusOf(b, token)) === 401, 5000, 'B to refuse the logged-out token');
    expect(await statusOf(b, other)).toBe(200); // the user's other token is not logged out
  });

  it('gives a live token its new role on the other instance: promotion opens the admin API, demotion closes it', async () => {
    const token = await a.createUser('shared-role');
    const adminApi = async () => (await b.request('GET', '/api/admin/users', { token })).status;
    vi.useFakeTimers({ toFake: ['Date'] });
    await rememberedOnB(token);
    expect(await adminApi()).toBe(403);
    expect((await a.request('POST', '/api/admin/users/shared-role/role', { token: a.adminToken, body: { role: 'admin' } })).status).toBe(200);
    await waitFor(async () => (await adminApi()) === 200, 5000, 'B to see the promotion');
    await rememberedOnB(token);
    expect((await a.request('POST', '/api/admin/users/shared-role/role', { token: a.adminToken, body: { role: 'user' } })).status).toBe(200);
    await waitFor(async () => (await adminApi()) === 403, 5000, 'B to see the demotion');
  });

  it('forgets everything when the feed connection is lost, and remembers again once it is back', async () => {
    const token = await a.createUser('shared-lost');
    vi.useFakeTimers({ toFake: ['Date'] });
    await rememberedOnB(token);
    const db = new pg.Client({ connectionString: a.postgres!.url });
    await db.connect();
    try {
      const lostBefore = b.logs.filter((l) => l.includes('event feed connection lost')).length;
      const backBefore = b.logs.filter((l) => l.includes('event feed reconnected')).length;
      // A change no instance announces (as if its message were missed), then every feed connection dies.
      await db.query(`update users set status = 'disabled' where username = 'shared-lost'`);
      await db.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'hcmp-feed' and datname = current_database()`);
      await waitFor(() => b.logs.filter((l) => l.includes('event feed connection lost')).length > lostBefore, 5000, 'B to notice the lost feed');
      expect(await statusOf(b, token)).toBe(401);
      await db.query(`update users set status = 'approved' where username = 'shared-lost'`);
      await waitFor(() => b.logs.filter((l) => l.includes('event feed reconnected')).length > backBefore, 10_000, 'B to reconnect');
      await rememberedOnB(token);
    } finally {
      await db.end();
    }
  });
});
