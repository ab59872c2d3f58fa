/**
 * Compiled execution (server/graphql/executor.ts): an operation runs through graphql-js until
 * it has run GRAPHQL_COMPILE_AFTER times, then compiled. This server compiles at the third
 * execution, so sending the same request three times gives two answers from graphql-js and one
 * from the compiled query: they must be the same, byte for byte (status and body), for every
 * operation the console sends, for the standard introspection query, for the shapes of query a
 * client may write (aliases, fragments, directives, several operations in one document) and
 * for every kind of error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIntrospectionQuery, GraphQLError, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGraphQLSchema } from '../../server/graphql/schema.js';
import { CompiledExecution, positionOf, PRECOMPUTED } from '../../server/graphql/executor.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const OPERATIONS_DIR = join(import.meta.dirname, '..', '..', 'client', 'src', 'graphql', 'operations');

/** The console's operations by name (subscriptions run over graphql-ws and are not here). */
function consoleOperations(): Map<string, string> {
  const byName = new Map<string, string>();
  for (const file of readdirSync(OPERATIONS_DIR).filter((f) => f.endsWith('.graphql'))) {
    const text = readFileSync(join(OPERATIONS_DIR, file), 'utf8');
    const operation = parse(text).definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    if (operation && operation.operation !== 'subscription') byName.set(operation.name!.value, text);
  }
  return byName;
}

describe('compiled GraphQL execution answers exactly as graphql-js', () => {
  let server: TestServer;
  let user: string;
  let projectId: number;
  let sequence = 0;
  const operations = consoleOperations();

  beforeAll(async () => {
    server = await startTestServer({ env: { GRAPHQL_COMPILE_AFTER: '3', MOCK_STEP_DELAY_MS: '1' } });
    user = await server.createUser('compiled');
    const res = await server.gql(operations.get('Provision')!, { input: { serviceName: 'compiled-svc', config: { template: 'single' }, targetInfra: { type: 'vsphere' } } }, user);
    expect(res.errors).toBeUndefined();
    projectId = res.data.provision.id;
    for (let i = 0; i < 200; i++) {
      const p = await server.gql(`query($id: Int!) { project(id: $id) { status } }`, { id: projectId }, user);
      if (p.data?.project.status === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
  afterAll(() => server?.close());

  /**
   * Sends the request three times (the third runs compiled) and returns the three answers. A
   * comment makes the text new, so the count starts at zero whatever ran before.
   */
  async function thrice(query: string, variables: Record<string, unknown> | undefined, token: string | null, operationName?: string) {
    const text = `# case ${++sequence}\n${query}`;
    const before = { ...server.app.graphqlExecution.counts };
    const answers: { status: number; body: unknown }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await server.request('POST', '/graphql', { body: { query: text, variables, operationName }, token: token ?? undefined });
      answers.push({ status: res.status, body: res.body });
    }
    const after = server.app.graphqlExecution.counts;
    return { answers, compiled: after.compiled - before.compiled, compilations: after.compilations - before.compilations, fellBack: after.fellBack - before.fellBack };
  }

  /** The same answer from graphql-js and from the compiled query, and the compiled query really ran. */
  async function same(query: string, variables?: Record<string, unknown>, token: string | null = user, operationName?: string) {
    const { answers, compiled, compilations, fellBack } = await thrice(query, variables, token, operationName);
    expect(answers[1], query).toEqual(answers[0]);
    expect(answers[2], query).toEqual(answers[0]);
    expect(compilations, query).toBe(1);
    expect(fellBack, query).toBe(0);
    return { answer: answers[0], compiled };
  }

  const readOnly: [string, Record<string, unknown> | undefined, 'user' | 'admin'][] = [
    ['Me', undefined, 'user'],
    ['Catalog', undefined, 'user'],
    ['Templates', undefined, 'user'],
    ['PublicSettings', undefined, 'user'],
    ['HistoryPage', { first: 5 }, 'user'],
    ['HistoryPage', { first: 5, status: 'COMPLETED', infra: 'vsphere' }, 'admin'],
    ['HistoryProject', {}, 'user'],
    ['MonitoringResources', undefined, 'user'],
    ['MonitoringResources', { first: 3, kind: ['host', 'ssh'], search: '.', status: 'Running' }, 'admin'],
    ['ResourceSummary', undefined, 'user'],
    ['ResourceSummary', undefined, 'admin'],
    ['HostAlerts', undefined, 'user'],
    ['HostSeries', { window: 'H6' }, 'user'],
    ['ProjectSeries', { window: 'H24' }, 'user'],
    ['MonitoringRuns', { first: 5 }, 'user'],
    ['WorkloadPool', undefined, 'admin'],
    ['PoolHosts', { first: 10 }, 'admin'],
    ['PoolHosts', { first: 5, infra: 'vsphere', status: 'available', search: 'WKLD-1' }, 'admin'],
    ['AdminUsers', { status: 'approved' }, 'admin'],
    ['AdminPendingUsers', undefined, 'admin'],
    ['AdminSettings', undefined, 'admin'],
    ['DesignPreview', { config: { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', redis: true }, serviceName: 'preview' }, 'user'],
  ];
  for (const [name, variables, who] of readOnly) {
    it(`the console's ${name} ${variables ? JSON.stringify(variables) : ''}`, async () => {
      const vars =
        name === 'HistoryProject'
          ? { id: projectId }
          : name === 'ProjectSeries'
            ? { ...variables, projectId }
            : name === 'HostSeries'
              ? { ...variables, hostId: (await server.gql('query($id: Int) { resources(projectId: $id, kind: host) { nodes { hostId } } }', { id: projectId }, user)).data.resources.nodes[0].hostId }
              : variables;
      const { answer, compiled } = await same(operations.get(name)!, vars, who === 'admin' ? server.adminToken : user);
      expect(answer.status).toBe(200);
      expect((answer.body as { errors?: unknown }).errors).toBeUndefined();
      expect(compiled).toBe(1);
    });
  }

  it('covers every query the console sends (a new one must be added above)', () => {
    const queries = [...operations].filter(([, text]) => /^\s*query /m.test(text)).map(([name]) => name);
    const covered = new Set(readOnly.map(([name]) => name));
    // Monitoring status, admin stats and the audit log change between two requests (live
    // figures, the audit of the requests themselves): compared by shape below.
    const byShape = ['MonitoringStatus', 'AdminStats', 'AuditLog'];
    expect(queries.filter((q) => !covered.has(q) && !byShape.includes(q))).toEqual([]);
  });

  it('live figures (monitoring status, admin stats, audit log) keep their shape', async () => {
    for (const [name, variables] of [
      ['MonitoringStatus', undefined],
      ['AdminStats', undefined],
      ['AuditLog', { first: 3 }],
    ] as const) {
      const { answers } = await thrice(operations.get(name)!, variables, server.adminToken);
      const shape = (v: unknown): unknown =>
        Array.isArray(v) ? v.map(shape) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)])) : typeof v;
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect((answers[2].body as { errors?: unknown }).errors).toBeUndefined();
      expect(shape(answers[2].body)).toEqual(shape(answers[0].body));
    }
  });

  it('the standard introspection query', async () => {
    const { answer, compiled } = await same(getIntrospectionQuery(), undefined, null);
    expect(answer.status).toBe(200);
    expect(compiled).toBe(1);
  });

  it('aliases, fragments, inline fragments, __typename and @include/@skip by variable', async () => {
    const query = `query Shapes($id: Int!, $withLogs: Boolean!, $noOwner: Boolean!) {
      a: project(id: $id) { ...Basic logs @include(if: $withLogs) }
      b: project(id: $id) { ... on Project { id owner @skip(if: $noOwner) __typename } resources { sshTargets { host port } } }
      me { username __typename }
      first: history(first: 1) { nodes { id } pageInfo { hasNextPage } }
      none: history(first: 1, status: FAILED) { nodes { id } pageInfo { hasNextPage endCursor } }
    }
    fragment Basic on Project { id serviceName status createdAt config details }`;
    for (const [withLogs, noOwner] of [
      [true, false],
      [false, true],
    ]) {
      const { answer } = await same(query, { id: projectId, withLogs, noOwner });
      expect(answer.status).toBe(200);
      const data = (answer.body as { data: { a: Record<string, unknown>; b: Record<string, unknown> } }).data;
      expect('logs' in data.a).toBe(withLogs);
      expect('owner' in data.b).toBe(!noOwner);
    }
  });

  it('picks the operation named in a document of several, and an unknown name answers 400', async () => {
    const doc = `query One { me { username } } query Two($id: Int!) { project(id: $id) { id } }`;
    const one = await same(doc, undefined, user, 'One');
    expect(one.answer.body).toEqual({ data: { me: { username: 'compiled' } } });
    const two = await same(doc, { id: projectId }, user, 'Two');
    expect(two.answer.body).toEqual({ data: { project: { id: projectId } } });
    const unknown = await thrice(doc, undefined, user, 'Three');
    expect(unknown.answers.map((a) => a.status)).toEqual([400, 400, 400]);
    expect(unknown.answers[2]).toEqual(unknown.answers[0]);
    expect(unknown.compilations).toBe(0);
  });

  it('errors: resolver errors with their codes and locations, anonymous callers, paging limits', async () => {
    const cases: [string, Record<string, unknown> | undefined, string | null, string][] = [
      [`query($id: Int!) {\r\n  project(id: $id) { id }\r\n}`, { id: 999_999 }, user, 'NOT_FOUND'],
      [`{\n  me { username }\n  catalog { templates { name } }\n}`, undefined, null, 'UNAUTHENTICATED'],
      [`{ history(first: 0) { nodes { id } } }`, undefined, user, 'BAD_USER_INPUT'],
      [`{ adminStats { totalProjects } }`, undefined, user, 'FORBIDDEN'],
    ];
    for (const [query, variables, token, code] of cases) {
      const { answer } = await same(query, variables, token);
      const errors = (answer.body as { errors: { extensions: { code: string }; locations?: unknown; path?: unknown }[] }).errors;
      expect(errors.map((e) => e.extensions.code)).toContain(code);
      expect(errors[0].locations).toBeDefined();
      expect(errors[0].path).toBeDefined();
    }
  });

  it('bad variables answer 400 BAD_USER_INPUT with graphql-js wording, and echo no value', async () => {
    const query = `query($id: Int!) { project(id: $id) { id } }`;
    for (const variables of [{ id: 'seven' }, { id: 2 ** 40 }, {}, { id: null }]) {
      const { answers, compiled } = await thrice(query, variables, user);
      expect(answers[2]).toEqual(answers[0]);
      expect(answers[0].status).toBe(400);
      expect((answers[0].body as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(compiled).toBe(0);
    }
    const secret = 'do-not-echo-this-secret';
    const provision = operations.get('Provision')!;
    const { answers } = await thrice(provision, { input: { serviceName: 5, userName: secret, unknownField: secret } }, user);
    expect(answers[2]).toEqual(answers[0]);
    expect(answers[0].status).toBe(400);
    expect(JSON.stringify(answers)).not.toContain(secret);
  });

  it('a mutation with several root fields runs through graphql-js, which stops at the first failure', async () => {
    const logins = `mutation { a: login(username: "compiled", password: "wrong-1") { accessToken } b: login(username: "compiled", password: "wrong-2") { accessToken } }`;
    const { answers, compilations } = await thrice(logins, undefined, null);
    expect(compilations).toBe(0);
    for (const answer of answers) {
      const body = answer.body as { data: unknown; errors: { path: string[] }[] };
      expect(body.data).toBeNull();
      expect(body.errors.map((e) => e.path[0])).toEqual(['a']);
    }
    const single = await same(`mutation { logout }`, undefined, null);
    expect(single.compiled).toBe(1);
  });

  it('provision refusals keep their issues; a successful provision answers the same shape', async () => {
    const provision = operations.get('Provision')!;
    const refused = await same(provision, { input: { serviceName: 'Bad_Name', config: { template: 'single' }, targetInfra: { type: 'vsphere' } } });
    const body = refused.answer.body as { errors: { extensions: { code: string; issues: { loc: unknown[] }[] } }[] };
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].extensions.issues[0].loc).toEqual(['body', 'serviceName']);

    const { answers, compiled } = await thrice(provision, { input: { serviceName: 'three-of-them', config: { template: 'single' }, targetInfra: { type: 'vsphere' } } }, user);
    expect(compiled).toBe(1);
    const projects = answers.map((a) => (a.body as { data: { provision: { id: number } } }).data.provision);
    expect(new Set(projects.map((p) => p.id)).size).toBe(3);
    expect(projects.map(({ id: _id, ...rest }) => rest)).toEqual([projects[0], projects[0], projects[0]].map(({ id: _id, ...rest }) => rest));
  });
});

describe('CompiledExecution', () => {
  it('finds the offset of a line and column after \\n, \\r\\n and \\r line ends', () => {
    const body = 'ab\ncd\r\nef\rgh';
    for (const [line, column, char] of [
      [1, 2, 'b'],
      [2, 1, 'c'],
      [3, 2, 'f'],
      [4, 1, 'g'],
    ] as const) {
      expect(body[positionOf(body, { line, column })]).toBe(char);
    }
  });

  it('refuses nonsense settings', async () => {
    const schema = await buildGraphQLSchema();
    expect(() => new CompiledExecution(schema, { compileAfter: -1 })).toThrow(/compileAfter/);
    expect(() => new CompiledExecution(schema, { compileAfter: 1, maxOperations: 0 })).toThrow(/maxOperations/);
  });

  /** What Apollo hands its gateway executor, for a document and an operation in it. */
  function requestFor(query: string, operationName: string | null, operationIndex = 0) {
    const document = parse(query);
    const operation = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')[operationIndex];
    return {
      request: { query, operationName: operationName ?? undefined, variables: {} },
      queryHash: query,
      document,
      source: query,
      operation,
      operationName,
      context: { caller: null, services: {} },
    } as unknown as Parameters<CompiledExecution['execute']>[0];
  }

  it('compiles at the configured execution, never with 0, and keeps at most maxOperations', async () => {
    const schema = await buildGraphQLSchema();
    const off = new CompiledExecution(schema, { compileAfter: 0 });
    for (let i = 0; i < 5; i++) await off.execute(requestFor('{ __typename }', null));
    expect(off.counts).toMatchObject({ interpreted: 5, compiled: 0, compilations: 0 });
    expect(off.size).toBe(0);

    const two = new CompiledExecution(schema, { compileAfter: 2, maxOperations: 2 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await two.execute(requestFor('{ __typename }', null)));
    expect(results).toEqual(Array(4).fill({ data: { __typename: 'Query' } }));
    expect(two.counts).toMatchObject({ interpreted: 1, compiled: 3, compilations: 1 });
    // Two more operations: the first is dropped (least recently used) and counts from zero again.
    await two.execute(requestFor('{ a: __typename }', null));
    await two.execute(requestFor('{ b: __typename }', null));
    expect(two.size).toBe(2);
    await two.execute(requestFor('{ __typename }', null));
    expect(two.counts).toMatchObject({ interpreted: 4, compiled: 3, compilations: 1 });
  });

  it('runs the request through graphql-js when a compiled query refuses variables graphql-js accepted', async () => {
    const schema = await buildGraphQLSchema();
    const execution = new CompiledExecution(schema, { compileAfter: 1 });
    const request = requestFor('{ __typename }', null);
    expect(await execution.execute(request)).toEqual({ data: { __typename: 'Query' } });
    expect(execution.counts).toMatchObject({ compiled: 1, compilations: 1 });
    // No real document makes the two disagree today; stand in a compiled query that refuses.
    const operations = (execution as unknown as { operations: Map<string, { compiled: unknown }> }).operations;
    const [entry] = operations.values();
    entry.compiled = { query: async () => ({ errors: [new GraphQLError('Variable "$x" got invalid value')] }) };
    expect(await execution.execute(request)).toEqual({ data: { __typename: 'Query' } });
    expect(execution.counts).toMatchObject({ compiled: 1, fellBack: 1, interpreted: 1 });
  });

  it('knows a query by its text and operation name once it ran compiled, as long as the compiled operation is kept', async () => {
    const schema = await buildGraphQLSchema();
    const execution = new CompiledExecution(schema, { compileAfter: 2, maxOperations: 2 });
    const typename = requestFor('{ __typename }', null);
    await execution.execute(typename);
    expect(execution.knownQuery('{ __typename }', undefined)).toBeUndefined();
    await execution.execute(typename);
    const known = execution.knownQuery('{ __typename }', undefined);
    expect(known?.operation).toBe(typename.operation);
    expect(execution.knownQuery('{ __typename }', 'Other')).toBeUndefined();
    expect(execution.knownQuery('{  __typename }', undefined)).toBeUndefined();
    expect(await execution.runKnown(known!, {}, {})).toEqual({ data: { __typename: 'Query' } });
    expect(execution.counts).toMatchObject({ interpreted: 1, compiled: 1, direct: 1 });
    // Mutations are never known: they always go through Apollo.
    const logout = requestFor('mutation { logout }', null);
    for (let i = 0; i < 3; i++) await execution.execute(logout).catch(() => undefined);
    expect(execution.knownQuery('mutation { logout }', undefined)).toBeUndefined();
    // Two other operations push the known one out of the compiled ones: it is forgotten with it.
    await execution.execute(requestFor('{ b: __typename }', null));
    await execution.execute(requestFor('{ c: __typename }', null));
    expect(execution.knownQuery('{ __typename }', undefined)).toBeUndefined();
  });

  it('answers a request the fast path already ran with that result, as graphql-js errors', async () => {
    const schema = await buildGraphQLSchema();
    const execution = new CompiledExecution(schema, { compileAfter: 1 });
    const query = 'query {\r\n  me { username }\n}';
    const request = requestFor(query, null);
    const compiledError = new GraphQLError('Not signed in', { path: ['me'] });
    Object.assign(compiledError, { locations: [{ line: 2, column: 3 }] });
    const context = { caller: null, services: {}, [PRECOMPUTED]: { source: query, operationName: '', outcome: { result: { data: null, errors: [compiledError] } } } };
    const result = await execution.execute({ ...request, context } as typeof request);
    expect(result.data).toBeNull();
    expect(result.errors?.[0].originalError).toBeInstanceOf(Error);
    expect(result.errors?.[0].locations).toEqual([{ line: 2, column: 3 }]);
    expect(execution.counts).toMatchObject({ handedOn: 1, compiled: 0, interpreted: 0 });
    // Another text (or operation) than the one the fast path ran: executed as usual.
    const other = requestFor('{ __typename }', null);
    expect(await execution.execute({ ...other, context } as typeof other)).toEqual({ data: { __typename: 'Query' } });
    const thrown = { ...context, [PRECOMPUTED]: { source: query, operationName: '', outcome: { thrown: new Error('boom') } } };
    await expect(execution.execute({ ...request, context: thrown } as typeof request)).rejects.toThrow('boom');
  });

  it('an operation that cannot be compiled is reported once and keeps running through graphql-js', async () => {
    const schema = await buildGraphQLSchema();
    const reported: (string | null)[] = [];
    const execution = new CompiledExecution(schema, { compileAfter: 1, onCompileError: (name) => reported.push(name) });
    // Apollo never hands over such a pair; it is the simplest document graphql-jit refuses.
    const mismatched = requestFor('query A { __typename } query B { __typename }', 'C');
    for (let i = 0; i < 3; i++) {
      const result = await execution.execute(mismatched);
      expect(result.errors?.[0]).toBeInstanceOf(GraphQLError);
      expect(result.errors?.[0].message).toBe('Unknown operation named "C".');
    }
    expect(reported).toEqual(['C']);
    expect(execution.counts).toMatchObject({ compilations: 1, compileErrors: 1, interpreted: 3, compiled: 0 });
  });
});
