/**
 * The database goes away and comes back (issue #14), on a PostgreSQL server of this suite's own
 * (initdb into a temporary directory, a free port), so stopping it harms nothing else:
 *
 * - 100 runs, PostgreSQL restarted mid-way: all end COMPLETED soon after its return, no step
 *   done twice, no host leaked, a subscriber on each project receives every event in order, once.
 * - PostgreSQL stopped for 20 s during 50 runs: REST 503 with Retry-After, GraphQL
 *   SERVICE_UNAVAILABLE, /healthz 503 while /livez 200; an order refused then is stored nowhere;
 *   every run completes after the return. Over a socket holding live streams, a query is refused
 *   on its own; a new subscription, and a new connection, wait for the database and then follow.
 * - Every H-CMP connection killed (pg_terminate_backend) five times during 100 runs: the same,
 *   and a list stream (projectChanges) still sees every project end COMPLETED.
 * - Jobs that wait longer than DB_OUTAGE_GRACE_SECONDS stop; their claims are handed back as
 *   soon as the database answers, and the runs resume.
 * - Two instances on one database, PostgreSQL restarted mid-way: every job completes, each run
 *   by one instance only (neither takes the other for dead).
 * - The connection cut after a COMMIT reached PostgreSQL but before its answer came back (a
 *   proxy loses the answer on purpose): a step's write is not recorded twice; a claim whose
 *   answer was lost is handed back and resumed, not left RUNNING.
 *
 * The claim check (a claim held without a running job is handed back) is in
 * orphaned-claims.test.ts, the SQLite faults in sqlite-faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { shouldRunPrivatePostgres, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import {
  accountFor,
  followChanges,
  followProject,
  inBatches,
  killAllServers,
  openDbView,
  provision,
  spawnServer,
  waitUntil,
  type DbTarget,
  type DbView,
  type EventStream,
  type ServerProcess,
} from '../helpers/process.js';

const TEMPLATES = ['single', 'standard', 'k8s_small'];
const PER_SOCKET = 50;
const ENV = { MOCK_STEP_DELAY_MS: '500', RUNNER_CONCURRENCY: '200' };

const runSuite = shouldRunPrivatePostgres('database outage (a private PostgreSQL stopped, restarted and cut off)');

interface Batch {
  ids: number[];
  streams: EventStream[];
  /** The graphql-ws clients the streams are on (one socket each). */
  clients: Client[];
}

/** Orders `count` projects (spread over the servers) and follows each on a server's graphql-ws. */
async function orderAndFollow(servers: ServerProcess[], tokens: Map<ServerProcess, string>, count: number, label: string): Promise<Batch> {
  const ids = await inBatches(
    Array.from({ length: count }, (_, i) => i),
    10,
    (i) => {
      const server = servers[i % servers.length];
      return provision(server, tokens.get(server)!, { serviceName: `${label}-${i}`, template: TEMPLATES[i % TEMPLATES.length] });
    },
  );
  const streams: EventStream[] = [];
  const clients: Client[] = [];
  ids.forEach((id, i) => {
    // Each project is followed on the other instance than the one it was ordered on (when two).
    const server = servers[(i + 1) % servers.length];
    if (i % PER_SOCKET === 0 || servers.length > 1) clients.push(server.wsClient(tokens.get(server)!));
    streams.push(followProject(clients.at(-1)!, id));
  });
  // Every subscription is established (its replay has begun) before the caller brings a fault:
  // on a slow machine a hundred sockets' handshakes can still be under way when the runs are.
  await waitUntil(async () => streams.every((s) => s.events.length > 0 || s.errors.length > 0), 30_000, `${streams.length} subscriptions started`, 100);
  return { ids, streams, clients };
}

/** What ended or troubled a stream, as text: a CloseEvent's code and reason, a GraphQL error's message. */
function errorText(e: unknown): string {
  const { code, reason, message } = e as { code?: number; reason?: string; message?: string };
  return code !== undefined ? `close ${code} ${reason ?? ''}` : (message ?? JSON.stringify(e));
}

/** One query over a graphql-ws client: its result, or what ended it (an error or a close). */
function queryOver(client: Client, query: string): Promise<{ errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }> {
  return new Promise((resolve) => {
    let result: { errors?: readonly { message: string; extensions?: Record<string, unknown> }[] } = {};
    client.subscribe(
      { query },
      {
        next: (msg) => {
          result = msg as typeof result;
        },
        error: (err) => resolve({ errors: Array.isArray(err) ? err : [{ message: `ended: ${errorText(err)}` }] }),
        complete: () => resolve(result),
      },
    );
  });
}

/** Resolves once at least `n` run steps are recorded across the batch (the runs are under way). */
async function stepsUnderWay(view: DbView, n: number): Promise<void> {
  await waitUntil(async () => (await view.projects()).reduce((sum, p) => sum + p.completedSteps.length, 0) >= n, 30_000, `${n} steps recorded`);
}

/**
 * Every run COMPLETED within `withinMs`; the stored rows add up (each step once per attempt,
 * seqs without gap, no host leaked, nothing left claimed); every subscriber got exactly the
 * stored events, in order, and its stream completed.
 */
async function expectAllCompleted(view: DbView, batch: Batch, withinMs: number): Promise<void> {
  await waitUntil(
    async () => {
      const rows = await view.projects().catch(() => []);
      return rows.length === batch.ids.length && rows.every((p) => p.status === 'COMPLETED');
    },
    withinMs,
    `all ${batch.ids.length} runs COMPLETED`,
    200,
  );
  const { problems, rows } = await accountFor(view);
  expect(problems).toEqual([]);
  expect(rows.filter((p) => p.claimedBy !== null).map((p) => p.id)).toEqual([]);
  const stored = await view.events();
  for (const stream of batch.streams) {
    const finished = await Promise.race([stream.done, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
    const mine = stored.filter((e) => e.projectId === stream.projectId).map((e) => `${e.seq}:${e.kind}:${e.status}:${e.message ?? ''}`);
    const seen = stream.events.map((e) => `${e.seq}:${e.kind}:${e.status}:${e.message ?? ''}`);
    // The errors as text, so a failure says what the stream was told.
    const errors = stream.errors.map(errorText);
    expect({ project: stream.projectId, finished, errors, seen }).toEqual({ project: stream.projectId, finished: true, errors: [], seen: mine });
  }
}

describe.skipIf(!runSuite)('the database goes away and comes back (PostgreSQL)', () => {
  let pgs: PrivatePostgres;
  let databases = 0;
  const views: DbView[] = [];

  beforeAll(async () => {
    pgs = await startPrivatePostgres();
  }, 120_000);

  afterAll(async () => {
    await killAllServers();
    for (const v of views) await v.close().catch(() => undefined);
    await pgs?.destroy();
  }, 60_000);

  async function freshDatabase(): Promise<{ db: DbTarget; view: DbView; name: string }> {
    const name = `outage_${++databases}`;
    if (!pgs.running()) await pgs.start();
    const db: DbTarget = { backend: 'postgresql', url: await pgs.createDatabase(name) };
    const view = await openDbView(db);
    views.push(view);
    return { db, view, name };
  }

  it('100 runs with PostgreSQL restarted mid-way: all COMPLETED soon after, nothing twice, nothing leaked, every subscriber sees every event once', async () => {
    const { db, view } = await freshDatabase();
    const server = await spawnServer({ db, name: 'restart', env: ENV });
    const tokens = new Map([[server, await server.login()]]);
    const batch = await orderAndFollow([server], tokens, 100, 'restart');
    await stepsUnderWay(view, 60);
    await pgs.stop('fast');
    await new Promise((r) => setTimeout(r, 2_500));
    await pgs.start();
    const back = Date.now();
    await expectAllCompleted(view, batch, 60_000);
    expect(Date.now() - back).toBeLessThan(60_000);
    expect(server.output()).toMatch(/database unavailable: jobs wait and retry their writes/);
    expect(server.output()).toMatch(/database reachable again/);
    expect(server.output()).not.toMatch(/took over projects|taken for dead|provisioning job crashed/);
    await server.disposeClients();
    await server.terminate();
  }, 240_000);

  it('PostgreSQL stopped for 20 s during 50 runs: 503 with Retry-After, /healthz 503, /livez 200, nothing half-ordered; every run completes after', async () => {
    const { db, view } = await freshDatabase();
    const server = await spawnServer({ db, name: 'stopped', env: ENV });
    const token = await server.login();
    const batch = await orderAndFollow([server], new Map([[server, token]]), 50, 'stopped');
    await stepsUnderWay(view, 30);
    await pgs.stop('immediate');
    const stoppedAt = Date.now();

    const history = await server.request('GET', '/api/history', { token });
    expect(history.status).toBe(503);
    expect(history.body).toEqual({ detail: 'Database unavailable' });
    expect(Number(history.headers.get('retry-after'))).toBeGreaterThan(0);

    const order = await server.request('POST', '/api/provision', {
      token,
      body: { serviceName: 'during-outage', config: { template: 'single' }, targetInfra: { type: 'vsphere' } },
    });
    expect(order.status).toBe(503);
    expect(order.headers.get('retry-after')).not.toBeNull();

    const login = await server.request('POST', '/api/login', { body: { user_id: 'admin', password: 'whatever-it-is' } });
    expect(login.status).toBe(503);

    const query = await server.gql('{ history(first: 5) { nodes { id status } } }', {}, token);
    expect(query.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(query.errors?.[0]?.message).toBe('Database unavailable');
    const mutation = await server.gql(
      'mutation($input: ProvisionInput!) { provision(input: $input) { id } }',
      { input: { serviceName: 'during-outage-gql', config: { template: 'single' }, targetInfra: 'vsphere' } },
      token,
    );
    expect(mutation.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

    // Over a socket that holds 50 live streams: a query is refused SERVICE_UNAVAILABLE on its own
    // (the socket and its streams stay), a new subscription waits for the database, and so does a
    // new connection with its subscription. All three are checked to the end below.
    const overSocket = await queryOver(batch.clients[0], '{ history(first: 5) { nodes { id status } } }');
    expect(overSocket.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    const lateOnOpenSocket = followProject(batch.clients[0], batch.ids[1]);
    const lateOnNewSocket = followProject(server.wsClient(token), batch.ids[2]);
    await waitUntil(() => /a subscription waits for the database/.test(server.output()), 10_000, 'a subscribe waiting for the database');
    expect([lateOnOpenSocket.errors, lateOnNewSocket.errors]).toEqual([[], []]);
    batch.streams.push(lateOnOpenSocket, lateOnNewSocket);

    const t0 = Date.now();
    const health = await server.request('GET', '/healthz');
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'degraded', database: { backend: 'postgresql', reachable: false } });
    expect(JSON.stringify(health.body)).not.toContain('127.0.0.1');
    const live = await server.request('GET', '/livez');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok' });

    // Out for 20 s in all: longer than RUNNER_DEAD_AFTER_MS (1 s here), far shorter than the outage grace.
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - stoppedAt))));
    expect((await server.request('GET', '/healthz')).status).toBe(503);
    await pgs.start();
    await waitUntil(async () => (await server.request('GET', '/healthz')).status === 200, 10_000, '/healthz 200 again');

    await expectAllCompleted(view, batch, 60_000);
    const names = (await view.projects()).length;
    expect(names).toBe(50); // neither order placed during the outage was stored
    expect((await server.request('GET', '/api/history', { token })).status).toBe(200);
    expect(server.output()).not.toMatch(/provisioning job crashed|"statusCode":500/);
    await server.disposeClients();
    await server.terminate();
  }, 240_000);

  it('every H-CMP connection killed five times during 100 runs: all COMPLETED, nothing twice, every subscriber sees every event once', async () => {
    const { db, view, name } = await freshDatabase();
    const server = await spawnServer({ db, name: 'terminated', env: ENV });
    const tokens = new Map([[server, await server.login()]]);
    const batch = await orderAndFollow([server], tokens, 100, 'terminated');
    // A list stream too: the changes committed while the feed's connection was down reach it
    // when the feed reconnects (re-read from the projects).
    const list = followChanges(server.wsClient(tokens.get(server)!));
    await stepsUnderWay(view, 20);
    const killed: number[] = [];
    for (let round = 0; round < 5; round++) {
      killed.push(await pgs.terminateConnections(name));
      await new Promise((r) => setTimeout(r, 500));
    }
    // The server's pool and its LISTEN connection each time (the view's own connections too).
    expect(killed.every((n) => n >= 2)).toBe(true);
    await expectAllCompleted(view, batch, 60_000);
    const final = new Map((await view.projects()).map((p) => [p.id, p.lastSeq]));
    await waitUntil(
      () => batch.ids.every((id) => list.changes.some((c) => c.id === id && c.status === 'COMPLETED' && c.lastSeq === final.get(id))),
      10_000,
      'the list stream showing every project COMPLETED at its last seq',
    );
    list.unsubscribe();
    expect(server.output()).not.toMatch(/took over projects|taken for dead|provisioning job crashed/);
    // A database error the outage classifier did not know would have ended a stream as "Internal server error".
    expect(server.output().split('\n').filter((line) => line.includes('unexpected GraphQL error'))).toEqual([]);
    await server.disposeClients();
    await server.terminate();
  }, 240_000);

  it('jobs that wait longer than DB_OUTAGE_GRACE_SECONDS stop; their claims are handed back once the database answers and the runs resume to COMPLETED', async () => {
    const { db, view } = await freshDatabase();
    const server = await spawnServer({ db, name: 'past-grace', env: { ...ENV, DB_OUTAGE_GRACE_SECONDS: '2' } });
    const tokens = new Map([[server, await server.login()]]);
    const batch = await orderAndFollow([server], tokens, 20, 'grace');
    await stepsUnderWay(view, 10);
    await pgs.stop('fast');
    await waitUntil(() => /job stopped waiting for the database/.test(server.output()), 20_000, 'jobs giving up after the 2 s grace');
    await new Promise((r) => setTimeout(r, 2_000));
    await pgs.start();
    await expectAllCompleted(view, batch, 60_000);
    const { projects } = await accountFor(view);
    const handedBack = [...projects.values()].filter((p) => p.events.some((e) => e.message?.startsWith(`Handed back by instance ${server.instanceId}: it held the claim`)));
    expect(handedBack.length).toBeGreaterThan(0);
    for (const p of handedBack) expect(p.resumes.length, `project ${p.id} resumed after its hand-back`).toBeGreaterThan(0);
    await server.disposeClients();
    await server.terminate();
  }, 240_000);

  it('a job write whose COMMIT answer was lost is recorded once: the retry finds it stored', async () => {
    const { view, name } = await freshDatabase();
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: pgs.port });
    try {
      const server = await spawnServer({ db: { backend: 'postgresql', url: proxy.url(name) }, name: 'lost-commit', env: { MOCK_STEP_DELAY_MS: '300' } });
      const token = await server.login();
      const order = async (serviceName: string, config: Record<string, unknown>) => {
        const res = await server.request('POST', '/api/provision', { token, body: { serviceName, config, targetInfra: { type: 'vsphere' } } });
        expect(res.status).toBe(200);
        return res.body.project_id as number;
      };
      // A checkpoint (the step's log and completed_steps in one write).
      let lost = proxy.loseAnswerTo('Creating Web tier...', 'commit');
      const stepped = await order('lost-step', { template: 'single' });
      await lost;
      // A plain log line, which nothing but the receipt keeps from being written twice (the
      // injected failure logs its step, then fails the run).
      lost = proxy.loseAnswerTo('Creating Web tier...', 'commit');
      const logged = await order('lost-log', { template: 'single', mockFailAt: 'web' });
      await lost;
      await waitUntil(
        async () => {
          const rows = await view.projects();
          return rows.find((p) => p.id === stepped)?.status === 'COMPLETED' && rows.find((p) => p.id === logged)?.status === 'FAILED';
        },
        30_000,
        'one run COMPLETED, the other FAILED as injected',
      );
      const { problems } = await accountFor(view);
      expect(problems).toEqual([]);
      const events = await view.events();
      for (const id of [stepped, logged]) {
        expect(events.filter((e) => e.projectId === id && e.message === 'Creating Web tier...'), `project ${id}`).toHaveLength(1);
      }
      // The writes did fail and were tried again (not merely never cut).
      expect(server.output()).toMatch(/database unavailable: jobs wait and retry their writes/);
      await server.terminate();
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('a claim whose COMMIT answer was lost is handed back by the claim check and resumed, not left RUNNING', async () => {
    const { view, name } = await freshDatabase();
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: pgs.port });
    try {
      const server = await spawnServer({ db: { backend: 'postgresql', url: proxy.url(name) }, name: 'lost-claim', env: { MOCK_STEP_DELAY_MS: '100', RUNNER_POLL_MS: '500' } });
      const token = await server.login();
      // The claim's last message: the RUNNING status event, then COMMIT.
      const lost = proxy.loseAnswerTo("E'status', E'RUNNING'", 'commit');
      const id = await provision(server, token, { serviceName: 'lost-claim', template: 'single' });
      await lost;
      await waitUntil(async () => (await view.projects()).find((p) => p.id === id)?.status === 'COMPLETED', 30_000, 'the run COMPLETED');
      const { problems, projects } = await accountFor(view);
      expect(problems).toEqual([]);
      const messages = projects.get(id)!.events.map((e) => e.message ?? `${e.kind}:${e.status}`);
      const handedBack = messages.findIndex((m) => m.startsWith(`Handed back by instance ${server.instanceId}: it held the claim`));
      const resumed = messages.findIndex((m) => m === `Resumed by instance ${server.instanceId} after an interruption (0 steps already done)`);
      expect(handedBack, messages.join('\n')).toBeGreaterThan(0);
      expect(resumed).toBeGreaterThan(handedBack);
      await server.terminate();
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('two instances on one database, PostgreSQL restarted mid-way: every job completes, each run by one instance only', async () => {
    const { db, view } = await freshDatabase();
    // A dead-after of 2 s on a loaded machine (see multi-instance.test.ts), far shorter than the outage.
    const env = { ...ENV, RUNNER_DEAD_AFTER_MS: '2000' };
    const a = await spawnServer({ db, name: 'instance A', env });
    const b = await spawnServer({ db, name: 'instance B', env });
    const tokens = new Map([
      [a, await a.login()],
      [b, await b.login()],
    ]);
    const batch = await orderAndFollow([a, b], tokens, 100, 'pair');
    await stepsUnderWay(view, 60);
    await pgs.stop('fast');
    await new Promise((r) => setTimeout(r, 5_000));
    await pgs.start();
    await expectAllCompleted(view, batch, 60_000);
    const { projects } = await accountFor(view);
    const resumed = [...projects.values()].filter((p) => p.resumes.length > 0).map((p) => p.id);
    expect(resumed, 'no job was taken over: neither instance was taken for dead').toEqual([]);
    for (const server of [a, b]) {
      expect(server.output()).not.toMatch(/took over projects|taken for dead|provisioning job crashed/);
      expect(server.output()).toMatch(/database reachable again/);
    }
    await a.disposeClients();
    await b.disposeClients();
    await Promise.all([a.terminate(), b.terminate()]);
  }, 240_000);
});
