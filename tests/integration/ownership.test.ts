/**
 * Ownership: a second user cannot see, follow, cancel, retry or delete the first user's project
 * by any query, subscription or REST path; it answers "not found", as if unknown. The admin
 * sees and may delete everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const LISTS = ['/api/history', '/api/api/history', '/api/projects'];
const PROVISION = `mutation($input: ProvisionInput!) { provision(input: $input) { id owner status serviceName } }`;
const FOLLOW = (id: number) => `subscription { provisionStatus(projectId: ${id}) { projectId seq kind status message } }`;
const codes = (res: { errors?: any[] }) => (res.errors ?? []).map((e) => e.extensions?.code);

/** Runs a subscription to its end: what it delivered, and the errors it ended with. */
async function follow(client: Client, query: string): Promise<{ events: any[]; errors: any[] }> {
  const events: any[] = [];
  const errors: any[] = [];
  const run = (async () => {
    try {
      for await (const result of client.iterate({ query })) {
        if (result.data) events.push(result.data);
        errors.push(...(result.errors ?? []));
      }
    } catch (err) {
      errors.push(...(Array.isArray(err) ? err : [err]));
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('subscription did not end')), 10_000);
  });
  await Promise.race([run, timeout]).finally(() => clearTimeout(timer));
  return { events, errors };
}

for (const backend of await backendsFor('ownership')) {
  describe(`ownership between users (${backend})`, () => {
    let server: TestServer;
    let alice: string;
    let bob: string;
    let aliceRest: number;
    let aliceGql: number;
    let bobId: number;
    let aliceIds: number[];
    let aliceRows: any[];
    const rows = async (token: string) => (await server.request('GET', '/api/monitoring/my-resources', { token })).body as any[];
    const history = async (token: string) => (await server.request('GET', '/api/history', { token })).body as any[];

    beforeAll(async () => {
      server = await startTestServer({ backend });
      alice = await server.createUser('alice');
      bob = await server.createUser('bob');

      const rest = await server.request('POST', '/api/provision', {
        token: alice,
        body: { serviceName: 'alice-rest', config: { template: 'standard' }, targetInfra: { type: 'vsphere' } },
      });
      expect(rest.status).toBe(200);
      aliceRest = rest.body.project_id;
      const gql = await server.gql(PROVISION, { input: { serviceName: 'alice-gql', config: { instanceType: 't3.micro', nodeCount: 2 } } }, alice);
      expect(gql.errors).toBeUndefined();
      expect(gql.data.provision).toMatchObject({ owner: 'alice', status: 'PENDING', serviceName: 'alice-gql' });
      aliceGql = gql.data.provision.id;
      const own = await server.request('POST', '/api/provision', { token: bob, body: { serviceName: 'bob-own', config: { template: 'single' }, targetInfra: 'vsphere' } });
      expect(own.status).toBe(200);
      bobId = own.body.project_id;
      aliceIds = [aliceRest, aliceGql];

      for (const id of aliceIds) expect((await waitForFinalStatus(server, id, alice)).status).toBe('COMPLETED');
      expect((await waitForFinalStatus(server, bobId, bob)).status).toBe('COMPLETED');
      aliceRows = await rows(alice);
    });
    afterAll(() => server?.close());

    it('Alice sees exactly her own projects and rows', async () => {
      for (const path of LISTS) {
        const list = (await server.request('GET', path, { token: alice })).body as any[];
        expect(list.map((p) => p.id)).toEqual([aliceGql, aliceRest]);
        expect(list.every((p) => p.owner === 'alice' && p.details.input.userName === 'alice')).toBe(true);
      }
      // 3 + 2 held hosts, then ALB/Web/DB/SSH-n for each project
      expect(aliceRows.filter((r) => /^(EC2|WKLD)-/.test(r.vm_name)).length).toBe(5);
      expect(aliceRows.length).toBe(5 + (3 + 3) + (3 + 2));
      expect(aliceRows.every((r) => r.owner === 'alice' && ['alice-rest', 'alice-gql'].includes(r.project_name))).toBe(true);
      const nodes = await server.gql(`{ history { nodes { id owner } } resources(first: 200) { nodes { owner projectId } } }`, {}, alice);
      expect(nodes.data.history.nodes).toEqual([{ id: aliceGql, owner: 'alice' }, { id: aliceRest, owner: 'alice' }]);
      expect(nodes.data.resources.nodes.every((r: any) => r.owner === 'alice' && aliceIds.includes(r.projectId))).toBe(true);
      const bobs = await server.gql(`query($id: Int!) { project(id: $id) { id } }`, { id: bobId }, alice);
      expect(codes(bobs)).toEqual(['NOT_FOUND']);
    });

    it("Bob's REST lists and resources hold only his own project", async () => {
      for (const path of LISTS) {
        const res = await server.request('GET', path, { token: bob });
        expect(res.status).toBe(200);
        expect(res.body.map((p: any) => p.id)).toEqual([bobId]);
        expect(JSON.stringify(res.body)).not.toMatch(/alice/);
      }
      const mine = await rows(bob);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((r) => r.owner === 'bob' && r.project_name === 'bob-own')).toBe(true);
      const aliceAddresses = new Set(aliceRows.map((r) => r.ip_address));
      expect(mine.filter((r) => aliceAddresses.has(r.ip_address))).toEqual([]);
    });

    it("Bob cannot delete Alice's projects over REST, and they stay intact", async () => {
      for (const id of aliceIds) {
        const res = await server.request('DELETE', `/api/provision/${id}`, { token: bob });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ detail: 'Not Found' });
      }
      const list = await history(alice);
      expect(list.map((p) => [p.id, p.status])).toEqual([[aliceGql, 'COMPLETED'], [aliceRest, 'COMPLETED']]);
      expect(await rows(alice)).toEqual(aliceRows);
    });

    it("Bob's GraphQL queries answer NOT_FOUND for Alice's projects and leave them out of lists", async () => {
      for (const id of aliceIds) {
        const one = await server.gql(`query($id: Int!) { project(id: $id) { id owner serviceName details logs } }`, { id }, bob);
        expect(one.data ?? null).toBeNull();
        expect(codes(one)).toEqual(['NOT_FOUND']);
        expect(JSON.stringify(one.errors)).not.toMatch(/alice/);
        const events = await server.gql(`query($id: Int!) { projectEvents(projectId: $id) { events { seq message } lastSeq } }`, { id }, bob);
        expect(events.data ?? null).toBeNull();
        expect(codes(events)).toEqual(['NOT_FOUND']);
      }
      const lists = await server.gql(`{ history(first: 500) { nodes { id } edges { node { id } } } resources(first: 100) { totalCount nodes { projectId projectName owner ipAddress } } }`, {}, bob);
      expect(lists.errors).toBeUndefined();
      expect(lists.data.history.nodes).toEqual([{ id: bobId }]);
      expect(lists.data.history.edges).toEqual([{ node: { id: bobId } }]);
      expect(lists.data.resources.nodes.length).toBeGreaterThan(0);
      expect(lists.data.resources.totalCount).toBe(lists.data.resources.nodes.length);
      expect(lists.data.resources.nodes.every((r: any) => r.projectId === bobId && r.owner === 'bob')).toBe(true);
      const completed = await server.gql(`{ history(status: COMPLETED, infra: aws) { nodes { id } } }`, {}, bob);
      expect(completed.data.history.nodes).toEqual([]);
    });

    it("Bob's deleteProject answers NOT_FOUND and deletes nothing", async () => {
      for (const id of aliceIds) {
        const res = await server.gql(`mutation($id: Int!) { deleteProject(id: $id) }`, { id }, bob);
        expect(res.data ?? null).toBeNull();
        expect(codes(res)).toEqual(['NOT_FOUND']);
      }
      expect((await history(alice)).map((p) => p.id)).toEqual([aliceGql, aliceRest]);
      expect(await rows(alice)).toEqual(aliceRows);
    });

    it("Bob cannot cancel or retry Alice's projects (404 / NOT_FOUND); Alice reaches them and is told why not", async () => {
      for (const id of aliceIds) {
        for (const action of ['cancel', 'retry']) {
          const res = await server.request('POST', `/api/provision/${id}/${action}`, { token: bob });
          expect([res.status, res.body]).toEqual([404, { detail: 'Not Found' }]);
        }
        for (const field of ['cancelProvision', 'retryProvision']) {
          const res = await server.gql(`mutation($id: Int!) { ${field}(id: $id) { id owner status } }`, { id }, bob);
          expect(res.data ?? null).toBeNull();
          expect(codes(res)).toEqual(['NOT_FOUND']);
          expect(JSON.stringify(res.errors)).not.toMatch(/alice|COMPLETED/);
        }
        // The same requests from the owner get past the ownership check: a COMPLETED project
        // can be neither cancelled nor retried.
        for (const action of ['cancel', 'retry']) {
          const res = await server.request('POST', `/api/provision/${id}/${action}`, { token: alice });
          expect(res.status).toBe(409);
          expect(res.body.detail).toContain(`Project #${id} is COMPLETED`);
        }
      }
      expect((await history(alice)).map((p) => [p.id, p.status])).toEqual([[aliceGql, 'COMPLETED'], [aliceRest, 'COMPLETED']]);
      expect(await rows(alice)).toEqual(aliceRows);
    });

    it("Bob's provisionStatus subscription on Alice's project ends with NOT_FOUND and delivers no event", async () => {
      const client = server.wsClient(bob);
      const control = await follow(client, FOLLOW(bobId));
      expect(control.errors).toEqual([]);
      expect(control.events.at(-1).provisionStatus).toMatchObject({ projectId: bobId, status: 'COMPLETED' });
      for (const id of aliceIds) {
        const { events, errors } = await follow(client, FOLLOW(id));
        expect(events).toEqual([]);
        expect(errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
        expect(JSON.stringify(errors)).not.toMatch(/alice|Allocating/);
      }
      const resumed = await follow(client, `subscription { provisionStatus(projectId: ${aliceRest}, afterSeq: 1) { seq message } }`);
      expect(resumed.events).toEqual([]);
      expect(resumed.errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    });

    it('Bob cannot order in Alice\'s name: 403 / FORBIDDEN, and nothing is created', async () => {
      const before = (await history(server.adminToken)).map((p) => p.id);
      const res = await server.request('POST', '/api/provision', { token: bob, body: { serviceName: 'as-alice', userName: 'alice', config: { template: 'single' } } });
      expect(res.status).toBe(403);
      expect(Object.keys(res.body)).toEqual(['detail']);
      expect(typeof res.body.detail).toBe('string');
      const gql = await server.gql(PROVISION, { input: { serviceName: 'as-alice', userName: 'alice' } }, bob);
      expect(gql.data ?? null).toBeNull();
      expect(codes(gql)).toEqual(['FORBIDDEN']);
      expect((await history(server.adminToken)).map((p) => p.id)).toEqual(before);
      expect((await history(alice)).map((p) => p.id)).toEqual([aliceGql, aliceRest]);
    });

    it("the admin sees both users' projects and may delete Alice's; her hosts return to the pool", async () => {
      const admin = server.adminToken;
      const all = await history(admin);
      const owners = Object.fromEntries(all.map((p) => [p.id, p.owner]));
      expect(owners).toEqual({ [aliceRest]: 'alice', [aliceGql]: 'alice', [bobId]: 'bob' });
      const one = await server.gql(`query($id: Int!) { project(id: $id) { owner serviceName } }`, { id: aliceRest }, admin);
      expect(one.data.project).toEqual({ owner: 'alice', serviceName: 'alice-rest' });
      const aliceHosts = aliceRows.filter((r) => /^(EC2|WKLD)-/.test(r.vm_name));
      const pool = await rows(admin);
      for (const h of aliceHosts) expect(pool).toContainEqual(h);

      const deleted = await server.request('DELETE', `/api/provision/${aliceRest}`, { token: admin });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ status: 'success', message: '삭제 완료' });
      const gone = await server.gql(`mutation($id: Int!) { deleteProject(id: $id) }`, { id: aliceGql }, admin);
      expect(gone.data).toEqual({ deleteProject: true });

      // Deleting is a teardown in the background: until it ends the projects show as DELETING
      // (RUNNING to REST clients); then they are gone, with their hosts back in the pool.
      for (const p of await history(alice)) expect([p.status, p.details.status]).toEqual(['RUNNING', 'DELETING']);
      await waitFor(async () => (await history(alice)).length === 0, 10_000, "Alice's projects to be torn down");
      expect(await rows(alice)).toEqual([]);
      const after = await rows(admin);
      for (const h of aliceHosts) {
        expect(after.find((r) => r.vm_name === h.vm_name)).toMatchObject({ ip_address: h.ip_address, status: 'Available', owner: '' });
      }
      expect((await history(bob)).map((p) => p.id)).toEqual([bobId]);
    });
  });
}
