/**
 * `projectChanges`: the live list feed. Each account hears about its own projects only, from
 * creation through its statuses and the teardown (DELETING) to deletion, in order; an admin
 * hears about every project.
 */
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const CHANGES = 'subscription { projectChanges { id serviceName status assignedIp owner infra lastSeq updatedAt deleted } }';
const POOL = '{ workloadPool { infra total available provisioning assigned } }';

interface Change {
  id: number;
  serviceName: string;
  status: string;
  assignedIp: string | null;
  owner: string;
  infra: string;
  lastSeq: number;
  updatedAt: string;
  deleted: boolean;
}

interface Feed {
  changes: Change[];
  errors: unknown[];
  stop(): void;
}

function listen(client: Client): Feed {
  const feed: Feed = { changes: [], errors: [], stop: () => undefined };
  feed.stop = client.subscribe<{ projectChanges: Change }>(
    { query: CHANGES },
    {
      next: (msg) => {
        if (msg.errors) feed.errors.push(...msg.errors);
        if (msg.data) feed.changes.push(msg.data.projectChanges);
      },
      error: (err) => feed.errors.push(err),
      complete: () => undefined,
    },
  );
  return feed;
}

/** The statuses a list would show for one project, with repeats (log lines) folded. */
function lifecycle(changes: Change[], id: number): string[] {
  const steps: string[] = [];
  for (const c of changes.filter((x) => x.id === id)) {
    const step = c.deleted ? 'deleted' : c.status;
    if (steps[steps.length - 1] !== step) steps.push(step);
  }
  return steps;
}

for (const backend of await backendsFor('project changes')) {
  describe(`projectChanges subscription (${backend})`, () => {
    let server: TestServer;
    let tokens: { alice: string; bob: string };

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { MOCK_STEP_DELAY_MS: '20' } });
      tokens = { alice: await server.createUser('alice'), bob: await server.createUser('bob') };
    });
    afterAll(() => server?.close());

    const listeners = () => server.app.services.projects.changeListenerCount();

    async function provisionAs(token: string, serviceName: string): Promise<number> {
      const res = await server.request('POST', '/api/provision', { token, body: { serviceName, config: { template: 'standard' }, targetInfra: 'vsphere' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.project_id;
    }

    it('shows each account create → RUNNING → COMPLETED → DELETING → delete of its own projects only, and an admin every project', async () => {
      const before = listeners();
      const alice = listen(server.wsClient(tokens.alice));
      const bob = listen(server.wsClient(tokens.bob));
      const admin = listen(server.wsClient(server.adminToken));
      await waitFor(() => listeners() === before + 3, 5000, 'three listeners');

      const aliceId = await provisionAs(tokens.alice, 'alice-live');
      const bobId = await provisionAs(tokens.bob, 'bob-live');
      expect((await waitForFinalStatus(server, aliceId, tokens.alice)).status).toBe('COMPLETED');
      expect((await waitForFinalStatus(server, bobId, tokens.bob)).status).toBe('COMPLETED');
      expect((await server.request('DELETE', `/api/provision/${aliceId}`, { token: tokens.alice })).status).toBe(200);
      const del = await server.gql('mutation($id: Int!) { deleteProject(id: $id) }', { id: bobId }, server.adminToken);
      expect(del.errors).toBeUndefined();

      await waitFor(() => alice.changes.some((c) => c.deleted) && bob.changes.some((c) => c.deleted) && admin.changes.filter((c) => c.deleted).length === 2, 10_000, 'deletions');

      expect([alice.errors, bob.errors, admin.errors]).toEqual([[], [], []]);
      const LIFECYCLE = ['PENDING', 'RUNNING', 'COMPLETED', 'DELETING', 'deleted'];
      expect(lifecycle(alice.changes, aliceId)).toEqual(LIFECYCLE);
      expect(lifecycle(bob.changes, bobId)).toEqual(LIFECYCLE);
      // nothing about the other account, not even its name
      expect(new Set(alice.changes.map((c) => c.owner))).toEqual(new Set(['alice']));
      expect(new Set(bob.changes.map((c) => c.owner))).toEqual(new Set(['bob']));
      expect(JSON.stringify(bob.changes)).not.toContain('alice');
      // the admin hears both, each in order
      expect(lifecycle(admin.changes, aliceId)).toEqual(LIFECYCLE);
      expect(lifecycle(admin.changes, bobId)).toEqual(LIFECYCLE);
      // the deleted record is the last one about the project, and only one is sent
      for (const [feed, id] of [[alice, aliceId], [bob, bobId], [admin, aliceId], [admin, bobId]] as const) {
        const mine = feed.changes.filter((c) => c.id === id);
        expect(mine.filter((c) => c.deleted)).toHaveLength(1);
        expect(mine.at(-1)!.deleted).toBe(true);
      }

      // lastSeq only grows, and the completed summary carries the address the list shows
      const seqs = alice.changes.map((c) => c.lastSeq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      const completed = alice.changes.filter((c) => c.status === 'COMPLETED' && !c.deleted).at(-1)!;
      expect(completed).toMatchObject({ serviceName: 'alice-live', owner: 'alice', infra: 'vsphere', deleted: false });
      expect(completed.assignedIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // the order's own transaction records PENDING and the host allocation (events 1 and 2): one change
      expect(alice.changes[0]).toMatchObject({ id: aliceId, status: 'PENDING', lastSeq: 2, assignedIp: null, deleted: false });

      for (const feed of [alice, bob, admin]) feed.stop();
      await waitFor(() => listeners() === before, 5000, 'listeners to leave the bus');
    });

    it('refuses an anonymous subscriber', async () => {
      const anon = listen(server.wsClient());
      await waitFor(() => anon.errors.length > 0, 5000, 'refusal');
      expect(JSON.stringify(anon.errors)).toContain('UNAUTHENTICATED');
      expect(anon.changes).toEqual([]);
    });

    it('counts the workload pool per infrastructure for any signed-in account', async () => {
      const anon = await server.gql(POOL);
      expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const idle = (await server.gql(POOL, {}, tokens.bob)).data.workloadPool;
      expect(idle.map((p: any) => p.infra)).toEqual(['aws', 'vsphere']);
      for (const p of idle) expect(p.total).toBe(p.available + p.provisioning + p.assigned);
      const vsphere = idle.find((p: any) => p.infra === 'vsphere');
      expect(vsphere.total).toBeGreaterThan(3);

      const id = await provisionAs(tokens.bob, 'pool-user');
      await waitForFinalStatus(server, id, tokens.bob);
      const busy = (await server.gql(POOL, {}, tokens.alice)).data.workloadPool.find((p: any) => p.infra === 'vsphere');
      expect(busy.total).toBe(vsphere.total);
      expect(busy.assigned - vsphere.assigned).toBeGreaterThan(0);
      expect(busy.available).toBe(vsphere.available - (busy.assigned - vsphere.assigned));
      expect((await server.request('DELETE', `/api/provision/${id}`, { token: tokens.bob })).status).toBe(200);
      // the hosts return once the teardown finished
      await waitFor(async () => !(await server.request('GET', '/api/history', { token: tokens.bob })).body.some((p: any) => p.id === id), 10_000, 'the teardown');
      expect((await server.gql(POOL, {}, tokens.alice)).data.workloadPool).toEqual(idle);
    });
  });
}
