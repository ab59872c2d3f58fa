/**
 * The console's graphql-ws factory against the real server: the session token travels in
 * connectionParams, events arrive typed and in order, and a rejected token ends the session.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onTokenRejected, saveSession } from '../../client/src/graphql/auth-token';
import type { ApiError } from '../../client/src/graphql/client';
import { TypedDocumentString } from '../../client/src/graphql/generated/operations';
import { createSubscriptionClient, subscribe } from '../../client/src/graphql/subscriptions';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface StatusEvent {
  provisionStatus: { seq: number; kind: string; status: string };
}
const PROVISION_STATUS = new TypedDocumentString(
  'subscription ($projectId: Int!) { provisionStatus(projectId: $projectId) { seq kind status } }',
) as unknown as TypedDocumentString<StatusEvent, { projectId: number }>;

describe('createSubscriptionClient (graphql-ws)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('subscribes with the session token and receives every event of a run until it completes', async () => {
    const res = await server.request('POST', '/api/provision', { token: server.adminToken, body: { serviceName: 'ws-client', config: { template: 'single' }, targetInfra: 'vsphere' } });
    expect(res.status).toBe(200);
    const client = createSubscriptionClient({ url: server.wsUrl, getToken: () => server.adminToken, webSocketImpl: WebSocket, retryAttempts: 0 });
    const events: StatusEvent['provisionStatus'][] = [];
    await new Promise<void>((resolve, reject) => {
      subscribe(client, PROVISION_STATUS, { projectId: res.body.project_id }, {
        next: (data) => events.push(data.provisionStatus),
        error: (err) => reject(err),
        complete: () => resolve(),
      });
    });
    await client.dispose();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.status).toBe('COMPLETED');
  });

  it('reports a token the server refuses (close 4403) so that the session ends', async () => {
    saveSession({ token: 'not-a-token', username: 'admin', expiresAt: Date.now() + 60_000 });
    const rejected = new Promise<void>((resolve) => {
      const stop = onTokenRejected(() => {
        stop();
        resolve();
      });
    });
    const client = createSubscriptionClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const failure = new Promise<ApiError>((resolve) => {
      subscribe(client, PROVISION_STATUS, { projectId: 1 }, { next: () => undefined, error: resolve, complete: () => undefined });
    });
    await rejected;
    expect((await failure).code).toBe('UNAUTHENTICATED');
    await client.dispose();
    saveSession(null);
  });
});
