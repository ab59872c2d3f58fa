/**
 * GraphQL limits (issue 3, item 7): depth, aliases, complexity, tokens and body size are
 * refused before any resolver runs, over HTTP and graphql-ws; batching is refused, Apollo's
 * CSRF prevention is on, and in production introspection is off, "Did you mean" suggestions
 * are gone and no stack trace leaves the server.
 */
import { getIntrospectionQuery } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEntry } from '../../server/entities/index.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

const STACK_LINE = /(?:^|\\n|\n)\s*at\s+\S+[\s(]|[\w/\\.-]+\.(?:ts|js|mjs|cjs):\d+:\d+/;

interface WsResult {
  data?: any;
  errors?: any[];
  closed?: { code: number; reason: string };
}

/** Runs one operation over graphql-ws and resolves with its first result, its errors, or the close. */
function wsRun(client: Client, query: string, variables?: Record<string, unknown>): Promise<WsResult> {
  return new Promise((resolve) => {
    const results: WsResult[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (r) => results.push(r as WsResult),
        error: (e: unknown) => {
          if (Array.isArray(e)) resolve({ errors: e });
          else if (e && typeof e === 'object' && 'code' in e) resolve({ closed: { code: (e as any).code, reason: String((e as any).reason) } });
          else resolve({ errors: [{ message: String(e) }] });
        },
        complete: () => resolve(results[0] ?? {}),
      },
    );
  });
}

const codes = (errors: any[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);

/**
 * `{ __schema { directives { args { type { fields { args … name } } } } } }`, `levels` fields
 * deep. (graphql's own MaxIntrospectionDepthRule refuses three nested `fields`; this walk
 * has at most two up to depth 12.)
 */
function deepIntrospection(levels: number): string {
  const names = ['__schema', 'directives'];
  const cycle = ['args', 'type', 'fields'];
  while (names.length < levels - 1) names.push(cycle[(names.length - 2) % 3]);
  names.push('name');
  return `{ ${names.join(' { ')}${' }'.repeat(names.length - 1)} }`;
}

const PROJECT_FIELDS = 'id serviceName status assignedIp templateType owner infra config logs errorMessage lastSeq details createdAt updatedAt resources { albIp webUrl dbVip sshTargets { host port user } }';

async function loginRows(server: TestServer): Promise<number> {
  return server.app.orm.em.fork().count(AuditEntry, { action: 'login' });
}

describe('GraphQL limits (development server, SQLite)', () => {
  let server: TestServer;
  let token: string;
  const expectRefused = (res: { status: number; errors?: any[] }, pattern: RegExp, code = 'GRAPHQL_VALIDATION_FAILED') => {
    expect(res.status, JSON.stringify(res.errors)).toBe(400);
    expect(res.errors?.length).toBeGreaterThan(0);
    expect(codes(res.errors)).toContain(code);
    expect(res.errors!.map((e) => e.message).join('\n')).toMatch(pattern);
    for (const e of res.errors!) expect(e.extensions.stacktrace).toBeUndefined();
    expect(JSON.stringify(res.errors)).not.toMatch(STACK_LINE);
  };

  beforeAll(async () => {
    server = await startTestServer();
    token = server.adminToken;
  });
  afterAll(() => server?.close());

  it('uses the configured limits', () => {
    // compileAfter: the test servers compile every operation at its first execution (helpers/server.ts).
    expect(server.config.graphql).toEqual({ maxDepth: 10, maxAliases: 15, maxComplexity: 5000, maxTokens: 2000, compileAfter: 1 });
  });

  describe('depth', () => {
    it('accepts the standard introspection query (ofType chains do not count) and a query exactly at the limit', async () => {
      const intro = await server.gql(getIntrospectionQuery());
      expect(intro.status).toBe(200);
      expect(intro.errors).toBeUndefined();
      expect(intro.data.__schema.queryType.name).toBe('Query');
      const atLimit = await server.gql(deepIntrospection(10));
      expect(atLimit.errors).toBeUndefined();
      expect(atLimit.status).toBe(200);
    });

    it('refuses one level more, nested directly or through fragments', async () => {
      expectRefused(await server.gql(deepIntrospection(11)), /nests fields 11 deep; the maximum depth is 10/);
      expectRefused(await server.gql(deepIntrospection(40)), /maximum depth is 10/);
      const viaFragments = `query Deep { ...A }
        fragment A on Query { __schema { directives { ...B } } }
        fragment B on __Directive { args { type { ... on __Type { fields { args { ...C } } } } } }
        fragment C on __InputValue { type { fields { args { type { name } } } } }`;
      expectRefused(await server.gql(viaFragments), /Operation "Deep" nests fields 11 deep/);
    });

    it('counts a depth even when the document is invalid for other reasons, and survives fragment cycles', async () => {
      const deepInvalid = `{ me { a { b { c { d { e { f { g { h { i { j } } } } } } } } } } }`;
      expectRefused(await server.gql(deepInvalid, undefined, token), /nests fields 11 deep/);
      const cycle = `{ ...A } fragment A on Query { me { username } ...B } fragment B on Query { ...A }`;
      const res = await server.gql(cycle, undefined, token);
      expect(res.status).toBe(400);
      expect(res.errors!.map((e) => e.message).join()).toMatch(/Cannot spread fragment/);
    });
  });

  describe('aliases', () => {
    it('accepts 15 aliases and refuses 16, also when they come from a fragment spread twice', async () => {
      const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: publicSettings { siteName }`).join(' ')} }`;
      const fifteen = await server.gql(aliased(15));
      expect(fifteen.status).toBe(200);
      expect(Object.keys(fifteen.data)).toHaveLength(15);
      expectRefused(await server.gql(aliased(16)), /uses 16 aliases; the maximum alias count is 15/);
      const spread = `{ one: publicSettings { ...S } two: publicSettings { ...S } }
        fragment S on PublicSettings { ${Array.from({ length: 7 }, (_, i) => `s${i}: siteName`).join(' ')} }`;
      expectRefused(await server.gql(spread), /uses 16 aliases/);
    });

    it('refuses 100 aliased logins in one request before any login is attempted', async () => {
      const before = await loginRows(server);
      // The control: one failed login is recorded, so the count below can see an attempt.
      const one = await server.gql(`mutation { login(username: "${ADMIN.username}", password: "wrong-password") { accessToken } }`);
      expect(codes(one.errors)).toEqual(['UNAUTHENTICATED']);
      expect(await loginRows(server)).toBe(before + 1);

      const logins = Array.from({ length: 100 }, (_, i) => `l${i}: login(username: "${ADMIN.username}", password: "guess-${i}") { accessToken }`);
      const res = await server.gql(`mutation { ${logins.join(' ')} }`);
      expectRefused(res, /uses 100 aliases; the maximum alias count is 15/);
      expect(res.data).toBeUndefined();
      expect(await loginRows(server)).toBe(before + 1);
      // The admin is not locked out by the refused request.
      expect(await server.login(ADMIN.username, ADMIN.password)).toMatch(/\S/);
    });
  });

  describe('complexity', () => {
    it('multiplies the page size of history(first) into the cost of its items', async () => {
      const huge = `{ history(first: 500) { edges { cursor node { ${PROJECT_FIELDS} } } nodes { ${PROJECT_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
      expectRefused(await server.gql(huge, undefined, token), /complexity \d+; the maximum complexity is 5000/);
      const small = await server.gql(huge.replace('first: 500', 'first: 10'), undefined, token);
      expect(small.status).toBe(200);
      expect(small.errors).toBeUndefined();
      // The same through a variable: the limit reads the variables.
      const byVariable = `query($n: Int) { history(first: $n) { edges { node { ${PROJECT_FIELDS} } } } }`;
      expectRefused(await server.gql(byVariable, { n: 500 }, token), /maximum complexity is 5000/);
      expect((await server.gql(byVariable, { n: 5 }, token)).errors).toBeUndefined();
      // Bad variables are left to execution, which refuses them without running a resolver.
      const badVariable = await server.gql(byVariable, { n: 'lots' }, token);
      expect(badVariable.status).toBe(400);
      expect(codes(badVariable.errors)).toEqual(['BAD_USER_INPUT']);
    });

    it('multiplies projectEvents(limit) (at most 1000) and auditLog(first)', async () => {
      // What the console and the flow tests ask stays allowed: 1 + 1000 × 4.
      const replay = await server.gql(`{ projectEvents(projectId: 999999, afterSeq: 0, limit: 1000) { lastSeq hasMore events { seq kind status message } } }`, undefined, token);
      expect(codes(replay.errors)).toEqual(['NOT_FOUND']);
      const wide = `{ projectEvents(projectId: 999999, limit: LIMIT) { events { projectId seq at kind status message data } } }`;
      expectRefused(await server.gql(wide.replace('LIMIT', '1000'), undefined, token), /complexity 7001; the maximum complexity is 5000/);
      // Capped at the 1000 events the server ever returns.
      expectRefused(await server.gql(wide.replace('LIMIT', '100000'), undefined, token), /complexity 7001;/);
      expect(codes((await server.gql(wide.replace('LIMIT', '500'), undefined, token)).errors)).toEqual(['NOT_FOUND']);

      const audit = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `p${i}: auditLog(first: 200) { entries { id at actor action target ip result detail } hasMore nextBefore }`).join(' ')} }`;
      const three = await server.gql(audit(3), undefined, token);
      expect(three.errors).toBeUndefined();
      expectRefused(await server.gql(audit(4), undefined, token), /complexity 6404; the maximum complexity is 5000/);
    });
  });

  it('refuses a document of more than 2000 tokens', async () => {
    const many = `{ publicSettings { ${'siteName '.repeat(2100)}} }`;
    const res = await server.gql(many);
    expectRefused(res, /more tha[nt] 2000 tokens/, 'GRAPHQL_PARSE_FAILED');
    // The same number of characters as whitespace is fine: tokens count, not bytes.
    const spaced = await server.gql(`{ publicSettings { siteName ${' '.repeat(many.length)}} }`);
    expect(spaced.status).toBe(200);
  });

  it('refuses a body over the body limit with 413', async () => {
    const limit = server.config.bodyLimitBytes;
    const res = await server.request('POST', '/graphql', { body: { query: `{ publicSettings { siteName } } # ${'x'.repeat(limit)}` } });
    expect(res.status).toBe(413);
    expect(res.body.errors[0].message).toMatch(/too large/i);
    expect(JSON.stringify(res.body)).not.toMatch(STACK_LINE);
  });

  it('refuses a subscription over HTTP with 400 (graphql-ws serves them) without running its field', async () => {
    const userToken = await server.createUser('http-subscriber');
    const res = await server.gql(`subscription { provisionStatus(projectId: 1) { seq } }`, undefined, userToken);
    expect(res.status).toBe(400);
    expect(codes(res.errors)).toEqual(['BAD_REQUEST']);
    expect(res.errors![0].message).toMatch(/WebSocket/);
    // graphql's own validation throws on this one (found by the fuzz test: it was a 500).
    const directive = await server.gql(`subscription S($v: Boolean!) { provisionStatus(projectId: 1) @include(if: $v) { seq } }`, { v: true }, userToken);
    expect(directive.status).toBe(400);
    expect(codes(directive.errors)).toEqual(['BAD_REQUEST']);
    const get = await server.request('GET', `/graphql?query=${encodeURIComponent('subscription { provisionStatus(projectId: 1) { seq } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(400);
    expect(server.logs.join('')).not.toMatch(/unexpected GraphQL error|Unexpected error processing request/);
  });

  it('refuses batched requests (a JSON array body)', async () => {
    const res = await server.request('POST', '/graphql', { body: [{ query: '{ __typename }' }, { query: '{ __typename }' }] });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain('"__typename":"Query"');
    expect(JSON.stringify(res.body)).not.toMatch(STACK_LINE);
  });

  it('keeps CSRF prevention on: a plain GET is refused, a preflighted GET and a JSON POST work', async () => {
    const query = encodeURIComponent('{ __typename }');
    const plain = await server.request('GET', `/graphql?query=${query}`);
    expect(plain.status).toBe(400);
    expect(JSON.stringify(plain.body)).toMatch(/CSRF|preflight/i);
    expect(JSON.stringify(plain.body)).not.toContain('"Query"');
    const preflighted = await server.request('GET', `/graphql?query=${query}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect(preflighted.body.data).toEqual({ __typename: 'Query' });
    const post = await server.request('POST', '/graphql', { body: { query: '{ __typename }' } });
    expect(post.status).toBe(200);
    expect(post.body.data).toEqual({ __typename: 'Query' });
  });

  it('shows "Did you mean" suggestions in development (the control for production)', async () => {
    const res = await server.gql(`{ publicSettings { siteNam } }`);
    expect(res.errors![0].message).toMatch(/Did you mean "siteName"\?/);
  });

  describe('over graphql-ws', () => {
    let client: Client;
    beforeAll(() => {
      client = server.wsClient(token);
    });

    it('answers a valid operation (the control)', async () => {
      const res = await wsRun(client, `{ publicSettings { siteName } }`);
      expect(res.data).toEqual({ publicSettings: { siteName: 'H-CMP' } });
    });

    it('refuses a too-deep subscription', async () => {
      const res = await wsRun(client, `subscription { provisionStatus(projectId: 1) { data { a { b { c { d { e { f { g { h { i } } } } } } } } } } }`);
      expect(res.errors?.length).toBeGreaterThan(0);
      expect(res.errors!.map((e) => e.message).join('\n')).toMatch(/nests fields 11 deep; the maximum depth is 10/);
      expect(codes(res.errors)).toContain('GRAPHQL_VALIDATION_FAILED');
      const deepQuery = await wsRun(client, deepIntrospection(11));
      expect(deepQuery.errors!.map((e) => e.message)).toEqual([expect.stringMatching(/maximum depth is 10/)]);
    });

    it('answers, rather than crashes on, a subscription that graphql cannot validate', async () => {
      const res = await wsRun(client, `subscription S($v: Boolean!) { provisionStatus(projectId: 1) @include(if: $v) { seq } }`, { v: true });
      expect(res.closed).toBeUndefined();
      expect(codes(res.errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect((await wsRun(client, `{ publicSettings { siteName } }`)).data).toEqual({ publicSettings: { siteName: 'H-CMP' } });
    });

    it('refuses too many aliases, too many tokens and too much complexity', async () => {
      const aliases = await wsRun(client, `subscription { provisionStatus(projectId: 1) { ${Array.from({ length: 16 }, (_, i) => `s${i}: seq`).join(' ')} } }`);
      expect(aliases.errors!.map((e) => e.message)).toEqual([expect.stringMatching(/uses 16 aliases; the maximum alias count is 15/)]);
      const tokens = await wsRun(client, `{ publicSettings { ${'siteName '.repeat(2100)}} }`);
      expect(codes(tokens.errors)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(tokens.errors![0].message).toMatch(/more tha[nt] 2000 tokens/);
      const complex = await wsRun(client, `query($n: Int) { history(first: $n) { edges { node { ${PROJECT_FIELDS} } } } }`, { n: 500 });
      expect(complex.errors!.map((e) => e.message)).toEqual([expect.stringMatching(/maximum complexity is 5000/)]);
      for (const e of [...aliases.errors!, ...tokens.errors!, ...complex.errors!]) {
        expect(Object.keys(e.extensions ?? {})).toEqual(['code']);
      }
    });

    it('closes a socket whose message is larger than the body limit', async () => {
      const big = server.wsClient(token);
      const res = await wsRun(big, `{ publicSettings { siteName } } # ${'x'.repeat(server.config.bodyLimitBytes)}`);
      expect(res.closed?.code).toBe(1009);
    });
  });
});

describe('GraphQL in production (SQLite)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        NODE_ENV: 'production',
        TOKEN_SECRET: 'p'.repeat(40),
        ENCRYPT_KEY: 'e'.repeat(40),
        ADMIN_PASSWORD: ADMIN.password,
      },
    });
  });
  afterAll(() => server?.close());

  it('runs as production', () => {
    expect(server.config.isProduction).toBe(true);
  });

  it('refuses introspection, over HTTP and graphql-ws', async () => {
    const res = await server.gql(getIntrospectionQuery());
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(codes(res.errors)).toContain('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors!.map((e) => e.message).join()).toMatch(/introspection/i);
    const type = await server.gql(`{ __type(name: "Query") { name } }`);
    expect(type.status).toBe(400);
    const ws = await wsRun(server.wsClient(server.adminToken), `{ __schema { queryType { name } } }`);
    expect(ws.data).toBeUndefined();
    expect(ws.errors!.map((e) => e.message).join()).toMatch(/introspection/i);
    // __typename is not introspection and stays available.
    expect((await server.gql(`{ __typename }`)).data).toEqual({ __typename: 'Query' });
  });

  it('gives no "Did you mean" suggestion for a misspelt field, argument, type or enum value', async () => {
    // Each misspelling, and the name a suggestion would have given away.
    const cases: [string, Record<string, unknown> | undefined, RegExp][] = [
      [`{ publicSettings { siteNam } }`, undefined, /siteName/],
      [`{ histroy { nodes { id } } }`, undefined, /"history"/],
      [`{ history(frist: 1) { nodes { id } } }`, undefined, /"first"/],
      [`query($s: ProjectStatu) { history(status: $s) { nodes { id } } }`, {}, /ProjectStatus/],
      [`query($s: ProjectStatus) { history(status: $s) { nodes { id } } }`, { s: 'RUNNIN' }, /RUNNING/],
    ];
    for (const [query, variables, secret] of cases) {
      const res = await server.gql(query, variables, server.adminToken);
      expect(res.status, query).toBe(400);
      expect(res.errors?.length, query).toBeGreaterThan(0);
      const text = JSON.stringify(res.errors);
      expect(text, query).not.toMatch(/Did you mean/i);
      expect(text, query).not.toMatch(secret);
    }
    const ws = await wsRun(server.wsClient(server.adminToken), `{ publicSettings { siteNam } }`);
    expect(JSON.stringify(ws.errors)).toMatch(/siteNam/);
    expect(JSON.stringify(ws.errors)).not.toMatch(/Did you mean/);
  });

  it('never sends a stack trace', async () => {
    const answers = [
      await server.gql(`{ me { username `),
      await server.gql(`{ me { password } }`, undefined, server.adminToken),
      await server.gql(`{ me { username } }`, undefined, 'garbage'),
      await server.gql(`{ project(id: 999999) { id } }`, undefined, server.adminToken),
      await server.gql(`{ history(first: 0) { nodes { id } } }`, undefined, server.adminToken),
      await server.gql(`mutation { login(username: "nobody", password: "nothing") { accessToken } }`),
    ];
    for (const res of answers) {
      expect(res.errors?.length).toBeGreaterThan(0);
      for (const e of res.errors!) {
        expect(typeof e.extensions.code).toBe('string');
        expect(e.extensions.stacktrace).toBeUndefined();
      }
      expect(JSON.stringify(res.errors)).not.toMatch(STACK_LINE);
      expect(JSON.stringify(res.errors)).not.toMatch(/stack/i);
    }
  });
});
