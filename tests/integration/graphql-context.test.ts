/**
 * The GraphQL context forks its EntityManager on first use only (server/graphql/context.ts):
 * operations that run plain SQL (reads, an order) never fork one, also after Apollo copies the
 * context for the operation, and an operation that needs the ORM gets one fork, the same one
 * for each use within that operation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityManager } from '@mikro-orm/core';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

describe('GraphQL context', () => {
  let server: TestServer;
  let token: string;
  let forks = 0;
  /** The project the first test orders. */
  let projectId = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend: 'sqlite' });
    token = await server.login(ADMIN.username, ADMIN.password);
    const services = server.app.services;
    const fork = services.fork.bind(services);
    services.fork = (): EntityManager => {
      forks += 1;
      return fork();
    };
  });
  afterAll(async () => {
    await server?.close();
  });

  const PROVISION = `mutation($input: ProvisionInput!) { provision(input: $input) { id } }`;

  it('forks nothing for operations that run plain SQL (an order, reads)', async () => {
    forks = 0;
    const order = await server.gql<{ provision: { id: number } }>(
      PROVISION,
      { input: { serviceName: 'ctx-svc', config: { template: 'single', packages: ['nginx'], environment: 'dev', traffic: 'low' }, targetInfra: { type: 'vsphere' } } },
      token,
    );
    expect(order.errors).toBeUndefined();
    const id = order.data!.provision.id;
    projectId = id;
    const answers = [
      await server.gql(`{ __typename }`, {}, token),
      await server.gql(`query($id: Int!) { project(id: $id) { id status } }`, { id }, token),
      await server.gql(`{ history(first: 5) { nodes { id } } }`, {}, token),
    ];
    for (const a of answers) expect(a.errors).toBeUndefined();
    expect(answers[1].data).toEqual({ project: { id, status: expect.any(String) } });
    expect(forks).toBe(0);
  });

  it('forks once per operation that uses the ORM', async () => {
    forks = 0;
    const events = await server.gql(`query($id: Int!) { projectEvents(projectId: $id, afterSeq: 0) { lastSeq } }`, { id: projectId }, token);
    expect(events.errors).toBeUndefined();
    expect(forks).toBe(1);
  });
});
