/**
 * Crash recovery and graceful hand-back with real server processes (issue #5):
 *
 * - `kill -9` of the server while 100 mock provisions are RUNNING (each with some, not all,
 *   of its steps done), then a restart on the same data: within 30 seconds none is RUNNING,
 *   every one is COMPLETED — resumed from its checkpoint by the new instance — or FAILED with a
 *   reason, no step ran twice, and the hosts held are exactly those of live projects.
 *   On SQLite and on PostgreSQL.
 * - SIGTERM mid-run: the process stops claiming (queued orders stay PENDING and unclaimed),
 *   hands its running jobs back ("Handed back by instance …"), exits 0 promptly, and the next
 *   instance resumes them to COMPLETED. Also when the signal lands while the instance is still
 *   claiming a backlog of queued orders: a job claimed in that moment is handed back too, not
 *   left RUNNING under the exited instance's id.
 *
 * Everything is counted from the rows themselves (tests/helpers/process.ts `account`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import {
  accountFor,
  countBy,
  followProject,
  inBatches,
  dataTargets,
  openDbView,
  provision,
  RUN_STEP_COUNT,
  spawnServer,
  waitUntil,
  type DbTarget,
  type DbView,
  type ProjectRow,
  type ServerProcess,
} from '../helpers/process.js';

const TEMPLATES = ['single', 'standard', 'k8s_small'];
const backends = await backendsFor('crash resume (real processes)');

const data = dataTargets('crash');
afterAll(() => data.cleanUp());
const freshData = (backend: string): Promise<DbTarget> => data.fresh(backend);

const isSettled = (p: ProjectRow) => p.status !== 'RUNNING' && p.status !== 'PENDING';

/** The server wrote nothing at error level (pino 50) or above. */
function expectNoErrorLogs(server: ServerProcess): void {
  const errors = server.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
  expect(errors, `${server.name} logged errors`).toEqual([]);
}

for (const backend of backends) {
  describe(`kill -9 during 100 running mock provisions, then restart (${backend})`, () => {
    const N = 100;
    let db: DbTarget;
    let view: DbView | undefined;
    beforeAll(async () => {
      db = await freshData(backend);
    });
    afterAll(async () => {
      await view?.close();
    });

    it('resumes every run within 30 s: none RUNNING, none done twice, no host leaked', async () => {
      // Slow steps (5 checkpoints × 1 s) so that the whole batch is mid-run at the kill.
      const first = await spawnServer({ db, name: `first (${backend})`, env: { MOCK_STEP_DELAY_MS: '1000', RUNNER_CONCURRENCY: '200' } });
      const token = await first.login();
      view = await openDbView(db);
      const orders = Array.from({ length: N }, (_, i) => ({ serviceName: `crash-${i}`, template: TEMPLATES[i % TEMPLATES.length] }));
      const ids = await inBatches(orders, 20, (order) => provision(first, token, order));
      expect(new Set(ids).size).toBe(N);

      // Kill only once all 100 are RUNNING and at least half of them are part-way through.
      await waitUntil(
        async () => {
          const rows = await view!.projects();
          const finished = rows.filter(isSettled);
          if (finished.length) throw new Error(`${finished.length} runs finished before the kill; the test needs slower steps`);
          const running = rows.filter((p) => p.status === 'RUNNING');
          return running.length === N && running.filter((p) => p.completedSteps.length > 0).length >= N / 2;
        },
        20_000,
        '100 RUNNING projects with steps done',
      );
      const killed = await first.kill9();
      expect(killed.signal).toBe('SIGKILL');

      // What the crash left: 100 RUNNING, owned by the dead instance, some but not all steps done.
      const left = await view.projects();
      expect(countBy(left, (p) => p.status)).toEqual({ RUNNING: N });
      expect(left.every((p) => p.claimedBy === first.instanceId)).toBe(true);
      const stepsAtKill = new Map(left.map((p) => [p.id, p.completedSteps.length]));
      const midRun = left.filter((p) => p.completedSteps.length > 0 && p.completedSteps.length < RUN_STEP_COUNT);
      expect(midRun.length, `steps done at the kill: ${JSON.stringify(countBy(left, (p) => String(p.completedSteps.length)))}`).toBeGreaterThanOrEqual(N / 2);
      expect(left.some((p) => p.completedSteps.length === RUN_STEP_COUNT)).toBe(false);
      const beforeRestart = await accountFor(view);
      expect(beforeRestart.problems).toEqual([]);

      // Restart on the same data (fast steps now): within 30 s nothing is RUNNING or PENDING.
      const restartAt = Date.now();
      const second = await spawnServer({ db, name: `second (${backend})`, env: { MOCK_STEP_DELAY_MS: '100', RUNNER_CONCURRENCY: '200' } });
      await waitUntil(async () => (await view!.projects()).every(isSettled), 30_000 - (Date.now() - restartAt), 'every run to settle after the restart');
      const settledMs = Date.now() - restartAt;
      expect(settledMs).toBeLessThan(30_000);

      const after = await accountFor(view);
      expect(after.problems).toEqual([]);
      for (const p of after.rows) {
        expect(['COMPLETED', 'FAILED'], `project ${p.id}`).toContain(p.status);
        if (p.status === 'FAILED') expect(p.error, `project ${p.id} FAILED without a reason`).toBeTruthy();
        expect(p.claimedBy, `project ${p.id} still claimed`).toBeNull();
      }
      // The mock runner is resumable: every interrupted run is resumed (never failed), once,
      // by the new instance, from exactly the checkpoint the crash left.
      expect(countBy(after.rows, (p) => p.status)).toEqual({ COMPLETED: N });
      for (const [id, acc] of after.projects) {
        expect(acc.resumes, `resumes of project ${id}`).toEqual([{ instance: second.instanceId, stepsDone: stepsAtKill.get(id) }]);
        expect(acc.handedBackBy).toEqual([]);
      }
      // The dead instance is forgotten; only the live one is registered.
      expect(await waitUntil(async () => {
        const instances = await view!.instances();
        return instances.length === 1 && instances;
      }, 5_000, 'the dead instance to be removed')).toEqual([second.instanceId]);

      // The API agrees.
      const history = await second.request('GET', '/api/history?limit=500', { token: await second.login() });
      expect(history.status).toBe(200);
      const mine = (history.body as { id: number; status: string }[]).filter((r) => ids.includes(r.id));
      expect(mine).toHaveLength(N);
      expect(mine.every((r) => r.status === 'COMPLETED')).toBe(true);

      const stopped = await second.terminate();
      expect(stopped.code, second.output().slice(-3000)).toBe(0);
      expectNoErrorLogs(second);
      console.info(`[crash-resume ${backend}] steps done at kill: ${JSON.stringify(countBy(left, (p) => String(p.completedSteps.length)))}; settled ${settledMs} ms after the restart began`);
    }, 120_000);
  });

  describe(`SIGTERM mid-run hands the running jobs back (${backend})`, () => {
    const N = 20;
    const CONCURRENCY = 10;
    let db: DbTarget;
    let view: DbView | undefined;
    beforeAll(async () => {
      db = await freshData(backend);
    });
    afterAll(async () => {
      await view?.close();
    });

    it('stops claiming, hands its jobs back, exits 0 promptly; the next instance resumes them to COMPLETED', async () => {
      const first = await spawnServer({
        db,
        name: `terminated (${backend})`,
        env: { MOCK_STEP_DELAY_MS: '1000', RUNNER_CONCURRENCY: String(CONCURRENCY) },
      });
      const token = await first.login();
      view ??= await openDbView(db);
      const ids = await inBatches(
        Array.from({ length: N }, (_, i) => ({ serviceName: `sigterm-${i}`, template: TEMPLATES[i % TEMPLATES.length] })),
        10,
        (order) => provision(first, token, order),
      );
      // 10 RUNNING (some steps done), 10 queued PENDING.
      const before = await waitUntil(
        async () => {
          const rows = await view!.projects();
          if (rows.some(isSettled)) throw new Error('a run finished before SIGTERM; the test needs slower steps');
          const running = rows.filter((p) => p.status === 'RUNNING');
          return running.length === CONCURRENCY && running.every((p) => p.completedSteps.length > 0) ? rows : undefined;
        },
        20_000,
        `${CONCURRENCY} RUNNING projects with steps done`,
      );
      const runningIds = before.filter((p) => p.status === 'RUNNING').map((p) => p.id);
      const pendingIds = before.filter((p) => p.status === 'PENDING').map((p) => p.id);
      expect(pendingIds).toHaveLength(N - CONCURRENCY);

      // A live subscriber must not hold the process up.
      const stream = followProject(first.wsClient(token), runningIds[0]);
      await waitUntil(() => stream.events.length > 0, 10_000, 'the subscriber to receive events');

      const stopped = await first.terminate(20_000);
      expect(stopped.signal, first.output().slice(-3000)).toBeNull();
      expect(stopped.code, first.output().slice(-3000)).toBe(0);
      expect(stopped.ms, 'SIGTERM to exit').toBeLessThan(5_000);
      expect(first.output()).toContain('SIGTERM: shutting down');
      expectNoErrorLogs(first);

      // After the exit: the running jobs were handed back (unowned, still RUNNING, resumable),
      // the queued ones were not claimed, and the instance unregistered itself.
      const handedBack = await accountFor(view);
      expect(handedBack.problems).toEqual([]);
      const stepsAtStop = new Map(handedBack.rows.map((p) => [p.id, p.completedSteps.length]));
      for (const p of handedBack.rows) {
        expect(p.claimedBy, `project ${p.id} still claimed after SIGTERM`).toBeNull();
        const acc = handedBack.projects.get(p.id)!;
        if (runningIds.includes(p.id)) {
          expect(p.status).toBe('RUNNING');
          expect(acc.handedBackBy, `project ${p.id}`).toEqual([first.instanceId]);
          expect(acc.events.at(-1)?.message).toMatch(/^Handed back by instance /);
        } else {
          expect(p.status, `queued project ${p.id} after SIGTERM`).toBe('PENDING');
          expect(acc.events.some((e) => e.kind === 'status' && e.status === 'RUNNING'), `queued project ${p.id} was claimed during shutdown`).toBe(false);
        }
      }
      expect(await view.instances()).not.toContain(first.instanceId);

      // The next instance resumes the handed-back jobs and runs the queued ones.
      const restartAt = Date.now();
      const next = await spawnServer({ db, name: `next (${backend})`, env: { MOCK_STEP_DELAY_MS: '100', RUNNER_CONCURRENCY: '200' } });
      await waitUntil(async () => (await view!.projects()).every(isSettled), 30_000, 'every run to settle on the next instance');
      const settledMs = Date.now() - restartAt;
      const after = await accountFor(view);
      expect(after.problems).toEqual([]);
      expect(countBy(after.rows, (p) => p.status)).toEqual({ COMPLETED: N });
      for (const id of ids) {
        const acc = after.projects.get(id)!;
        if (runningIds.includes(id)) {
          expect(acc.resumes, `resumes of project ${id}`).toEqual([{ instance: next.instanceId, stepsDone: stepsAtStop.get(id) }]);
        } else {
          expect(acc.resumes, `queued project ${id}`).toEqual([]);
        }
      }
      const done = await next.terminate();
      expect(done.code).toBe(0);
      expectNoErrorLogs(next);
      console.info(`[sigterm ${backend}] exited ${stopped.ms} ms after SIGTERM; next instance settled ${settledMs} ms after it began`);
    }, 90_000);

    it('SIGTERM while the instance is still claiming a backlog: every job it claimed is handed back', async () => {
      // A backlog of queued orders: the instance that takes them runs one at a time.
      const N = 100;
      const slow = await spawnServer({ db, name: `one-at-a-time (${backend})`, env: { MOCK_STEP_DELAY_MS: '5000', RUNNER_CONCURRENCY: '1' } });
      const token = await slow.login();
      view ??= await openDbView(db);
      const known = new Set((await view!.projects()).map((p) => p.id));
      await inBatches(Array.from({ length: N }, (_, i) => i), 20, (i) => provision(slow, token, { serviceName: `backlog-${i}`, template: 'single' }));
      expect((await slow.terminate()).code).toBe(0);

      // The next instance claims the whole backlog as it starts; SIGTERM lands while it does.
      const claimer = await spawnServer({ db, name: `claimer (${backend})`, env: { MOCK_STEP_DELAY_MS: '1000', RUNNER_CONCURRENCY: '1000' } });
      const stopped = await claimer.terminate(20_000);
      expect(stopped.code, claimer.output().slice(-3000)).toBe(0);

      const acc = await accountFor(view!);
      expect(acc.problems).toEqual([]);
      const backlog = acc.rows.filter((p) => !known.has(p.id));
      const problems: string[] = [];
      for (const p of backlog) {
        const events = acc.projects.get(p.id)!.events;
        const last = events.at(-1);
        if (p.claimedBy !== null) problems.push(`project ${p.id} (${p.status}) still claimed by ${p.claimedBy === claimer.instanceId ? 'the exited instance' : p.claimedBy}; last event: ${last?.kind} ${last?.message ?? last?.status}`);
        else if (p.status === 'RUNNING' && !/^Handed back by instance /.test(last?.message ?? '')) problems.push(`project ${p.id} RUNNING but not handed back (last event: ${last?.kind} ${last?.message ?? last?.status})`);
      }
      const claimedByIt = backlog.filter((p) => acc.projects.get(p.id)!.handedBackBy.includes(claimer.instanceId)).length;
      expect(problems, `after SIGTERM: ${JSON.stringify(countBy(backlog, (p) => p.status))}, ${claimedByIt} handed back by it`).toEqual([]);
      expectNoErrorLogs(claimer);

      const next = await spawnServer({ db, name: `after backlog (${backend})`, env: { MOCK_STEP_DELAY_MS: '20', RUNNER_CONCURRENCY: '200' } });
      await waitUntil(async () => (await view!.projects()).every(isSettled), 30_000, 'every run to settle on the next instance');
      const after = await accountFor(view!);
      expect(after.problems).toEqual([]);
      expect(countBy(after.rows, (p) => p.status)).toEqual({ COMPLETED: after.rows.length });
      expect((await next.terminate()).code).toBe(0);
      console.info(`[sigterm backlog ${backend}] at SIGTERM: ${JSON.stringify(countBy(backlog, (p) => p.status))}, ${claimedByIt} handed back`);
    }, 90_000);
  });
}
