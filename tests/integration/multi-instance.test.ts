/**
 * Two real server processes on one PostgreSQL database behave as one service (issue #5):
 *
 * - 200 provisions, ordered half through each instance: every job is claimed and run by
 *   exactly one instance (each step logged once, one RUNNING, no takeover, one owner seen in
 *   `claimed_by` while it ran), both instances run some; a subscriber on EACH instance receives
 *   every event of every job, in order, without gap or duplicate (compared with the stored
 *   events), and each instance's live list stream (projectChanges, no replay) sees every
 *   job reach COMPLETED with its final lastSeq.
 * - `kill -9` of one instance mid-run: the other takes over its jobs after
 *   RUNNER_DEAD_AFTER_MS and resumes them from their checkpoints to COMPLETED, nothing done
 *   twice; its subscribers still receive every event of those jobs in order.
 * - An instance that stalls (SIGSTOP) for longer than RUNNER_DEAD_AFTER_MS is taken for dead
 *   while the other has no room to take its jobs over; when it wakes up, its old jobs and any
 *   re-claim of the same projects must not both run: no step twice.
 *
 * PostgreSQL only: skipped (with the reason) when it is unreachable, failed when
 * REQUIRE_POSTGRES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { createTempPostgresDatabase, shouldRunPostgres, type TempDatabase } from '../helpers/postgres.js';
import {
  accountFor,
  countBy,
  followChanges,
  followProject,
  inBatches,
  killAllServers,
  openDbView,
  provision,
  RUN_STEP_COUNT,
  spawnServer,
  waitUntil,
  type Accounting,
  type ChangeSeen,
  type DbTarget,
  type DbView,
  type EventStream,
  type ServerProcess,
} from '../helpers/process.js';

const TEMPLATES = ['single', 'standard', 'k8s_small'];
/** Subscriptions per graphql-ws connection. */
const PER_SOCKET = 50;
/**
 * Two live instances share a loaded two-core machine here: a dead-after of 2 s (10 heartbeats)
 * keeps a slow heartbeat from passing for a death, while a killed instance is still taken over
 * within seconds.
 */
const ENV = { MOCK_STEP_DELAY_MS: '500', RUNNER_CONCURRENCY: '200', RUNNER_DEAD_AFTER_MS: '2000' };

const runPostgres = await shouldRunPostgres('multi-instance (two real processes on PostgreSQL)');

describe.skipIf(!runPostgres)('two server processes on one PostgreSQL database', () => {
  let temp: TempDatabase;
  let db: DbTarget;
  let view: DbView;
  let a: ServerProcess;
  let b: ServerProcess;
  const tokens = new Map<ServerProcess, string>();
  /** Instances seen in `claimed_by` per project while the jobs ran. */
  const owners = new Map<number, Set<string>>();
  /** The oldest heartbeat seen per instance while both ran (how close to "dead" they came). */
  const maxHeartbeatAge = new Map<string, number>();
  let watching = true;
  let watcher: Promise<void> | undefined;

  beforeAll(async () => {
    temp = await createTempPostgresDatabase();
    db = { backend: 'postgresql', url: temp.url };
    // One after the other, so the migrations run once.
    a = await spawnServer({ db, name: 'instance A', env: ENV });
    b = await spawnServer({ db, name: 'instance B', env: ENV });
    tokens.set(a, await a.login());
    tokens.set(b, await b.login());
    view = await openDbView(db);
    watcher = (async () => {
      while (watching) {
        for (const p of await view.projects().catch(() => [])) {
          if (!p.claimedBy) continue;
          const set = owners.get(p.id) ?? new Set();
          set.add(p.claimedBy);
          owners.set(p.id, set);
        }
        for (const [id, age] of await view.heartbeatAges().catch(() => new Map<string, number>())) {
          maxHeartbeatAge.set(id, Math.max(maxHeartbeatAge.get(id) ?? 0, age));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  });

  afterAll(async () => {
    watching = false;
    await watcher;
    await killAllServers();
    await view?.close();
    await temp?.drop();
  });

  /** graphql-ws clients to one instance, PER_SOCKET subscriptions each. */
  function socketsFor(server: ServerProcess) {
    const clients: Client[] = [];
    let used = 0;
    return (): Client => {
      if (used++ % PER_SOCKET === 0) clients.push(server.wsClient(tokens.get(server)!));
      return clients[clients.length - 1];
    };
  }

  /** The stream matches the stored events exactly: same seqs 1..last, same kinds and messages. */
  function expectFullStream(stream: EventStream, acc: Accounting, where: string): void {
    const stored = acc.projects.get(stream.projectId)!.events;
    expect(stream.errors, `${where}: stream errors for project ${stream.projectId}`).toEqual([]);
    expect(stream.events.map((e) => e.seq), `${where}: seqs of project ${stream.projectId}`).toEqual(stored.map((e) => e.seq));
    expect(
      stream.events.map((e) => `${e.kind}/${e.status}/${e.message ?? ''}`),
      `${where}: events of project ${stream.projectId}`,
    ).toEqual(stored.map((e) => `${e.kind}/${e.status}/${e.message ?? ''}`));
  }

  /** Live list stream: per project, lastSeq never goes back and the last change is the final one. */
  function expectChangesSeen(changes: ChangeSeen[], ids: number[], acc: Accounting & { rows: { id: number; lastSeq: number }[] }, where: string): void {
    const lastSeqOf = new Map(acc.rows.map((p) => [p.id, p.lastSeq]));
    const byProject = new Map<number, ChangeSeen[]>();
    for (const c of changes) byProject.set(c.id, [...(byProject.get(c.id) ?? []), c]);
    const problems: string[] = [];
    for (const id of ids) {
      const seen = byProject.get(id) ?? [];
      const seqs = seen.map((c) => c.lastSeq);
      if (seqs.some((s, i) => i > 0 && s < seqs[i - 1])) problems.push(`project ${id}: lastSeq went back: ${seqs.join(',')}`);
      const last = seen.at(-1);
      if (!last || last.status !== 'COMPLETED' || last.lastSeq !== lastSeqOf.get(id)) {
        problems.push(`project ${id}: last change seen ${JSON.stringify(last)}, stored lastSeq ${lastSeqOf.get(id)}`);
      }
    }
    expect(problems, `${where}: projectChanges`).toEqual([]);
  }

  it('runs 200 provisions ordered through both instances exactly once; a subscriber on each instance receives every event in order', async () => {
    const N = 200;
    const listA = followChanges(a.wsClient(tokens.get(a)!));
    const listB = followChanges(b.wsClient(tokens.get(b)!));
    const socketA = socketsFor(a);
    const socketB = socketsFor(b);
    const streams: { a: EventStream; b: EventStream }[] = [];

    const order = async (i: number) => {
      const via = i % 2 === 0 ? a : b;
      const id = await provision(via, tokens.get(via)!, { serviceName: `multi-${i}`, template: TEMPLATES[i % TEMPLATES.length] });
      streams.push({ a: followProject(socketA(), id), b: followProject(socketB(), id) });
      return id;
    };
    // The first order also shows both list streams are live before the rest is ordered.
    const firstId = await order(0);
    await waitUntil(() => listA.changes.some((c) => c.id === firstId) && listB.changes.some((c) => c.id === firstId), 10_000, 'both list streams to see the first order');
    const ids = [firstId, ...(await inBatches(Array.from({ length: N - 1 }, (_, i) => i + 1), 20, order))];
    expect(new Set(ids).size).toBe(N);

    const started = Date.now();
    await waitUntil(async () => (await view.projects()).filter((p) => ids.includes(p.id)).every((p) => p.status === 'COMPLETED' || p.status === 'FAILED'), 60_000, 'all 200 runs to finish');
    const finishedMs = Date.now() - started;
    const allDone = await Promise.race([
      Promise.all(streams.flatMap((s) => [s.a.done, s.b.done])),
      new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
    ]);
    const unfinished = streams.flatMap((s) => [s.a, s.b]).filter((s) => s.events.at(-1)?.status !== 'COMPLETED');
    expect(allDone, `${unfinished.length} subscriptions did not complete, e.g. project ${unfinished[0]?.projectId} got seqs ${unfinished[0]?.events.map((e) => e.seq)}`).not.toBeNull();
    expect((allDone as boolean[]).every(Boolean)).toBe(true);

    const acc = await accountFor(view);
    expect(acc.problems).toEqual([]);
    expect(countBy(acc.rows, (p) => p.status)).toEqual({ COMPLETED: N });

    // Exactly once: no takeover, no hand-back, one owner while it ran.
    for (const id of ids) {
      const p = acc.projects.get(id)!;
      expect(p.resumes, `project ${id} was taken over`).toEqual([]);
      expect(p.handedBackBy).toEqual([]);
      expect([...(owners.get(id) ?? [])], `owners seen for project ${id}`).toHaveLength(1);
    }
    const ranBy = countBy(ids, (id) => [...owners.get(id)!][0]);
    expect(Object.keys(ranBy).sort()).toEqual([a.instanceId, b.instanceId].sort());
    // Each run is counted once, in the metrics of the instance that ran it.
    for (const instance of [a, b]) {
      const exposition = (await instance.request('GET', '/metrics')).body as string;
      const completed = [...exposition.matchAll(/^hcmp_provisions_total\{infra="\w+",status="COMPLETED"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(completed, `runs counted by ${instance.name}`).toBe(ranBy[instance.instanceId]);
    }

    // Every event of every job on both instances, in order.
    for (const s of streams) {
      expectFullStream(s.a, acc, 'instance A');
      expectFullStream(s.b, acc, 'instance B');
    }
    expect(listA.errors).toEqual([]);
    expect(listB.errors).toEqual([]);
    expectChangesSeen(listA.changes, ids, acc, 'instance A');
    expectChangesSeen(listB.changes, ids, acc, 'instance B');
    listA.unsubscribe();
    listB.unsubscribe();
    await a.disposeClients();
    await b.disposeClients();
    const ages = { A: Math.round(maxHeartbeatAge.get(a.instanceId) ?? 0), B: Math.round(maxHeartbeatAge.get(b.instanceId) ?? 0) };
    console.info(`[multi-instance] jobs run per instance: ${JSON.stringify({ A: ranBy[a.instanceId], B: ranBy[b.instanceId] })}; all finished ${finishedMs} ms after the last order; oldest heartbeat seen (ms): ${JSON.stringify(ages)}`);
  }, 120_000);

  it('kill -9 of one instance mid-run: the other takes over and resumes its jobs; its subscribers see every event', async () => {
    const N = 100;
    const socketA = socketsFor(a);
    const streams = new Map<number, EventStream>();
    const ids = await inBatches(Array.from({ length: N }, (_, i) => i), 20, async (i) => {
      const via = i % 2 === 0 ? a : b;
      const id = await provision(via, tokens.get(via)!, { serviceName: `takeover-${i}`, template: TEMPLATES[i % TEMPLATES.length] });
      streams.set(id, followProject(socketA(), id));
      return id;
    });

    // Kill B while it runs jobs part-way (at least two checkpoints still to go, so none of
    // these can finish between this look and the kill).
    let seen = '';
    const partWay = await waitUntil(
      async () => {
        const rows = (await view.projects()).filter((p) => ids.includes(p.id));
        seen = JSON.stringify(countBy(rows, (p) => `${p.status}/${p.claimedBy === b.instanceId ? 'B' : p.claimedBy === a.instanceId ? 'A' : '-'}/${p.completedSteps.length}`));
        const mine = rows.filter(
          (p) => p.claimedBy === b.instanceId && p.status === 'RUNNING' && p.completedSteps.length > 0 && p.completedSteps.length < RUN_STEP_COUNT - 1,
        );
        return mine.length >= 10 && mine;
      },
      30_000,
      'instance B to run jobs part-way',
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen (status/owner/steps): ${seen}`);
    });
    await b.kill9();
    const killedAt = Date.now();
    // Read at once: the survivor clears B's claims only after RUNNER_DEAD_AFTER_MS.
    const orphaned = (await view.projects()).filter((p) => ids.includes(p.id) && p.claimedBy === b.instanceId);
    expect(orphaned.every((p) => p.status === 'RUNNING')).toBe(true);
    const stepsAtKill = new Map(orphaned.map((p) => [p.id, p.completedSteps.length]));

    await waitUntil(async () => (await view.projects()).filter((p) => ids.includes(p.id)).every((p) => p.status === 'COMPLETED' || p.status === 'FAILED'), 30_000, 'every job to finish after the kill');
    const recoveredMs = Date.now() - killedAt;
    await Promise.race([Promise.all([...streams.values()].map((s) => s.done)), new Promise((r) => setTimeout(r, 20_000))]);

    const acc = await accountFor(view);
    expect(acc.problems).toEqual([]);
    expect(countBy(acc.rows.filter((p) => ids.includes(p.id)), (p) => p.status)).toEqual({ COMPLETED: N });
    const partWayIds = new Set(partWay.map((p) => p.id));
    let resumed = 0;
    for (const id of ids) {
      const p = acc.projects.get(id)!;
      // Only B's jobs are taken over, each once, by A (the resume's step count is checked
      // against the stored step events by `account`).
      expect(p.resumes.every((r) => r.instance === a.instanceId), `resumes of project ${id}: ${JSON.stringify(p.resumes)}`).toBe(true);
      expect(p.resumes.length, `resumes of project ${id}`).toBeLessThanOrEqual(1);
      if (p.resumes.length) {
        resumed++;
        expect(owners.get(id)?.has(b.instanceId), `project ${id} resumed but never held by B`).toBe(true);
      }
      if (partWayIds.has(id)) expect(p.resumes, `project ${id}, part-way on B at the kill`).toHaveLength(1);
      if (stepsAtKill.has(id)) expect(p.resumes, `project ${id}, held by B at the kill`).toEqual([{ instance: a.instanceId, stepsDone: stepsAtKill.get(id) }]);
      // Its subscriber on the surviving instance saw all of it, across the takeover.
      expectFullStream(streams.get(id)!, acc, 'instance A');
    }
    expect(resumed).toBeGreaterThanOrEqual(partWayIds.size);
    expect(await waitUntil(async () => {
      const instances = await view.instances();
      return instances.length === 1 && instances;
    }, 5_000, 'the dead instance to be removed')).toEqual([a.instanceId]);
    const errors = a.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
    expect(errors, 'instance A logged errors').toEqual([]);
    const stopped = await a.terminate();
    expect(stopped.code).toBe(0);
    console.info(`[multi-instance] kill -9 of B orphaned ${orphaned.length} running jobs (steps done: ${JSON.stringify(countBy(orphaned, (p) => String(p.completedSteps.length)))}); ${resumed} resumed by A; all ${N} finished ${recoveredMs} ms after the kill`);
  }, 90_000);
});

describe.skipIf(!runPostgres)('an instance taken for dead that wakes up (PostgreSQL)', () => {
  let temp: TempDatabase;
  let db: DbTarget;
  let view: DbView;
  let busy: ServerProcess;
  let sleeper: ServerProcess;

  beforeAll(async () => {
    temp = await createTempPostgresDatabase();
    db = { backend: 'postgresql', url: temp.url };
    // The survivor can run one job only: it takes the sleeper for dead but has no room to
    // take its jobs over, so the sleeper finds them unclaimed when it wakes.
    busy = await spawnServer({ db, name: 'busy instance', env: { MOCK_STEP_DELAY_MS: '2000', RUNNER_CONCURRENCY: '1' } });
    view = await openDbView(db);
  });

  afterAll(async () => {
    try {
      if (sleeper) process.kill(sleeper.pid, 'SIGCONT');
    } catch {
      // gone
    }
    await killAllServers();
    await view?.close();
    await temp?.drop();
  });

  it('nothing runs twice when a stalled instance (SIGSTOP longer than RUNNER_DEAD_AFTER_MS) resumes', async () => {
    const token = await busy.login();
    const first = await provision(busy, token, { serviceName: 'keeps-busy', template: 'single' });
    await waitUntil(async () => (await view.projects()).some((p) => p.id === first && p.claimedBy === busy.instanceId), 10_000, 'the busy instance to claim its one job');
    // Started only now, so that the busy instance's one slot is surely taken by its own job.
    sleeper = await spawnServer({ db, name: 'sleeping instance', env: { MOCK_STEP_DELAY_MS: '2000', RUNNER_CONCURRENCY: '200' } });
    const sleeperToken = await sleeper.login();
    const ids = await inBatches(Array.from({ length: 20 }, (_, i) => i), 10, (i) =>
      provision(sleeper, sleeperToken, { serviceName: `stalled-${i}`, template: TEMPLATES[i % TEMPLATES.length] }),
    );
    await waitUntil(
      async () => (await view.projects()).filter((p) => ids.includes(p.id) && p.claimedBy === sleeper.instanceId && p.completedSteps.length > 0).length === ids.length,
      20_000,
      'the sleeping instance to run its jobs part-way',
    );
    // Stall it (a long GC pause, a frozen VM) until the other instance removes it as dead.
    process.kill(sleeper.pid, 'SIGSTOP');
    await waitUntil(async () => !(await view.instances()).includes(sleeper.instanceId), 10_000, 'the stalled instance to be taken for dead');
    await waitUntil(async () => (await view.projects()).filter((p) => ids.includes(p.id)).every((p) => p.claimedBy === null), 5_000, 'its jobs to lose their owner');
    process.kill(sleeper.pid, 'SIGCONT');

    await waitUntil(async () => (await view.projects()).filter((p) => ids.includes(p.id) || p.id === first).every((p) => p.status === 'COMPLETED' || p.status === 'FAILED'), 60_000, 'every job to finish');
    const acc = await accountFor(view);
    const firstBad = /^project (\d+)/.exec(acc.problems[0] ?? '')?.[1];
    const dump = firstBad ? acc.projects.get(Number(firstBad))!.events.map((e) => `${e.seq} ${e.kind} ${e.message ?? e.status}`).join('\n') : '';
    expect(acc.problems, `events of project ${firstBad}:\n${dump}`).toEqual([]);
    expect(countBy(acc.rows, (p) => p.status)).toEqual({ COMPLETED: ids.length + 1 });
    // The stalled instance's jobs were taken up again after the stall (by whichever instance
    // had room), from the checkpoint they had reached (checked by `account`).
    for (const id of ids) expect(acc.projects.get(id)!.resumes.length, `resumes of project ${id}`).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
