/**
 * A teardown that fails does not pretend the resources are gone: the project stays DELETING
 * with its hosts held (and counted), the failure is logged, and the instance tries again after
 * a back-off; once a teardown succeeds the hosts return and the project leaves the history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project, WorkloadHost } from '../../server/entities/index.js';
import type { Runner, RunnerContext } from '../../server/runners/runner.js';
import { backendsFor } from '../helpers/backends.js';
import { mockRunner } from '../helpers/test-runners.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';

/** The mock runner, except that the first `failures` teardowns throw after their first step. */
class FlakyTeardownRunner implements Runner {
  readonly name = 'flaky-teardown';
  readonly resumable = true;
  private readonly inner = mockRunner(5);
  teardownCalls = 0;

  constructor(private failures: number) {}

  run(ctx: RunnerContext): Promise<void> {
    return this.inner.run(ctx);
  }

  async teardown(ctx: RunnerContext): Promise<void> {
    this.teardownCalls += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('vCenter did not answer');
    }
    await this.inner.teardown(ctx);
  }
}

for (const backend of await backendsFor('teardown retry')) {
  describe(`a failed teardown is tried again (${backend})`, () => {
    let server: TestServer;
    const runner = new FlakyTeardownRunner(1);

    beforeAll(async () => {
      server = await startTestServer({ backend, runner });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('keeps the project DELETING with its hosts, logs the failure, then finishes the teardown', async () => {
      const order = await server.request('POST', '/api/provision', {
        token: server.adminToken,
        body: { serviceName: 'flaky', config: { template: 'single' }, targetInfra: { type: 'vsphere' } },
      });
      expect(order.status).toBe(200);
      const id: number = order.body.project_id;
      expect((await waitForFinalStatus(server, id, server.adminToken)).status).toBe('COMPLETED');
      const hosts = await server.app.orm.em.fork().find(WorkloadHost, { projectId: id });
      expect(hosts).toHaveLength(1);

      expect((await server.request('DELETE', `/api/provision/${id}`, { token: server.adminToken })).status).toBe(200);
      const failed = await waitFor(async () => {
        const p = await server.app.orm.em.fork().findOne(Project, id);
        return p?.details.logs.some((l) => l.startsWith('Teardown failed: vCenter did not answer; trying again in 5 s')) ? p : undefined;
      }, 10_000, 'the failed teardown to be logged');
      expect(failed.status).toBe('DELETING');
      expect(failed.details.error).toBeNull();
      // Still held, still counted: nothing pretends the machine is gone.
      const held = await server.app.orm.em.fork().find(WorkloadHost, { projectId: id });
      expect(held.map((h) => [h.id, h.status])).toEqual([[hosts[0].id, 'assigned']]);
      const usage = await server.gql<{ adminStats: { usedHosts: number } }>('{ adminStats { usedHosts } }', {}, server.adminToken);
      expect(usage.data?.adminStats.usedHosts).toBe(1);
      // A second delete neither fails nor starts a parallel teardown.
      expect((await server.request('DELETE', `/api/provision/${id}`, { token: server.adminToken })).status).toBe(200);
      expect(runner.teardownCalls).toBe(1);

      await waitFor(async () => !(await server.app.orm.em.fork().findOne(Project, id)), 15_000, 'the retried teardown to remove the project');
      expect(runner.teardownCalls).toBe(2);
      const after = await server.app.orm.em.fork().findOneOrFail(WorkloadHost, hosts[0].id);
      expect([after.status, after.projectId]).toEqual(['available', null]);
    }, 30_000);
  });
}
