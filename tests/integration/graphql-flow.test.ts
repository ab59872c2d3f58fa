import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PROVISION = `mutation($input: ProvisionInput!) { provision(input: $input) { id status serviceName lastSeq } }`;
const FOLLOW = `subscription($id: Int!, $after: Int) { provisionStatus(projectId: $id, afterSeq: $after) { projectId seq kind status message data } }`;
const EVENTS = `query($id: Int!) { projectEvents(projectId: $id, afterSeq: 0, limit: 1000) { lastSeq hasMore events { seq kind status message } } }`;

interface Event {
  projectId: number;
  seq: number;
  kind: string;
  status: string;
  message: string | null;
  data: Record<string, unknown> | null;
}

/** Collects events until the subscription completes, or until `stopAfter` events arrived. */
function collect(client: Client, id: number, after: number, stopAfter = Infinity): Promise<{ events: Event[]; completed: boolean; errors: unknown[] }> {
  return new Promise((resolve) => {
    const events: Event[] = [];
    const errors: unknown[] = [];
    let done = false;
    const finish = (completed: boolean) => {
      if (done) return;
      done = true;
      unsubscribe();
      resolve({ events, completed, errors });
    };
    const unsubscribe = client.subscribe<{ provisionStatus: Event }>(
      { query: FOLLOW, variables: { id, after } },
      {
        next: (msg) => {
          if (msg.errors) errors.push(...msg.errors);
          if (msg.data) events.push(msg.data.provisionStatus);
          if (events.length >= stopAfter) finish(false);
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

const seqs = (events: Event[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const backend of await backendsFor('GraphQL flow')) {
  describe(`GraphQL flow over graphql-ws (${backend})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { MOCK_STEP_DELAY_MS: '60' } });
    });
    afterAll(() => server?.close());

    async function provision(input: Record<string, unknown>): Promise<number> {
      const res = await server.gql(PROVISION, { input }, server.adminToken);
      expect(res.errors).toBeUndefined();
      expect(res.data.provision.status).toBe('PENDING');
      return res.data.provision.id;
    }

    it('streams every event from PENDING to COMPLETED in order, then completes', async () => {
      const id = await provision({ serviceName: 'gql-live', config: { template: 'standard' }, targetInfra: { type: 'vsphere' } });
      const { events, completed, errors } = await collect(server.wsClient(server.adminToken), id, 0);
      expect(errors).toEqual([]);
      expect(completed).toBe(true);
      expect(seqs(events)).toEqual(range(1, events.length));
      expect(events[0]).toMatchObject({ seq: 1, kind: 'status', status: 'PENDING' });
      expect(events.find((e) => e.kind === 'status' && e.status === 'RUNNING')).toBeDefined();
      expect(events.filter((e) => e.kind === 'log').map((e) => e.message)).toEqual([
        'Allocating IP...',
        'Creating Web tier...',
        'Creating DB tier...',
        'Configuring ALB...',
        'Registering SSH targets...',
        'Completed',
      ]);
      const resources = events.find((e) => e.kind === 'resources');
      expect((resources?.data as any).ssh_targets).toHaveLength(3);
      expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'COMPLETED' });

      const stored = await server.gql(EVENTS, { id }, server.adminToken);
      expect(stored.data.projectEvents.events.map((e: Event) => e.seq)).toEqual(seqs(events));
      expect(stored.data.projectEvents.hasMore).toBe(false);
    });

    it('resumes with afterSeq in the middle of a run: misses nothing, receives nothing twice', async () => {
      const id = await provision({ serviceName: 'gql-resume', config: { template: 'single' }, targetInfra: 'aws' });
      const first = server.wsClient(server.adminToken);
      const part1 = await collect(first, id, 0, 3);
      await first.dispose();
      expect(seqs(part1.events)).toEqual([1, 2, 3]);
      const project = await server.gql(`query($id: Int!) { project(id: $id) { status } }`, { id }, server.adminToken);
      expect(project.data.project.status).toBe('RUNNING');

      const part2 = await collect(server.wsClient(server.adminToken), id, 3);
      expect(part2.completed).toBe(true);
      const all = [...part1.events, ...part2.events];
      expect(seqs(all)).toEqual(range(1, all.length));
      expect(all.at(-1)?.status).toBe('COMPLETED');
    });

    it('replays a finished project and completes at once when nothing is left', async () => {
      const id = await provision({ serviceName: 'gql-replay', config: { template: 'single' } });
      const live = await collect(server.wsClient(server.adminToken), id, 0);
      const replay = await collect(server.wsClient(server.adminToken), id, 2);
      expect(seqs(replay.events)).toEqual(seqs(live.events).filter((s) => s > 2));
      const nothingLeft = await collect(server.wsClient(server.adminToken), id, live.events.at(-1)!.seq);
      expect(nothingLeft).toEqual({ events: [], completed: true, errors: [] });
    });

    it('gives several subscribers of one project the same ordered stream', async () => {
      const id = await provision({ serviceName: 'gql-fanout', config: { template: 'k8s_small' }, targetInfra: 'vsphere' });
      const streams = await Promise.all([0, 0, 1, 2].map((after) => collect(server.wsClient(server.adminToken), id, after)));
      const full = seqs(streams[0].events);
      expect(seqs(streams[1].events)).toEqual(full);
      expect(seqs(streams[2].events)).toEqual(full.filter((s) => s > 1));
      expect(seqs(streams[3].events)).toEqual(full.filter((s) => s > 2));
    });

    it('ends a failing run in FAILED with the error and returns the hosts', async () => {
      const hostsHeld = async () =>
        (await server.gql(`{ resources(first: 500, kind: host) { nodes { kind status projectName } } }`, {}, server.adminToken)).data.resources.nodes.filter(
          (r: any) => r.kind === 'host' && r.status !== 'Available',
        ).length;
      const heldBefore = await hostsHeld();
      const id = await provision({ serviceName: 'gql-fail', config: { template: 'enterprise', mockFailAt: 'alb' }, targetInfra: 'vsphere' });
      const { events, completed } = await collect(server.wsClient(server.adminToken), id, 0);
      expect(completed).toBe(true);
      const last = events.at(-1)!;
      expect(last).toMatchObject({ kind: 'error', status: 'FAILED' });
      expect(last.message).toMatch(/step "alb"/);
      expect(events.some((e) => e.kind === 'resources')).toBe(false);
      const project = await server.gql(`query($id: Int!) { project(id: $id) { status errorMessage logs resources { albIp } } }`, { id }, server.adminToken);
      expect(project.data.project).toMatchObject({ status: 'FAILED', errorMessage: last.message, resources: null });
      expect(project.data.project.logs.at(-1)).toBe(`Error: ${last.message}`);
      expect(await hostsHeld()).toBe(heldBefore);
    });

    it('refuses a subscription without a token, and closes a socket with a bad token with 4403', async () => {
      const id = await provision({ serviceName: 'gql-anon', config: {} });
      const anonymous = await collect(server.wsClient(), id, 0);
      expect(anonymous.events).toEqual([]);
      expect(JSON.stringify(anonymous.errors)).toContain('UNAUTHENTICATED');

      const closed = await new Promise<number>((resolve) => {
        const client = server.wsClient(undefined, { connectionParams: { authorization: 'Bearer not-a-token' }, on: { closed: (e: any) => resolve(e.code) } });
        client.subscribe({ query: FOLLOW, variables: { id, after: 0 } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      });
      expect(closed).toBe(4403);
    });

    it('pages history newest first by cursor, with status and infrastructure filters', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push(await provision({ serviceName: `page-${i}`, config: { mockFailAt: i % 2 ? 'web' : undefined }, targetInfra: i < 3 ? 'aws' : 'vsphere' }));
      await server.app.dispatcher.whenIdle();
      const PAGE = `query($first: Int, $after: String, $status: ProjectStatus, $infra: InfraType) {
        history(first: $first, after: $after, status: $status, infra: $infra) { edges { cursor node { id status infra } } pageInfo { hasNextPage endCursor } } }`;
      const seen: number[] = [];
      let after: string | null = null;
      for (;;) {
        const res: any = await server.gql(PAGE, { first: 2, after }, server.adminToken);
        seen.push(...res.data.history.edges.map((e: any) => e.node.id));
        if (!res.data.history.pageInfo.hasNextPage) break;
        after = res.data.history.pageInfo.endCursor;
      }
      expect(seen).toEqual([...seen].sort((a, b) => b - a));
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of ids) expect(seen).toContain(id);
      const failedVsphere = await server.gql(PAGE, { first: 50, status: 'FAILED', infra: 'vsphere' }, server.adminToken);
      const nodes = failedVsphere.data.history.edges.map((e: any) => e.node);
      expect(nodes.every((n: any) => n.status === 'FAILED' && n.infra === 'vsphere')).toBe(true);
      expect(nodes.map((n: any) => n.id)).toContain(ids[3]);
      expect(nodes.map((n: any) => n.id)).not.toContain(ids[4]);
    });
  });
}
