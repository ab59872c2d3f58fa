/**
 * Start-up recovery (issue 5). Runners record a checkpoint per completed step, so after a crash:
 *
 * - with the (resumable) mock runner, a run left RUNNING by the dead process is resumed by the
 *   next instance from its last completed step, nothing done twice, on the hosts it already
 *   held; a run a graceful close handed back resumes the same way; a PENDING order is run;
 * - with a runner that cannot resume, the interrupted run ends FAILED with "interrupted by
 *   server restart" and its hosts go back to the pool (a graceful close fails such a run with
 *   "interrupted by server shutdown" at once);
 * - in both, hosts held by a project that no longer exists are freed, a COMPLETED project keeps
 *   its hosts, and the dead instance's registration is removed.
 *
 * A crash cannot happen in-process (a graceful close hands running jobs back, or fails them),
 * so the test takes real runs to RUNNING, stops the server, and writes the state it had seen
 * mid-run back into the database, claimed by the dead instance, before the next start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/core';
import { loadCatalog } from '../../server/config/catalog.js';
import { Project, ProvisionEvent, RunnerInstance, WorkloadHost, type ProjectDetails } from '../../server/entities/index.js';
import { RESOURCES_STEP } from '../../server/runners/mock-runner.js';
import { RESTART_REASON, SHUTDOWN_REASON } from '../../server/runners/dispatcher.js';
import { backendsFor } from '../helpers/backends.js';
import { openDataOf, removeDataDir, reuseOf } from '../helpers/data.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { nonResumableRunner } from '../helpers/test-runners.js';

const GHOST_PROJECT = 987_654;
const catalog = loadCatalog();
const STEPS = catalog.mockSteps;
const ALL_STEP_IDS = [...STEPS.map((s) => s.id), RESOURCES_STEP];
/** Slow enough that a run is caught between steps, with several still to do. */
const SLOW = { MOCK_STEP_DELAY_MS: '500', RUNNER_CONCURRENCY: '2' };

async function provision(server: TestServer, serviceName: string, template: string, infra: string): Promise<number> {
  const res = await server.request('POST', '/api/provision', {
    token: server.adminToken,
    body: { serviceName, config: { template }, targetInfra: { type: infra } },
  });
  expect(res.status).toBe(200);
  return res.body.project_id;
}

const hostsOf = (orm: MikroORM, projectId: number) =>
  orm.em.fork().find(WorkloadHost, { projectId }, { orderBy: { id: 'asc' } });

/** What a project row was at one moment of its run. */
interface Snapshot {
  id: number;
  details: ProjectDetails;
  lastSeq: number;
  completedSteps: string[];
  claimedBy: string;
  updatedAt: Date;
}

/** Waits until the run has completed at least `steps` steps and is still going, and remembers that state. */
async function midRun(orm: MikroORM, id: number, steps: number): Promise<Snapshot> {
  const p = await waitFor(async () => {
    const row = await orm.em.fork().findOne(Project, id);
    return row?.status === 'RUNNING' && row.claimedBy && (row.completedSteps?.length ?? 0) >= steps ? row : undefined;
  }, 15_000, `project ${id} to be mid-run`);
  expect(p.completedSteps!.length, 'caught before its last step').toBeLessThan(ALL_STEP_IDS.length);
  return { id, details: structuredClone(p.details), lastSeq: p.lastSeq, completedSteps: [...p.completedSteps!], claimedBy: p.claimedBy!, updatedAt: p.updatedAt };
}

/**
 * Writes back what a `kill -9` at the snapshot would have left: the project RUNNING, claimed by
 * the dead instance, with the events and checkpoints it had, holding `hostIds`; the dead
 * instance still registered with a heartbeat long stale.
 */
async function writeCrashState(data: MikroORM, snap: Snapshot, hostIds: number[]): Promise<void> {
  const em = data.em.fork();
  await em.nativeUpdate(
    Project,
    { id: snap.id },
    {
      status: 'RUNNING',
      details: snap.details,
      lastSeq: snap.lastSeq,
      completedSteps: snap.completedSteps,
      claimedBy: snap.claimedBy,
      pendingAction: null,
      assignedIp: null,
      updatedAt: snap.updatedAt,
    },
  );
  await em.nativeDelete(ProvisionEvent, { projectId: snap.id, seq: { $gt: snap.lastSeq } });
  await em.nativeUpdate(WorkloadHost, { id: { $in: hostIds } }, { status: 'provisioning', projectId: snap.id, owner: 'admin' });
  const stale = new Date(Date.now() - 3_600_000);
  await em.insert(RunnerInstance, { id: snap.claimedBy, hostname: 'crashed-host', pid: 1, startedAt: stale, heartbeatAt: stale });
}

/** Two hosts held by a project that no longer exists; returns their ids. */
async function addGhostHosts(data: MikroORM): Promise<number[]> {
  const em = data.em.fork();
  const free = await em.find(WorkloadHost, { infra: 'aws', status: 'available' }, { orderBy: { id: 'desc' }, limit: 2 });
  await em.nativeUpdate(WorkloadHost, { id: { $in: free.map((h) => h.id) } }, { status: 'assigned', projectId: GHOST_PROJECT, owner: 'ghost' });
  expect(await em.count(Project, { id: GHOST_PROJECT })).toBe(0);
  return free.map((h) => h.id);
}

/** The start-up log line of the worker instance: its id, and what it took over and freed. */
function startLine(server: TestServer): { instanceId: string; reclaimed: number; released: number } {
  const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'worker instance started');
  expect(line).toBeDefined();
  return line;
}

async function eventsOf(server: TestServer, projectId: number): Promise<ProvisionEvent[]> {
  return server.app.orm.em.fork().find(ProvisionEvent, { projectId }, { orderBy: { seq: 'asc' } });
}

/** A completed project, made on a first server whose data the next servers reuse. */
async function completedProject(first: TestServer): Promise<{ id: number; hostIds: number[] }> {
  const id = await provision(first, 'kept', 'single', 'vsphere');
  expect((await waitForFinalStatus(first, id, first.adminToken)).status).toBe('COMPLETED');
  return { id, hostIds: (await hostsOf(first.app.orm, id)).map((h) => h.id) };
}

async function expectKeptAndGhostsFreed(server: TestServer, kept: { id: number; hostIds: number[] }, ghostHostIds: number[]): Promise<void> {
  const em = server.app.orm.em.fork();
  const ghosts = await em.find(WorkloadHost, { id: { $in: ghostHostIds } });
  expect(ghosts).toHaveLength(2);
  for (const h of ghosts) expect([h.status, h.projectId ?? null, h.owner ?? null]).toEqual(['available', null, null]);
  expect(await em.count(WorkloadHost, { projectId: GHOST_PROJECT })).toBe(0);
  expect((await em.findOneOrFail(Project, kept.id)).status).toBe('COMPLETED');
  const keptHosts = await hostsOf(server.app.orm, kept.id);
  expect(keptHosts.map((h) => [h.id, h.status])).toEqual(kept.hostIds.map((id) => [id, 'assigned']));
}

for (const backend of await backendsFor('restart recovery')) {
  describe(`restart with the resumable mock runner: interrupted runs resume from their last checkpoint (${backend})`, () => {
    let first: TestServer | undefined;
    let slow: TestServer | undefined;
    let server: TestServer;
    let kept: { id: number; hostIds: number[] };
    const ids = { crashed: 0, handed: 0, queued: 0 };
    let crashedAt: Snapshot;
    /** The handed-back project as the graceful close left it. */
    let handedAt: Project;
    let crashedHostIds: number[] = [];
    let handedHostIds: number[] = [];
    let ghostHostIds: number[] = [];

    beforeAll(async () => {
      // 1. A completed project, whose hosts must survive the restarts.
      first = await startTestServer({ backend });
      kept = await completedProject(first);
      await first.close(true);

      // 2. A slow server running two jobs at a time: two runs mid-way with their hosts, one order PENDING.
      slow = await startTestServer({ backend, reuse: reuseOf(first), env: SLOW });
      ids.crashed = await provision(slow, 'crashed', 'standard', 'vsphere');
      ids.handed = await provision(slow, 'handed', 'single', 'vsphere');
      ids.queued = await provision(slow, 'queued', 'single', 'aws');
      const orm = slow.app.orm;
      crashedAt = await midRun(orm, ids.crashed, 2);
      await midRun(orm, ids.handed, 1);
      crashedHostIds = (await hostsOf(orm, ids.crashed)).map((h) => h.id);
      handedHostIds = (await hostsOf(orm, ids.handed)).map((h) => h.id);
      expect([crashedHostIds.length, handedHostIds.length]).toEqual([3, 1]);
      expect((await orm.em.fork().findOneOrFail(Project, ids.queued)).status).toBe('PENDING');
      // A graceful close hands both runs back: still RUNNING, nobody's, hosts still held.
      await slow.close(true);

      const data = await openDataOf(slow);
      try {
        const em = data.em.fork();
        for (const id of [ids.crashed, ids.handed]) {
          const p = await em.findOneOrFail(Project, id);
          expect([p.status, p.claimedBy ?? null, p.details.error]).toEqual(['RUNNING', null, null]);
          expect(p.details.logs.at(-1)).toMatch(/^Handed back by instance \S+ \(shutting down\); it resumes on the next instance$/);
          expect((await em.find(WorkloadHost, { projectId: id })).map((h) => h.status)).toEqual(Array(id === ids.crashed ? 3 : 1).fill('provisioning'));
        }
        handedAt = await em.findOneOrFail(Project, ids.handed);
        expect(await em.count(RunnerInstance, {})).toBe(0); // the closed instance left

        // 3. Put the crashed run back in the state a kill -9 at the snapshot would have left.
        await writeCrashState(data, crashedAt, crashedHostIds);
        ghostHostIds = await addGhostHosts(data);
        expect(await em.count(Project, { status: 'RUNNING' })).toBe(2);
        expect(await em.count(Project, { status: 'PENDING' })).toBe(1);
      } finally {
        await data.close(true);
      }

      // 4. The restart.
      server = await startTestServer({ backend, reuse: reuseOf(slow) });
    });

    afterAll(async () => {
      await server?.close();
      removeDataDir(first);
      removeDataDir(slow);
    });

    /** The run finished where it stopped: the steps it had not done, once each, then the resources. */
    async function expectResumed(id: number, before: { logs: string[]; lastSeq: number; completedSteps: string[] }, hostIds: number[]) {
      const { instanceId } = startLine(server);
      const row = await waitForFinalStatus(server, id, server.adminToken);
      expect(row.status).toBe('COMPLETED');
      expect(row.details.error).toBeNull();
      const done = before.completedSteps;
      expect(done.length).toBeGreaterThan(0);
      expect(row.details.logs).toEqual([
        ...before.logs,
        `Resumed by instance ${instanceId} after an interruption (${done.length} steps already done)`,
        ...STEPS.filter((s) => !done.includes(s.id)).map((s) => s.log),
        catalog.provisioning.completedLog,
      ]);
      // no step ran twice
      for (const step of STEPS) expect(row.details.logs.filter((l: string) => l === step.log), step.id).toHaveLength(1);
      const project = await server.app.orm.em.fork().findOneOrFail(Project, id);
      expect(project.completedSteps).toEqual(ALL_STEP_IDS);
      expect(project.claimedBy ?? null).toBeNull();

      // on the hosts it already held
      const hosts = await hostsOf(server.app.orm, id);
      expect(hosts.map((h) => [h.id, h.status])).toEqual(hostIds.map((h) => [h, 'assigned']));
      expect(row.details.resources.ssh_targets.map((t: any) => t.host)).toEqual(hosts.map((h) => h.ipAddress));

      const events = await eventsOf(server, id);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events[before.lastSeq]).toMatchObject({ kind: 'log', status: 'RUNNING', message: expect.stringMatching(/^Resumed by instance /) });
      expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'COMPLETED' });
    }

    it('resumes the run a crash left RUNNING from its last completed step, on its hosts, doing nothing twice', async () => {
      await expectResumed(ids.crashed, { logs: crashedAt.details.logs, lastSeq: crashedAt.lastSeq, completedSteps: crashedAt.completedSteps }, crashedHostIds);
    });

    it('resumes the run a graceful close handed back', async () => {
      await expectResumed(ids.handed, { logs: handedAt.details.logs, lastSeq: handedAt.lastSeq, completedSteps: handedAt.completedSteps ?? [] }, handedHostIds);
    });

    it('runs the PENDING order to COMPLETED', async () => {
      const row = await waitForFinalStatus(server, ids.queued, server.adminToken);
      expect(row.status).toBe('COMPLETED');
      expect(row.details.error).toBeNull();
      const hosts = await hostsOf(server.app.orm, ids.queued);
      expect(hosts.map((h) => h.status)).toEqual(['assigned']);
      expect(row.details.resources.ssh_targets.map((t: any) => t.host)).toEqual(hosts.map((h) => h.ipAddress));
    });

    it('frees hosts held by a project that no longer exists, and leaves a completed project its hosts', async () => {
      await expectKeptAndGhostsFreed(server, kept, ghostHostIds);
    });

    it('removes the dead instance, takes over its run, and logs what it did; nothing stays RUNNING', async () => {
      const line = startLine(server);
      expect(line).toMatchObject({ reclaimed: 1, released: 2 });
      expect(line.instanceId).not.toBe(crashedAt.claimedBy);
      const em = server.app.orm.em.fork();
      expect((await em.find(RunnerInstance, {})).map((i) => i.id)).toEqual([line.instanceId]);
      await waitFor(async () => (await server.app.orm.em.fork().count(Project, { status: { $in: ['PENDING', 'RUNNING'] } })) === 0, 15_000, 'every run to end');
      expect(await em.count(Project, { status: 'COMPLETED' })).toBe(4);
    });
  });

  describe(`restart with a runner that cannot resume: interrupted runs fail and return their hosts (${backend})`, () => {
    let first: TestServer | undefined;
    let slow: TestServer | undefined;
    let server: TestServer;
    let kept: { id: number; hostIds: number[] };
    const ids = { crashed: 0, shutDown: 0 };
    let crashedAt: Snapshot;
    let crashedHostIds: number[] = [];
    let shutDownHostIds: number[] = [];
    let ghostHostIds: number[] = [];

    beforeAll(async () => {
      first = await startTestServer({ backend, runner: nonResumableRunner() });
      kept = await completedProject(first);
      await first.close(true);

      slow = await startTestServer({ backend, reuse: reuseOf(first), env: SLOW, runner: nonResumableRunner(Number(SLOW.MOCK_STEP_DELAY_MS)) });
      ids.crashed = await provision(slow, 'crashed', 'standard', 'vsphere');
      ids.shutDown = await provision(slow, 'shut-down', 'single', 'vsphere');
      const orm = slow.app.orm;
      crashedAt = await midRun(orm, ids.crashed, 1);
      await midRun(orm, ids.shutDown, 1);
      crashedHostIds = (await hostsOf(orm, ids.crashed)).map((h) => h.id);
      shutDownHostIds = (await hostsOf(orm, ids.shutDown)).map((h) => h.id);
      expect([crashedHostIds.length, shutDownHostIds.length]).toEqual([3, 1]);
      // A graceful close cannot hand such runs back: they fail with the shutdown reason at once.
      await slow.close(true);

      const data = await openDataOf(slow);
      try {
        const em = data.em.fork();
        for (const id of [ids.crashed, ids.shutDown]) {
          const p = await em.findOneOrFail(Project, id);
          expect([p.status, p.claimedBy ?? null, p.details.error]).toEqual(['FAILED', null, { message: SHUTDOWN_REASON }]);
          expect(p.details.logs.at(-1)).toBe(`Error: ${SHUTDOWN_REASON}`);
          expect(await em.count(WorkloadHost, { projectId: id })).toBe(0);
        }
        const freed = await em.find(WorkloadHost, { id: { $in: [...crashedHostIds, ...shutDownHostIds] } });
        for (const h of freed) expect([h.status, h.projectId ?? null, h.owner ?? null]).toEqual(['available', null, null]);

        await writeCrashState(data, crashedAt, crashedHostIds);
        ghostHostIds = await addGhostHosts(data);
        expect(await em.count(Project, { status: 'RUNNING' })).toBe(1);
      } finally {
        await data.close(true);
      }

      server = await startTestServer({ backend, reuse: reuseOf(slow), runner: nonResumableRunner() });
    });

    afterAll(async () => {
      await server?.close();
      removeDataDir(first);
      removeDataDir(slow);
    });

    it('fails the run a crash left RUNNING with the restart reason, runs none of its steps again, and returns its hosts', async () => {
      const row = await waitForFinalStatus(server, ids.crashed, server.adminToken);
      expect(row.status).toBe('FAILED');
      expect(row.details.status).toBe('FAILED');
      expect(row.details.error).toEqual({ message: 'interrupted by server restart' });
      expect(row.details.logs).toEqual([...crashedAt.details.logs, 'Error: interrupted by server restart']);
      expect(row.details.resources).toBeNull();

      const em = server.app.orm.em.fork();
      const hosts = await em.find(WorkloadHost, { id: { $in: crashedHostIds } });
      expect(hosts).toHaveLength(3);
      for (const h of hosts) expect([h.status, h.projectId ?? null, h.owner ?? null]).toEqual(['available', null, null]);

      const events = await eventsOf(server, ids.crashed);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)).toMatchObject({ seq: crashedAt.lastSeq + 1, kind: 'error', status: 'FAILED', message: RESTART_REASON });
      const project = await em.findOneOrFail(Project, ids.crashed);
      expect([project.status, project.claimedBy ?? null]).toEqual(['FAILED', null]);
    });

    it('frees hosts held by a project that no longer exists, and leaves a completed project its hosts', async () => {
      await expectKeptAndGhostsFreed(server, kept, ghostHostIds);
    });

    it('removes the dead instance and logs what it did; nothing stays RUNNING', async () => {
      const line = startLine(server);
      expect(line).toMatchObject({ reclaimed: 1, released: 2 });
      const em = server.app.orm.em.fork();
      expect((await em.find(RunnerInstance, {})).map((i) => i.id)).toEqual([line.instanceId]);
      expect(await em.count(Project, { status: { $in: ['PENDING', 'RUNNING'] } })).toBe(0);
    });

    it('a failed run can be retried and completes on hosts from the pool', async () => {
      const res = await server.request('POST', `/api/provision/${ids.crashed}/retry`, { token: server.adminToken });
      expect(res.status).toBe(200);
      const row = await waitForFinalStatus(server, ids.crashed, server.adminToken);
      expect(row.status).toBe('COMPLETED');
      expect(row.details.logs.slice(0, crashedAt.details.logs.length + 1)).toEqual([...crashedAt.details.logs, 'Error: interrupted by server restart']);
      expect((await hostsOf(server.app.orm, ids.crashed)).map((h) => h.status)).toEqual(['assigned', 'assigned', 'assigned']);
    });
  });
}
