/**
 * Start-up recovery (SPEC §4): after a crash, a run left RUNNING is failed with "interrupted
 * by server restart" and its hosts go back to the pool, a PENDING order is run, and hosts held
 * by a project that no longer exists are freed — while a COMPLETED project keeps its hosts.
 *
 * A crash cannot happen in-process (a graceful close fails running jobs with "interrupted by
 * server shutdown"), so the test takes a real run to RUNNING, stops the server, and writes the
 * RUNNING state it had seen back into the database before the next start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/core';
import { Project, ProvisionEvent, WorkloadHost } from '../../server/entities/index.js';
import { RESTART_REASON, SHUTDOWN_REASON } from '../../server/runners/dispatcher.js';
import { backendsFor } from '../helpers/backends.js';
import { openDataOf, removeDataDir, reuseOf } from '../helpers/data.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const GHOST_PROJECT = 987_654;

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

for (const backend of await backendsFor('restart recovery')) {
  describe(`start-up recovery after a crash (${backend})`, () => {
    let first: TestServer | undefined;
    let slow: TestServer | undefined;
    let server: TestServer;
    const ids = { kept: 0, crashed: 0, queued: 0 };
    let crashedAt: Project;
    let crashedHostIds: number[] = [];
    let keptHostIds: number[] = [];
    let ghostHostIds: number[] = [];

    beforeAll(async () => {
      // 1. A completed project, whose hosts must survive the restart.
      first = await startTestServer({ backend });
      ids.kept = await provision(first, 'kept', 'single', 'vsphere');
      expect((await waitForFinalStatus(first, ids.kept, first.adminToken)).status).toBe('COMPLETED');
      keptHostIds = (await hostsOf(first.app.orm, ids.kept)).map((h) => h.id);
      await first.close(true);

      // 2. A slow server running one job at a time: one order RUNNING with its hosts, one PENDING.
      slow = await startTestServer({ backend, reuse: reuseOf(first), env: { MOCK_STEP_DELAY_MS: '2000', RUNNER_CONCURRENCY: '1' } });
      ids.crashed = await provision(slow, 'crashed', 'standard', 'vsphere');
      ids.queued = await provision(slow, 'queued', 'single', 'aws');
      const orm = slow.app.orm;
      crashedAt = await waitFor(async () => {
        const p = await orm.em.fork().findOne(Project, ids.crashed);
        return p?.status === 'RUNNING' ? p : undefined;
      }, 10_000, 'the run to be RUNNING');
      const held = await hostsOf(orm, ids.crashed);
      expect(held.map((h) => h.status)).toEqual(['provisioning', 'provisioning', 'provisioning']);
      crashedHostIds = held.map((h) => h.id);
      expect((await orm.em.fork().findOneOrFail(Project, ids.queued)).status).toBe('PENDING');
      await slow.close(true);

      // 3. Put the database back in the state the crash would have left.
      const data = await openDataOf(slow);
      try {
        const em = data.em.fork();
        const shutDown = await em.findOneOrFail(Project, ids.crashed);
        expect(shutDown.status).toBe('FAILED'); // what a graceful close does instead
        expect(shutDown.details.error).toEqual({ message: SHUTDOWN_REASON });
        await em.nativeUpdate(
          Project,
          { id: ids.crashed },
          { status: 'RUNNING', details: crashedAt.details, lastSeq: crashedAt.lastSeq, assignedIp: null, updatedAt: crashedAt.updatedAt },
        );
        await em.nativeDelete(ProvisionEvent, { projectId: ids.crashed, seq: { $gt: crashedAt.lastSeq } });
        await em.nativeUpdate(WorkloadHost, { id: { $in: crashedHostIds } }, { status: 'provisioning', projectId: ids.crashed, owner: 'admin' });
        // Two hosts held by a project that no longer exists.
        const free = await em.find(WorkloadHost, { infra: 'aws', status: 'available' }, { orderBy: { id: 'desc' }, limit: 2 });
        ghostHostIds = free.map((h) => h.id);
        await em.nativeUpdate(WorkloadHost, { id: { $in: ghostHostIds } }, { status: 'assigned', projectId: GHOST_PROJECT, owner: 'ghost' });
        expect(await em.count(Project, { id: GHOST_PROJECT })).toBe(0);
        expect(await em.count(Project, { status: 'RUNNING' })).toBe(1);
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

    it('fails the run left RUNNING with the restart reason and returns its hosts', async () => {
      const row = (await server.request('GET', '/api/history', { token: server.adminToken })).body.find(
        (p: any) => p.id === ids.crashed,
      );
      expect(row.status).toBe('FAILED');
      expect(row.details.status).toBe('FAILED');
      expect(row.details.error).toEqual({ message: 'interrupted by server restart' });
      expect(row.details.logs).toEqual([...crashedAt.details.logs, 'Error: interrupted by server restart']);
      expect(row.details.resources).toBeNull();

      const em = server.app.orm.em.fork();
      const hosts = await em.find(WorkloadHost, { id: { $in: crashedHostIds } });
      expect(hosts).toHaveLength(3);
      for (const h of hosts) expect([h.status, h.projectId ?? null, h.owner ?? null]).toEqual(['available', null, null]);

      const events = await em.find(ProvisionEvent, { projectId: ids.crashed }, { orderBy: { seq: 'asc' } });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)).toMatchObject({ seq: crashedAt.lastSeq + 1, kind: 'error', status: 'FAILED', message: RESTART_REASON });
      expect(await em.count(Project, { status: 'RUNNING', id: ids.crashed })).toBe(0);
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
      const em = server.app.orm.em.fork();
      const ghosts = await em.find(WorkloadHost, { id: { $in: ghostHostIds } });
      expect(ghosts).toHaveLength(2);
      for (const h of ghosts) expect([h.status, h.projectId ?? null, h.owner ?? null]).toEqual(['available', null, null]);
      expect(await em.count(WorkloadHost, { projectId: GHOST_PROJECT })).toBe(0);

      const kept = await em.findOneOrFail(Project, ids.kept);
      expect(kept.status).toBe('COMPLETED');
      const keptHosts = await hostsOf(server.app.orm, ids.kept);
      expect(keptHosts.map((h) => [h.id, h.status])).toEqual(keptHostIds.map((id) => [id, 'assigned']));
    });

    it('logs what the recovery did', () => {
      const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'start-up recovery');
      expect(line).toMatchObject({ failed: 1, released: 2, resumed: 1 });
    });
  });
}
