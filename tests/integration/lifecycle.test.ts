/**
 * Cancel, retry and delete end to end (issue 5, "What it must show" item 5), over REST and
 * GraphQL, with every host of the workload pool accounted for after each step (read from the
 * database: see helpers/host-ledger.ts).
 *
 * One worker slot (RUNNER_CONCURRENCY=1) and slow mock steps make the states observable: a
 * second order waits PENDING behind a running one, and a cancel or delete can land mid-step.
 * Retrying to success needs a failure that does not repeat, which `mockFailAt` cannot give (a
 * retry keeps the same input, so it fails again, which is shown too): a thin wrapper around
 * the mock runner fails the first attempt of "flaky-*" orders at the "db" step.
 */
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../server/config/catalog.js';
import { Project, ProvisionEvent, IdempotencyKey } from '../../server/entities/index.js';
import { MockRunner } from '../../server/runners/mock-runner.js';
import type { Runner, RunnerContext } from '../../server/runners/runner.js';
import { backendsFor } from '../helpers/backends.js';
import { heldIps, readLedger } from '../helpers/host-ledger.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const STEP_MS = 120;
const catalog = loadCatalog();
const STEPS = catalog.mockSteps.map((s) => s.id);
const STEP_LOG = Object.fromEntries(catalog.mockSteps.map((s) => [s.id, s.log]));
const TEARDOWN_LOG = Object.fromEntries(catalog.mockSteps.map((s) => [s.id, s.teardownLog!]));
const STEP_LOGS = new Set(Object.values(STEP_LOG));
const TEARDOWN_LOGS = new Set(Object.values(TEARDOWN_LOG));
const ALLOCATING = catalog.provisioning.allocationLog;
const COMPLETED_LOG = catalog.provisioning.completedLog;
const ALL_STEPS_DONE = [...STEPS, 'resources'];
// 254 aws hosts (the default /24) and 14 vsphere hosts (a /28), so the vsphere pool can be filled.
const VSPHERE_POOL = 14;
const POOL = 254 + VSPHERE_POOL;

/** The mock runner, except that the first attempt of a "flaky-*" order fails at the db step. */
class FlakyRunner implements Runner {
  readonly name = 'mock';
  readonly resumable = true;
  private readonly inner = new MockRunner({ steps: catalog.mockSteps, stepDelayMs: STEP_MS, provisioning: catalog.provisioning });
  private readonly failedOnce = new Set<number>();

  async run(ctx: RunnerContext): Promise<void> {
    if (!ctx.spec.serviceName.startsWith('flaky-') || this.failedOnce.has(ctx.projectId)) return this.inner.run(ctx);
    this.failedOnce.add(ctx.projectId);
    await this.inner.run({ ...ctx, spec: { ...ctx.spec, mockFailAt: 'db' } });
  }

  teardown(ctx: RunnerContext): Promise<void> {
    return this.inner.teardown(ctx);
  }
}

const FOLLOW = `subscription($id: Int!, $after: Int) { provisionStatus(projectId: $id, afterSeq: $after) { projectId seq kind status message } }`;
const PROJECT = `query($id: Int!) { project(id: $id) { id status lastSeq attempt pendingAction logs errorMessage resources { sshTargets { host } } } }`;
const CANCEL = `mutation($id: Int!) { cancelProvision(id: $id) { id status pendingAction } }`;
const RETRY = `mutation($id: Int!) { retryProvision(id: $id) { id status attempt lastSeq } }`;
const DELETE = `mutation($id: Int!) { deleteProject(id: $id) }`;
const PROVISION = `mutation($input: ProvisionInput!) { provision(input: $input) { id status } }`;

interface Ev {
  seq: number;
  kind: string;
  status: string;
  message: string | null;
}

/** Collects a project's events until the subscription completes (or `timeoutMs` passes). */
function follow(client: Client, id: number, after: number, timeoutMs = 20_000): Promise<{ events: Ev[]; completed: boolean; errors: unknown[] }> {
  return new Promise((resolve) => {
    const events: Ev[] = [];
    const errors: unknown[] = [];
    let done = false;
    const finish = (completed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      resolve({ events, completed, errors });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const unsubscribe = client.subscribe<{ provisionStatus: Ev }>(
      { query: FOLLOW, variables: { id, after } },
      {
        next: (msg) => {
          if (msg.errors) errors.push(...msg.errors);
          if (msg.data) events.push(msg.data.provisionStatus);
        },
        error: (err) => {
          errors.push(err);
          finish(false);
        },
        complete: () => finish(true),
      },
    );
  });
}

const seqs = (events: { seq: number }[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
// Orders go to aws (254 hosts) unless a test fills the small vsphere pool on purpose.
const single = (serviceName: string, extra: Record<string, unknown> = {}, infra = 'aws') => ({ serviceName, config: { template: 'single', ...extra }, targetInfra: infra });
const standard = (serviceName: string, extra: Record<string, unknown> = {}, infra = 'aws') => ({ serviceName, config: { template: 'standard', ...extra }, targetInfra: infra });

for (const backend of await backendsFor('lifecycle')) {
  describe(`cancel, retry and delete end to end (${backend})`, () => {
    let server: TestServer;
    let owner: string; // token of a regular account that owns most projects here
    let other: string; // token of another regular account

    beforeAll(async () => {
      server = await startTestServer({
        backend,
        runner: new FlakyRunner(),
        env: { RUNNER_CONCURRENCY: '1', MOCK_STEP_DELAY_MS: String(STEP_MS), IP_POOL_VSPHERE: '192.168.77.0/28' },
      });
      owner = await server.createUser('lc-owner');
      other = await server.createUser('lc-other');
    });
    afterAll(() => server?.close());

    const em = () => server.app.orm.em.fork();
    const row = (id: number) => em().findOne(Project, id);
    const eventsOf = async (id: number): Promise<Ev[]> =>
      (await em().find(ProvisionEvent, { projectId: id }, { orderBy: { seq: 'asc' } })).map((e) => ({ seq: e.seq, kind: e.kind, status: e.status, message: e.message ?? null }));
    const waitStatus = (id: number, status: string, timeoutMs = 15_000) =>
      waitFor(async () => {
        const p = await row(id);
        return p?.status === status ? p : undefined;
      }, timeoutMs, `project ${id} to be ${status}`);
    const waitGone = (id: number) => waitFor(async () => !(await row(id)), 15_000, `project ${id} to be gone`);
    const waitLog = (id: number, message: string) =>
      waitFor(async () => (await eventsOf(id)).some((e) => e.message === message), 15_000, `"${message}" in project ${id}`);

    async function order(token: string, body: unknown): Promise<number> {
      const res = await server.request('POST', '/api/provision', { token, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.project_id as number;
    }

    /** Every host accounted for; returns the ledger for further checks. */
    async function ledger() {
      const l = await readLedger(server, POOL);
      expect(l.problems).toEqual([]);
      return l;
    }

    async function settle() {
      await server.app.dispatcher.whenIdle();
      return ledger();
    }

    it('cancels a PENDING project that no runner has taken yet: CANCELLED at once, hosts back, never runs', async () => {
      const busy = await order(owner, standard('lc-busy'));
      await waitStatus(busy, 'RUNNING');
      const waiting = await order(owner, single('lc-waiting'));
      const before = await row(waiting);
      expect(before).toMatchObject({ status: 'PENDING', claimedBy: null });
      let l = await ledger();
      expect(heldIps(l, waiting)).toHaveLength(1);
      expect(heldIps(l, busy)).toHaveLength(3);

      const res = await server.request('POST', `/api/provision/${waiting}/cancel`, { token: owner });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', project_id: waiting, project_status: 'CANCELLED' });
      // Settled in the request itself: the hosts are back before the answer.
      l = await ledger();
      expect(heldIps(l, waiting)).toEqual([]);
      expect((await row(waiting))!.status).toBe('CANCELLED');

      // The busy run finishes; the cancelled order must never be picked up afterwards.
      await waitStatus(busy, 'COMPLETED');
      l = await settle();
      expect(heldIps(l, busy)).toHaveLength(3);
      const events = await eventsOf(waiting);
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(events.map((e) => [e.kind, e.status, e.message])).toEqual([
        ['status', 'PENDING', null],
        ['log', 'PENDING', ALLOCATING],
        ['log', 'PENDING', 'Cancelled by lc-owner; hosts returned to the pool'],
        ['status', 'CANCELLED', null],
      ]);
      // REST shows CANCELLED to old clients as FAILED; details.status keeps the exact status.
      const history = await server.request('GET', '/api/history', { token: owner });
      const item = (history.body as any[]).find((p) => p.id === waiting);
      expect(item.status).toBe('FAILED');
      expect(item.details.status).toBe('CANCELLED');
      expect(item.details.resources).toBeNull();
      // Cancelling it again is a conflict.
      const again = await server.request('POST', `/api/provision/${waiting}/cancel`, { token: owner });
      expect(again.status).toBe(409);
    });

    it('cancels a RUNNING project mid-step over GraphQL: it stops at the next safe point, no later step, hosts back', async () => {
      const id = await order(owner, { serviceName: 'lc-cancel-running', config: { template: 'enterprise' }, targetInfra: 'vsphere' });
      await waitLog(id, STEP_LOG.web);
      expect(heldIps(await ledger(), id)).toHaveLength(5);

      const res = await server.gql(CANCEL, { id }, owner);
      expect(res.errors).toBeUndefined();
      expect(res.data.cancelProvision.id).toBe(id);
      // Either still stopping (cancel pending) or already settled; nothing else.
      expect([
        ['RUNNING', 'cancel'],
        ['CANCELLED', null],
      ]).toContainEqual([res.data.cancelProvision.status, res.data.cancelProvision.pendingAction]);

      const cancelled = await waitStatus(id, 'CANCELLED', 5_000);
      expect(cancelled.pendingAction ?? null).toBeNull();
      expect(cancelled.claimedBy ?? null).toBeNull();
      expect(heldIps(await ledger(), id)).toEqual([]);

      const events = await eventsOf(id);
      expect(seqs(events)).toEqual(range(1, events.length));
      const asked = events.findIndex((e) => e.message === 'Cancel requested by lc-owner');
      expect(asked).toBeGreaterThan(0);
      const after = events.slice(asked + 1);
      expect(after.map((e) => [e.kind, e.status, e.message])).toEqual([
        ['log', 'RUNNING', 'Cancelled; hosts returned to the pool'],
        ['status', 'CANCELLED', null],
      ]);
      const done = events.slice(0, asked).filter((e) => STEP_LOGS.has(e.message!)).map((e) => e.message);
      // It had started, and it stopped well before the end.
      expect(done[0]).toBe(STEP_LOG.web);
      expect(done.length).toBeLessThan(STEPS.length);
      expect(done).toEqual(STEPS.slice(0, done.length).map((s) => STEP_LOG[s]));
      expect(events.some((e) => e.kind === 'resources' || e.message === COMPLETED_LOG)).toBe(false);

      // It really stopped: nothing more happens after several step delays.
      await new Promise((r) => setTimeout(r, STEP_MS * 3));
      await server.app.dispatcher.whenIdle();
      expect(seqs(await eventsOf(id))).toEqual(seqs(events));
      const gql = await server.gql(PROJECT, { id }, owner);
      expect(gql.data.project).toMatchObject({ status: 'CANCELLED', pendingAction: null, resources: null });
    });

    it('refuses to cancel a COMPLETED or FAILED project (409 / CONFLICT) and leaves it as it was', async () => {
      const completed = await order(owner, single('lc-done'));
      const failed = await order(owner, single('lc-fails', { mockFailAt: 'web' }));
      await waitStatus(completed, 'COMPLETED');
      await waitStatus(failed, 'FAILED');
      const l = await settle();
      const hostsBefore = heldIps(l, completed);
      expect(hostsBefore).toHaveLength(1);
      const seqBefore = (await row(completed))!.lastSeq;

      const rest = await server.request('POST', `/api/provision/${completed}/cancel`, { token: owner });
      expect(rest.status).toBe(409);
      expect(rest.body.detail).toMatch(/COMPLETED/);
      const gql = await server.gql(CANCEL, { id: completed }, owner);
      expect(gql.data ?? null).toBeNull();
      expect(gql.errors?.[0].extensions.code).toBe('CONFLICT');
      const gqlFailed = await server.gql(CANCEL, { id: failed }, owner);
      expect(gqlFailed.errors?.[0].extensions.code).toBe('CONFLICT');
      expect((await server.request('POST', `/api/provision/${failed}/cancel`, { token: owner })).status).toBe(409);

      expect(await row(completed)).toMatchObject({ status: 'COMPLETED', lastSeq: seqBefore, pendingAction: null });
      expect((await row(failed))!.status).toBe('FAILED');
      const after = await ledger();
      expect(heldIps(after, completed)).toEqual(hostsBefore);
      expect(heldIps(after, failed)).toEqual([]);
    });

    it('retries a FAILED project over REST: PENDING again with hosts re-taken, runs every step again, COMPLETED, history kept', async () => {
      const id = await order(owner, standard('flaky-retry'));
      await waitStatus(id, 'FAILED');
      const failedEvents = await eventsOf(id);
      const failedRow = (await row(id))!;
      expect(failedRow.completedSteps).toEqual(['web']);
      expect(failedEvents.at(-1)).toMatchObject({ kind: 'error', status: 'FAILED' });
      expect(failedEvents.at(-1)!.message).toMatch(/step "db"/);
      expect(heldIps(await settle(), id)).toEqual([]);

      const res = await server.request('POST', `/api/provision/${id}/retry`, { token: owner });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', project_id: id, project_status: 'PENDING' });
      const retaken = await ledger();
      expect(heldIps(retaken, id)).toHaveLength(3);

      const done = await waitStatus(id, 'COMPLETED');
      expect(done.attempt).toBe(2);
      // The checkpoints were reset: every step ran again, once.
      expect(done.completedSteps).toEqual(ALL_STEPS_DONE);
      const events = await eventsOf(id);
      expect(seqs(events)).toEqual(range(1, events.length));
      // The first attempt's events are kept as they were, the second attempt follows them.
      expect(events.slice(0, failedEvents.length)).toEqual(failedEvents);
      const second = events.slice(failedEvents.length);
      expect(second.slice(0, 4).map((e) => [e.kind, e.status, e.message])).toEqual([
        ['log', 'FAILED', 'Retry #1 requested by lc-owner'],
        ['status', 'PENDING', null],
        ['log', 'PENDING', ALLOCATING],
        ['status', 'RUNNING', null],
      ]);
      expect(second.filter((e) => e.kind === 'log').map((e) => e.message).slice(2)).toEqual([...STEPS.map((s) => STEP_LOG[s]), COMPLETED_LOG]);
      expect(second.at(-1)).toMatchObject({ kind: 'status', status: 'COMPLETED' });

      const l = await settle();
      const gql = await server.gql(PROJECT, { id }, owner);
      expect(gql.data.project).toMatchObject({ status: 'COMPLETED', attempt: 2, errorMessage: null, lastSeq: events.length });
      expect(gql.data.project.resources.sshTargets.map((t: any) => t.host).sort()).toEqual(heldIps(l, id));
      // Retrying a COMPLETED project is a conflict.
      expect((await server.request('POST', `/api/provision/${id}/retry`, { token: owner })).status).toBe(409);
      expect((await server.gql(RETRY, { id }, owner)).errors?.[0].extensions.code).toBe('CONFLICT');
    });

    it('a provisionStatus subscriber from seq 0 of a retried project sees both attempts and stops only at the final COMPLETED', async () => {
      const id = await order(owner, single('flaky-follow'));
      await waitStatus(id, 'FAILED');
      const retry = await server.gql(RETRY, { id }, owner);
      expect(retry.errors).toBeUndefined();
      const { events, completed, errors } = await follow(server.wsClient(owner), id, 0);
      expect(errors).toEqual([]);
      expect(completed).toBe(true);
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(events.filter((e) => e.kind === 'error')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'COMPLETED' });
      await settle();
    });

    it('retrying with the same input repeats a mockFailAt failure; every attempt and both errors are kept, hosts back each time', async () => {
      const id = await order(owner, standard('lc-fail-twice', { mockFailAt: 'alb' }));
      await waitStatus(id, 'FAILED');
      const first = await eventsOf(id);
      expect(heldIps(await settle(), id)).toEqual([]);

      const res = await server.gql(RETRY, { id }, owner);
      expect(res.errors).toBeUndefined();
      expect(res.data.retryProvision).toMatchObject({ id, status: 'PENDING', attempt: 2, lastSeq: first.length + 3 });
      await waitFor(async () => (await row(id))?.status === 'FAILED' && (await row(id))!.attempt === 2, 15_000, 'second failure');
      const events = await eventsOf(id);
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(events.slice(0, first.length)).toEqual(first);
      const errors = events.filter((e) => e.kind === 'error');
      expect(errors).toHaveLength(2);
      for (const e of errors) expect(e.message).toMatch(/step "alb"/);
      // Attempt 2 ran web and db again (checkpoints reset), then failed at alb.
      const secondSteps = events.slice(first.length).filter((e) => STEP_LOGS.has(e.message!)).map((e) => e.message);
      expect(secondSteps).toEqual([STEP_LOG.web, STEP_LOG.db, STEP_LOG.alb]);
      expect((await row(id))!.completedSteps).toEqual(['web', 'db']);
      expect(heldIps(await settle(), id)).toEqual([]);
    });

    it('retries a CANCELLED project over GraphQL to COMPLETED, with the cancelled attempt kept in order', async () => {
      const busy = await order(owner, single('lc-busy-2'));
      await waitStatus(busy, 'RUNNING');
      const id = await order(owner, standard('lc-cancel-then-retry'));
      const cancel = await server.gql(CANCEL, { id }, owner);
      expect(cancel.data.cancelProvision).toMatchObject({ id, status: 'CANCELLED' });
      const cancelledEvents = await eventsOf(id);
      expect(heldIps(await ledger(), id)).toEqual([]);

      const retry = await server.gql(RETRY, { id }, owner);
      expect(retry.errors).toBeUndefined();
      expect(retry.data.retryProvision).toMatchObject({ id, status: 'PENDING', attempt: 2 });
      expect(heldIps(await ledger(), id)).toHaveLength(3);

      await waitStatus(id, 'COMPLETED');
      const events = await eventsOf(id);
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(events.slice(0, cancelledEvents.length)).toEqual(cancelledEvents);
      expect(events[cancelledEvents.length - 1]).toMatchObject({ kind: 'status', status: 'CANCELLED' });
      expect(events.filter((e) => e.kind === 'status').map((e) => e.status)).toEqual(['PENDING', 'CANCELLED', 'PENDING', 'RUNNING', 'COMPLETED']);
      const l = await settle();
      expect(heldIps(l, id)).toHaveLength(3);
      expect((await row(id))!.completedSteps).toEqual(ALL_STEPS_DONE);
    });

    it('a retry that finds too few free hosts is a 409 / CONFLICT naming needed and available, and changes nothing', async () => {
      const busy = await order(owner, single('lc-busy-3'));
      await waitStatus(busy, 'RUNNING');
      const target = await order(owner, standard('lc-retry-full', {}, 'vsphere'));
      expect((await server.request('POST', `/api/provision/${target}/cancel`, { token: owner })).status).toBe(200);
      // Fill the rest of the vsphere pool with orders that wait behind the busy one.
      let l = await ledger();
      const freeVsphere = l.free.filter((h) => h.infra === 'vsphere').length;
      expect(freeVsphere).toBe(VSPHERE_POOL);
      const fillers: number[] = [];
      for (let left = freeVsphere; left > 0; ) {
        const body = left >= 3 ? standard(`lc-filler-${left}`, {}, 'vsphere') : single(`lc-filler-${left}`, {}, 'vsphere');
        fillers.push(await order(server.adminToken, body));
        left -= left >= 3 ? 3 : 1;
      }
      l = await ledger();
      expect(l.free.filter((h) => h.infra === 'vsphere')).toEqual([]);
      const seqBefore = (await row(target))!.lastSeq;

      const rest = await server.request('POST', `/api/provision/${target}/retry`, { token: owner });
      expect(rest.status).toBe(409);
      expect(rest.body.detail).toBe('3 hosts needed, 0 available');
      const gql = await server.gql(RETRY, { id: target }, owner);
      expect(gql.errors?.[0]).toMatchObject({ message: '3 hosts needed, 0 available', extensions: { code: 'CONFLICT', needed: 3, available: 0 } });
      // A new order is refused the same way, at order time.
      const extra = await server.gql(PROVISION, { input: single('lc-no-room', {}, 'vsphere') }, owner);
      expect(extra.errors?.[0]).toMatchObject({ message: '1 hosts needed, 0 available', extensions: { code: 'CONFLICT', needed: 1, available: 0 } });
      expect(await row(target)).toMatchObject({ status: 'CANCELLED', lastSeq: seqBefore, attempt: 1 });
      expect(heldIps(await ledger(), target)).toEqual([]);

      // Cancel the fillers (pending ones at once, a running one at its next step): all hosts come back.
      for (const f of fillers) {
        const res = await server.request('POST', `/api/provision/${f}/cancel`, { token: server.adminToken });
        expect([200, 409]).toContain(res.status);
      }
      for (const f of fillers) await waitFor(async () => ['CANCELLED', 'COMPLETED'].includes((await row(f))!.status), 10_000, `filler ${f}`);
      l = await settle();
      for (const f of fillers) expect(heldIps(l, f)).toHaveLength((await row(f))!.status === 'COMPLETED' ? (await row(f))!.hostCount : 0);
    });

    it('deleteProject answers at once; DELETING shows in project(id) and history, a subscriber sees the teardown and completes when it is gone', async () => {
      const id = await order(owner, standard('lc-delete-completed'));
      await waitStatus(id, 'COMPLETED');
      let l = await settle();
      const ips = heldIps(l, id);
      expect(ips).toHaveLength(3);
      const lastSeq = (await row(id))!.lastSeq;

      const res = await server.gql(DELETE, { id }, owner);
      expect(res.errors).toBeUndefined();
      expect(res.data.deleteProject).toBe(true);
      // Still there, DELETING, holding its hosts until the teardown is done.
      const now = await server.gql(PROJECT, { id }, owner);
      expect(now.data.project.status).toBe('DELETING');
      const history = await server.gql(`{ history(first: 50) { edges { node { id status } } } }`, {}, owner);
      expect(history.data.history.edges.map((e: any) => e.node)).toContainEqual({ id, status: 'DELETING' });
      const rest = await server.request('GET', '/api/history', { token: owner });
      const item = (rest.body as any[]).find((p) => p.id === id);
      expect(item.status).toBe('RUNNING'); // DELETING shows to old REST clients as RUNNING
      expect(item.details.status).toBe('DELETING');
      l = await ledger();
      expect(heldIps(l, id)).toEqual(ips);

      const { events, completed, errors } = await follow(server.wsClient(owner), id, lastSeq);
      expect(errors).toEqual([]);
      expect(completed).toBe(true);
      expect(seqs(events)).toEqual(range(lastSeq + 1, lastSeq + events.length));
      expect(events[0]).toMatchObject({ kind: 'log', message: 'Delete requested by lc-owner' });
      expect(events[1]).toMatchObject({ kind: 'status', status: 'DELETING' });
      expect(events.filter((e) => TEARDOWN_LOGS.has(e.message!)).map((e) => e.message)).toEqual([...STEPS].reverse().map((s) => TEARDOWN_LOG[s]));
      expect(events.slice(1).every((e) => e.status === 'DELETING')).toBe(true);

      await waitGone(id);
      l = await settle();
      expect(heldIps(l, id)).toEqual([]);
      for (const ip of ips) expect(l.free.map((h) => h.ip)).toContain(ip);
      // Deleting it again: it is gone.
      expect((await server.request('DELETE', `/api/provision/${id}`, { token: owner })).status).toBe(404);
    });

    it('a subscriber that starts from seq 0 while a COMPLETED project is DELETING follows the teardown to the end', async () => {
      const id = await order(owner, single('lc-delete-replay'));
      await waitStatus(id, 'COMPLETED');
      await settle();
      const res = await server.request('DELETE', `/api/provision/${id}`, { token: owner });
      expect(res.status).toBe(200);
      const { events, completed } = await follow(server.wsClient(owner), id, 0);
      expect(completed).toBe(true);
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(events.map((e) => e.status)).toContain('DELETING');
      expect(events.filter((e) => TEARDOWN_LOGS.has(e.message!)).map((e) => e.message)).toEqual([...STEPS].reverse().map((s) => TEARDOWN_LOG[s]));
      await waitGone(id);
      await settle();
    });

    it('deletes a FAILED project: undoes the steps it had completed, holds no host throughout, disappears', async () => {
      const id = await order(owner, standard('lc-delete-failed', { mockFailAt: 'alb' }));
      await waitStatus(id, 'FAILED');
      expect(heldIps(await settle(), id)).toEqual([]);
      const lastSeq = (await row(id))!.lastSeq;
      expect((await server.request('DELETE', `/api/provision/${id}`, { token: owner })).status).toBe(200);
      expect((await row(id))!.status).toBe('DELETING');
      const watcher = follow(server.wsClient(owner), id, lastSeq);
      expect(heldIps(await ledger(), id)).toEqual([]);
      const { events, completed } = await watcher;
      expect(completed).toBe(true);
      expect(events.filter((e) => TEARDOWN_LOGS.has(e.message!)).map((e) => e.message)).toEqual([TEARDOWN_LOG.db, TEARDOWN_LOG.web]);
      await waitGone(id);
      await settle();
    });

    it('another account cannot cancel, retry or delete a project (NOT_FOUND on REST and GraphQL), which stays untouched', async () => {
      const running = await order(owner, standard('lc-not-yours'));
      await waitStatus(running, 'RUNNING');
      const failed = await order(owner, single('lc-not-yours-failed', { mockFailAt: 'web' }));

      for (const [method, path] of [
        ['POST', `/api/provision/${running}/cancel`],
        ['POST', `/api/provision/${failed}/retry`],
        ['DELETE', `/api/provision/${running}`],
        ['DELETE', `/api/provision/${failed}`],
      ] as const) {
        const res = await server.request(method, path, { token: other });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body).toEqual({ detail: 'Not Found' });
      }
      for (const [query, id] of [
        [CANCEL, running],
        [RETRY, failed],
        [DELETE, running],
        [DELETE, failed],
      ] as const) {
        const res = await server.gql(query, { id }, other);
        expect(res.data ?? null).toBeNull();
        expect(res.errors?.[0].extensions.code).toBe('NOT_FOUND');
      }
      await waitStatus(running, 'COMPLETED');
      await waitStatus(failed, 'FAILED');
      await settle();
      for (const id of [running, failed]) {
        const p = (await row(id))!;
        expect(p.pendingAction ?? null).toBeNull();
        expect(p.attempt).toBe(1);
        const events = await eventsOf(id);
        expect(events.some((e) => /requested by lc-other|Cancelled by lc-other/.test(e.message ?? ''))).toBe(false);
      }
      const l = await ledger();
      expect(heldIps(l, running)).toHaveLength(3);
      expect(heldIps(l, failed)).toEqual([]);
    });

    // Last: when it fails, the project it leaves behind would skew the host counts of later tests.
    it('deletes a RUNNING project: it stops, tears down only the steps it completed, returns its hosts and disappears', async () => {
      const id = await order(owner, standard('lc-delete-running', {}));
      const watcher = follow(server.wsClient(owner), id, 0);
      await waitLog(id, STEP_LOG.db);
      const res = await server.request('DELETE', `/api/provision/${id}`, { token: owner });
      const answeredAt = Date.now();
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'success', message: '삭제 완료' });
      // Answered before the teardown: the project is still there, stopping or tearing down.
      const right = await row(id);
      expect(right, 'project still exists right after DELETE answered').not.toBeNull();
      expect([
        ['RUNNING', 'delete'],
        ['DELETING', null],
      ]).toContainEqual([right!.status, right!.pendingAction ?? null]);

      const { events, completed, errors } = await watcher;
      expect(errors).toEqual([]);
      expect(completed).toBe(true);
      expect(seqs(events)).toEqual(range(1, events.length));
      const asked = events.findIndex((e) => e.message === 'Delete requested by lc-owner');
      expect(asked).toBeGreaterThan(0);
      const created = STEPS.filter((s) => events.slice(0, asked).some((e) => e.message === STEP_LOG[s]));
      expect(created.slice(0, 2)).toEqual(['web', 'db']);
      expect(created.length).toBeLessThan(STEPS.length);
      const after = events.slice(asked + 1);
      expect(after[0]).toMatchObject({ kind: 'status', status: 'DELETING' });
      // Nothing more is created after the delete; exactly what was created is undone, newest first.
      expect(after.some((e) => STEP_LOGS.has(e.message!) || e.kind === 'resources')).toBe(false);
      expect(after.filter((e) => TEARDOWN_LOGS.has(e.message!)).map((e) => e.message)).toEqual([...created].reverse().map((s) => TEARDOWN_LOG[s]));
      expect(after.every((e) => e.status === 'DELETING')).toBe(true);
      // The stop is the delete itself, not a failure: the teardown runs at once, without a
      // failed first attempt (and its retry back-off), and is done within a few step delays.
      expect(after.filter((e) => e.kind === 'error' || /fail/i.test(e.message ?? '')).map((e) => e.message)).toEqual([]);
      const goneAfter = Date.now() - answeredAt;
      expect(goneAfter).toBeLessThan(3_000);

      await waitGone(id);
      expect(await em().count(ProvisionEvent, { projectId: id })).toBe(0);
      expect(await em().count(IdempotencyKey, { projectId: id })).toBe(0);
      const gql = await server.gql(PROJECT, { id }, owner);
      expect(gql.errors?.[0].extensions.code).toBe('NOT_FOUND');
      const history = await server.request('GET', '/api/history', { token: owner });
      expect((history.body as any[]).map((p) => p.id)).not.toContain(id);
      expect(heldIps(await settle(), id)).toEqual([]);
    });
  });
}
