/**
 * The GraphQL fast path (server/graphql/fast-path.ts) answers byte for byte as Apollo does.
 *
 * Two servers share one database: A with the fast path, B without (every request through
 * Apollo's pipeline). Both compile from the first execution (the test helper's
 * GRAPHQL_COMPILE_AFTER=1), so A answers a query's repetitions on the fast path. Every request
 * goes to both, twice, with the same Host header (the Content-Security-Policy names it), and
 * the answers must agree in status, every header but Date, and body bytes. For each case the
 * test also checks which path A took (its execution counts): the fast path for repeated
 * queries, with the context and the execution handed on to Apollo when they end in an error;
 * Apollo for everything else.
 */
import { request as httpRequest } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIntrospectionQuery, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const OPERATIONS_DIR = join(import.meta.dirname, '..', '..', 'client', 'src', 'graphql', 'operations');
const HOST = 'hcmp.test:8000';

function consoleOperations(): Map<string, { text: string; kind: string }> {
  const byName = new Map<string, { text: string; kind: string }>();
  for (const file of readdirSync(OPERATIONS_DIR).filter((f) => f.endsWith('.graphql'))) {
    const text = readFileSync(join(OPERATIONS_DIR, file), 'utf8');
    const operation = parse(text).definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    if (operation) byName.set(operation.name!.value, { text, kind: operation.operation });
  }
  return byName;
}

interface RawAnswer {
  status: number;
  /** Every header as sent (names and values, in order), Date left out. */
  headers: string[];
  body: Buffer;
}

interface Send {
  method?: 'GET' | 'POST' | 'OPTIONS';
  path?: string;
  /** A JSON body (stringified), or the exact text to send. */
  body?: unknown;
  raw?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

function send(url: string, options: Send): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string | number> = { host: HOST, ...options.headers };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: options.path ?? '/graphql', method: options.method ?? 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = res.rawHeaders;
        const kept: string[] = [];
        for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() !== 'date') kept.push(`${raw[i]}: ${raw[i + 1]}`);
        resolve({ status: res.statusCode ?? 0, headers: kept, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

const readable = (a: RawAnswer) => ({ status: a.status, headers: a.headers, body: a.body.toString('latin1') });

for (const backend of await backendsFor('GraphQL fast path')) {
  describe(`GraphQL fast path against Apollo's pipeline [${backend}]`, () => {
    let fast: TestServer;
    let apollo: TestServer;
    let user: string;
    let other: string;
    let projectId: number;
    let othersProjectId: number;
    let sequence = 0;
    const operations = consoleOperations();

    beforeAll(async () => {
      fast = await startTestServer({ backend, env: { MOCK_STEP_DELAY_MS: '1' } });
      user = await fast.createUser('fastpath');
      other = await fast.createUser('fastother');
      const provision = operations.get('Provision')!.text;
      const order = (token: string, name: string) =>
        fast.gql(provision, { input: { serviceName: name, config: { template: 'single' }, targetInfra: { type: 'vsphere' } } }, token);
      projectId = (await order(user, 'fast-mine')).data.provision.id;
      othersProjectId = (await order(other, 'fast-theirs')).data.provision.id;
      for (const id of [projectId, othersProjectId]) {
        await waitFor(async () => {
          const res = await fast.gql(`query($id: Int!) { project(id: $id) { status } }`, { id }, fast.adminToken);
          return res.data?.project.status === 'COMPLETED';
        }, 20_000, `project ${id} to complete`);
      }
      // The same database, every request through Apollo.
      apollo = await startTestServer({ backend, graphqlFastPath: false, reuse: { sqlitePath: fast.sqlitePath, postgres: fast.postgres } });
    });
    afterAll(async () => {
      await apollo?.close(true);
      await fast?.close();
    });

    type Path = 'fast' | 'handed-on' | 'apollo';

    /**
     * Sends the request to both servers twice and expects the same four answers. With `fresh`
     * a comment makes the query text new, so A's first request runs it through Apollo (which
     * registers it when it runs compiled) and the second may take the fast path; without, the
     * text may already be known. Returns A's second answer and the path it took.
     */
    async function both(options: Send, fresh = true): Promise<{ answer: RawAnswer; path: Path }> {
      let request = options;
      const body = options.body as Record<string, unknown> | undefined;
      if (fresh && options.raw === undefined && body && typeof body === 'object' && !Array.isArray(body) && typeof body.query === 'string') {
        request = { ...options, body: { ...body, query: `# case ${++sequence}\n${body.query}` } };
      }
      const first = [await send(fast.url, request), await send(apollo.url, request)];
      const counts = { ...fast.app.graphqlExecution.counts };
      const second = [await send(fast.url, request), await send(apollo.url, request)];
      const after = fast.app.graphqlExecution.counts;
      const what = JSON.stringify(request).slice(0, 300);
      expect(readable(first[0]), what).toEqual(readable(first[1]));
      expect(readable(second[0]), what).toEqual(readable(first[0]));
      expect(readable(second[1]), what).toEqual(readable(first[1]));
      const path: Path = after.direct === counts.direct ? 'apollo' : after.handedOn > counts.handedOn ? 'handed-on' : 'fast';
      return { answer: second[0], path };
    }

    /** Registers a query text with A (one successful request through Apollo, compiled). */
    async function known(query: string, variables: Record<string, unknown> | undefined, token: string | null, operationName?: string) {
      const res = await send(fast.url, { body: { query, variables, operationName }, token });
      expect(res.status).toBe(200);
      expect(json(res).errors).toBeUndefined();
    }

    const json = (a: RawAnswer) => JSON.parse(a.body.toString('utf8'));

    it('every query the console sends, as the console sends it: answered on the fast path', async () => {
      const variables: Record<string, Record<string, unknown> | undefined> = {
        HistoryProject: { id: projectId },
        HistoryPage: { first: 5 },
        MonitoringResources: { first: 3 },
        MonitoringRuns: { first: 5 },
        PoolHosts: { first: 5 },
        AdminUsers: { status: 'approved' },
        ProjectSeries: { projectId, window: 'H6' },
        DesignPreview: { config: { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', redis: true }, serviceName: 'preview' },
      };
      const hostId = (await fast.gql('query($id: Int) { resources(projectId: $id, kind: host) { nodes { hostId } } }', { id: projectId }, user)).data.resources.nodes[0].hostId;
      variables.HostSeries = { hostId, window: 'H1' };
      // Live figures (the audit log records requests; stats and status move) are checked by path only.
      const live = ['AuditLog', 'AdminStats', 'MonitoringStatus'];
      const admin = ['WorkloadPool', 'PoolHosts', 'AdminUsers', 'AdminPendingUsers', 'AdminSettings', 'AuditLog', 'AdminStats'];
      const checked: string[] = [];
      for (const [name, { text, kind }] of operations) {
        if (kind !== 'query' || live.includes(name)) continue;
        const token = admin.includes(name) ? fast.adminToken : user;
        // As client/src/graphql/client.ts sends it: JSON in and out, no operationName.
        const { answer, path } = await both({ body: { query: text, variables: variables[name] }, token, headers: { accept: 'application/json' } });
        expect(answer.status, name).toBe(200);
        expect(json(answer).errors, name).toBeUndefined();
        expect(path, name).toBe('fast');
        checked.push(name);
      }
      expect(checked.length).toBeGreaterThan(15);
      for (const name of live) {
        const request: Send = { body: { query: operations.get(name)!.text, variables: name === 'AuditLog' ? { first: 3 } : undefined }, token: fast.adminToken, headers: { accept: 'application/json' } };
        await send(fast.url, request);
        const before = { ...fast.app.graphqlExecution.counts };
        const res = await send(fast.url, request);
        expect(res.status, name).toBe(200);
        expect(json(res).errors, name).toBeUndefined();
        expect(fast.app.graphqlExecution.counts.direct - before.direct, name).toBe(1);
        expect(fast.app.graphqlExecution.counts.handedOn - before.handedOn, name).toBe(0);
      }
    });

    it('Accept headers: none, JSON, graphql-response+json, */*, a list, none acceptable (406)', async () => {
      const query = operations.get('HistoryProject')!.text;
      for (const accept of [undefined, 'application/json', 'application/graphql-response+json', '*/*', 'application/graphql-response+json, application/json;q=0.9', 'text/html']) {
        const headers: Record<string, string> = accept === undefined ? {} : { accept };
        const { answer, path } = await both({ body: { query, variables: { id: projectId } }, token: user, headers });
        if (accept === 'text/html') {
          expect(answer.status).toBe(406);
          expect(path).toBe('apollo');
        } else {
          expect(answer.status, accept).toBe(200);
          expect(path, accept).toBe('fast');
        }
      }
    });

    it('compression: larger answers in br, gzip and plain', async () => {
      const page = { body: { query: operations.get('HistoryPage')!.text, variables: { first: 10 } }, token: fast.adminToken };
      const introspection = { body: { query: getIntrospectionQuery() }, token: null };
      for (const request of [page, introspection]) {
        for (const encoding of ['br', 'gzip', 'gzip, deflate, br', 'identity']) {
          const { answer, path } = await both({ ...request, headers: { accept: 'application/json', 'accept-encoding': encoding } });
          expect(answer.status).toBe(200);
          expect(path).toBe('fast');
          const contentEncoding = answer.headers.find((h) => h.toLowerCase().startsWith('content-encoding:'));
          if (encoding === 'identity') expect(contentEncoding).toBeUndefined();
          else expect(contentEncoding, encoding).toBe(`content-encoding: ${encoding === 'gzip' ? 'gzip' : 'br'}`);
        }
      }
    });

    it('authentication on a known query: none, a bad token (401), a logged-out token (401), another user, no admin', async () => {
      const mine = operations.get('HistoryProject')!.text;
      await known(mine, { id: projectId }, user);
      const anonymous = await both({ body: { query: mine, variables: { id: projectId } }, token: null }, false);
      expect(json(anonymous.answer).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(anonymous.path).toBe('handed-on');
      const bad = await both({ body: { query: mine, variables: { id: projectId } }, token: 'not-a-token' }, false);
      expect(bad.answer.status).toBe(401);
      expect(json(bad.answer).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      const stale = await fast.login('fastpath', 'fastpath-password-1');
      expect((await send(fast.url, { body: { query: operations.get('Logout')!.text }, token: stale })).status).toBe(200);
      const loggedOut = await both({ body: { query: mine, variables: { id: projectId } }, token: stale }, false);
      expect(loggedOut.answer.status).toBe(401);
      // Another user's project: NOT_FOUND from the fast path's execution, formatted by Apollo.
      const theirs = await both({ body: { query: mine, variables: { id: othersProjectId } }, token: user }, false);
      expect(theirs.answer.status).toBe(200);
      expect(json(theirs.answer).errors[0].extensions.code).toBe('NOT_FOUND');
      expect(theirs.path).toBe('handed-on');
      const settings = operations.get('AdminSettings')!.text;
      await known(settings, undefined, fast.adminToken);
      const forbidden = await both({ body: { query: settings }, token: user }, false);
      expect(json(forbidden.answer).errors[0].extensions.code).toBe('FORBIDDEN');
      expect(forbidden.path).toBe('handed-on');
    });

    it('variables on a known query: wrong types, missing, null, out of range, not an object, NUL, too deep (400)', async () => {
      const query = operations.get('HistoryProject')!.text;
      await known(query, { id: projectId }, user);
      for (const variables of [{ id: 'seven' }, {}, { id: null }, { id: 2 ** 40 }, { id: 1.5 }, 'id=1', [projectId]]) {
        const { answer, path } = await both({ body: { query, variables }, token: user }, false);
        expect(answer.status, JSON.stringify(variables)).toBe(400);
        expect(path).toBe('apollo');
      }
      const extra = await both({ body: { query, variables: { id: projectId, extra: 'ignored' } }, token: user }, false);
      expect(extra.answer.status).toBe(200);
      expect(extra.path).toBe('fast');
      const page = operations.get('HistoryPage')!.text;
      await known(page, { first: 2 }, user);
      let deep: unknown = 'x';
      for (let i = 0; i < 40; i++) deep = { a: deep };
      for (const variables of [{ after: 'a\u0000b' }, { after: deep }, { status: 'NOPE' }]) {
        const { answer, path } = await both({ body: { query: page, variables }, token: user }, false);
        expect(answer.status, JSON.stringify(variables).slice(0, 80)).toBe(400);
        expect(path).toBe('apollo');
      }
    });

    it('limits: complexity by page size on a known query; depth, aliases and tokens', async () => {
      const page = operations.get('HistoryPage')!.text;
      await known(page, { first: 5 }, user);
      expect((await both({ body: { query: page, variables: { first: 5 } }, token: user }, false)).path).toBe('fast');
      const tooComplex = await both({ body: { query: page, variables: { first: 500 } }, token: user }, false);
      expect(tooComplex.answer.status).toBe(400);
      expect(json(tooComplex.answer).errors[0].message).toMatch(/complexity/);
      expect(tooComplex.path).toBe('apollo');
      let nested = 'name';
      for (let i = 0; i < 6; i++) nested = `fields { type { ${nested} } }`;
      const deep = await both({ body: { query: `{ __schema { types { ${nested} } } }` }, token: null });
      expect(deep.answer.status).toBe(400);
      expect(json(deep.answer).errors[0].message).toMatch(/depth/);
      const aliases = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
      const aliased = await both({ body: { query: aliases }, token: user });
      expect(aliased.answer.status).toBe(400);
      expect(json(aliased.answer).errors[0].message).toMatch(/alias/);
      const tokens = await both({ body: { query: `{ me { ${'id '.repeat(2500)} } }` }, token: user });
      expect(tokens.answer.status).toBe(400);
      expect(json(tokens.answer).errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    });

    it('request shapes Apollo refuses or treats its own way, for a known query text', async () => {
      const query = operations.get('Me')!.text;
      await known(query, undefined, user);
      const get = `/graphql?query=${encodeURIComponent(query)}`;
      const cases: [Send, number, Path][] = [
        [{ raw: JSON.stringify([{ query }]), token: user }, 400, 'apollo'], // batching is off
        [{ raw: '{}', token: user }, 400, 'apollo'],
        [{ body: { query, operationName: 5 }, token: user }, 400, 'apollo'],
        [{ body: { query, extensions: 'x' }, token: user }, 400, 'apollo'],
        [{ body: { query, extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }, token: user }, 400, 'apollo'],
        [{ body: { query, extensions: {} }, token: user }, 200, 'apollo'],
        [{ body: { query: 7 }, token: user }, 400, 'apollo'],
        [{ body: { query, operationName: 'Nope' }, token: user }, 400, 'apollo'],
        [{ body: { query, operationName: null, variables: null, extensions: null }, token: user }, 200, 'fast'],
        [{ body: { query, operationName: 'Me' }, token: user }, 200, 'apollo'], // another key: registered on its own
        [{ body: { query }, token: user, headers: { 'content-type': 'application/json; charset=utf-8' } }, 200, 'fast'],
        [{ body: { query }, token: user, headers: { 'content-type': 'text/plain' } }, 415, 'apollo'],
        [{ method: 'GET', path: get, token: user }, 400, 'apollo'], // CSRF: no content type, no preflight header
        [{ method: 'GET', path: get, token: user, headers: { 'apollo-require-preflight': 'true' } }, 200, 'apollo'],
        [{ method: 'GET', path: get, token: user, headers: { 'content-type': 'application/json' } }, 200, 'apollo'],
        [{ method: 'OPTIONS', token: user }, 400, 'apollo'],
        [{ body: { query: 'subscription { projectChanges { id } }' }, token: user }, 400, 'apollo'],
      ];
      for (const [options, status, path] of cases) {
        const what = JSON.stringify(options).slice(0, 200);
        const result = await both(options, false);
        expect(result.answer.status, what).toBe(status);
        // `operationName: "Me"` is a new key: its first request registered it, the second is fast.
        expect(result.path, what).toBe(path === 'apollo' && (options.body as { operationName?: unknown } | undefined)?.operationName === 'Me' ? 'fast' : path);
      }
    });

    it('several operations in one document: the named one; no name is Apollo’s 400', async () => {
      const doc = 'query One { me { username } } query Two($id: Int!) { project(id: $id) { id status } }';
      const one = await both({ body: { query: doc, operationName: 'One' }, token: user });
      expect(one.path).toBe('fast');
      const two = await both({ body: { query: doc, operationName: 'Two', variables: { id: projectId } }, token: user }, false);
      expect(two.path).toBe('fast');
      expect(json(two.answer)).toEqual({ data: { project: { id: projectId, status: 'COMPLETED' } } });
      const none = await both({ body: { query: doc }, token: user }, false);
      expect(none.answer.status).toBe(400);
      expect(none.path).toBe('apollo');
    });

    it('the standard introspection query', async () => {
      const { answer, path } = await both({ body: { query: getIntrospectionQuery() }, token: null });
      expect(answer.status).toBe(200);
      expect(path).toBe('fast');
    });

    it('mutations stay on Apollo’s path, answers and refusals alike', async () => {
      const cancel = operations.get('CancelProvision')!.text;
      const refused = await both({ body: { query: cancel, variables: { id: othersProjectId } }, token: user }, false);
      expect(json(refused.answer).errors[0].extensions.code).toBe('NOT_FOUND');
      expect(refused.path).toBe('apollo');
      const login = operations.get('Login')!.text;
      const wrong = await both({ body: { query: login, variables: { username: 'fastpath', password: 'wrong-password' } }, token: null }, false);
      expect(json(wrong.answer).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(wrong.path).toBe('apollo');
      const preview = await both({ body: { query: 'mutation { logout }' }, token: null }, false);
      expect(preview.path).toBe('apollo');
    });
  });
}
