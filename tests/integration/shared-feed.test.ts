/**
 * Two server instances in one process on one PostgreSQL database, as behind a load balancer:
 * a logout on instance A closes the token's socket on instance B (4401), and a subscriber on B
 * follows a project ordered through A to its end. (Separate processes, crashes and the job
 * claiming between instances are tested in multi-instance.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shouldRunPostgres } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const run = await shouldRunPostgres('shared event feed');

describe.runIf(run)('two instances share the event feed (postgresql)', () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    a = await startTestServer({ backend: 'postgresql', env: { MOCK_STEP_DELAY_MS: '50' } });
    b = await startTestServer({ backend: 'postgresql', reuse: { postgres: a.postgres }, env: { MOCK_STEP_DELAY_MS: '50' } });
  });
  afterAll(async () => {
    await b?.close(true);
    await a?.close();
  });

  it('closes the socket on B with 4401 when the token is logged out through A', async () => {
    const token = await a.login('admin', 'admin-test-password');
    const client = b.wsClient(token);
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const dispose = client.subscribe({ query: 'subscription { projectChanges { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await connected;
    const loggedOutAt = Date.now();
    expect((await a.request('POST', '/api/logout', { token })).status).toBe(200);
    expect(await closed).toBe(4401);
    expect(Date.now() - loggedOutAt).toBeLessThan(3000);
    dispose();
  });

  it('delivers on B every event of a project ordered on A, in order, to the final status', async () => {
    const order = await a.request('POST', '/api/provision', {
      token: a.adminToken,
      body: { serviceName: 'across', config: { template: 'standard' }, targetInfra: { type: 'vsphere' } },
    });
    expect(order.status).toBe(200);
    const id: number = order.body.project_id;
    const seqs: number[] = [];
    const statuses: string[] = [];
    await new Promise<void>((resolve, reject) => {
      b.wsClient(b.adminToken).subscribe(
        { query: `subscription { provisionStatus(projectId: ${id}) { seq status } }` },
        {
          next: (msg) => {
            const e = (msg.data as { provisionStatus: { seq: number; status: string } }).provisionStatus;
            seqs.push(e.seq);
            statuses.push(e.status);
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    expect(statuses.at(-1)).toBe('COMPLETED');
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const stored = await b.gql<{ project: { lastSeq: number } }>(`{ project(id: ${id}) { lastSeq } }`, {}, b.adminToken);
    expect(seqs.length).toBe(stored.data?.project.lastSeq);
  });
});
