/**
 * Fuzzing (issue 3): thousands of generated malformed inputs against REST and GraphQL — random
 * JSON, deep nesting, huge strings within the body limit, random unicode, wrong types for every
 * field of the write paths, random GraphQL documents, variables and query strings. Never a
 * 5xx, never a stack trace, nothing logged as unexpected, and /healthz still answers.
 * Fixed seeds: a failure reproduces exactly (fast-check prints the counterexample).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { isRestPath, ResponseValidator, servedDocument } from '../helpers/openapi.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

/** Fixed, so a run reproduces; FUZZ_SEED=<n> explores other inputs. */
const SEED = Number(process.env.FUZZ_SEED ?? 3_700_019);
const provisionContract = JSON.parse(readFileSync(new URL('../fixtures/contract/provision.json', import.meta.url), 'utf8'));

/** A stack frame, a module path or a stack property: what a leaked trace looks like. */
const LEAK = /\bat [^\s()]+ \([^)]*:\d+:\d+\)|node_modules|node:internal|"stack(?:trace)?"\s*:/;

// ---------------------------------------------------------------- values, as JSON text

/** Strings that have broken servers before. */
const NASTY_STRINGS = [
  '', ' ', 'null', 'true', '0', '-1', 'NaN', 'Infinity', '__proto__', 'constructor', 'prototype', 'toString',
  '../../etc/passwd', "'; DROP TABLE users; --", '" OR 1=1 --', '<script>alert(1)</script>', '{{7*7}}', '${7*7}', '%s%s%n',
  '\u0000', '\u0000abc', '\uD800', '\uDFFF', '\u202E', '\uFEFF', 'a\r\nb', '😀', 'ｓｈｏｐ', 'İ', 'ß', '日本語', 'admin', 'Bearer x',
  'shop-web', 'standard', 'single', 'aws', 'vsphere', 'nginx', 't3.micro', 'ap-northeast-2', '10.0.0.1', '999.999.999.999',
];

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.integer({ min: -3, max: 25 }),
  fc.double(),
  fc.constantFrom(0, -0, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, 1e-300),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...NASTY_STRINGS),
);

/** Any JSON value, small. */
const smallValue = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 6 }) });

/** Nested 50-40 000 levels deep, written as text (JSON.stringify would overflow the client's stack). */
const deepText = fc.tuple(fc.integer({ min: 50, max: 40_000 }), fc.constantFrom('[', '{"a":', '[{"b":'), smallValue).map(([depth, open, inner]) => {
  const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
  return `${open.repeat(depth)}${JSON.stringify(inner)}${close.repeat(depth)}`;
});

/** A string of 10-200 kB (within the 256 kB body limit), of ASCII, unicode or escapes. */
const hugeText = fc.tuple(fc.constantFrom('a', 'é', '😀', '\\u0000', '\\"', '\\\\', 'ab\\n', '日'), fc.integer({ min: 10_000, max: 200_000 })).map(([unit, bytes]) => {
  const size = Buffer.byteLength(JSON.parse(`"${unit}"`)) * 2;
  return `"${unit.repeat(Math.max(1, Math.floor(bytes / Math.max(size, unit.length))))}"`;
});

/** One JSON value as text: mostly small and odd, sometimes deep or huge. */
const valueText = fc.oneof({ weight: 12, arbitrary: smallValue.map((v) => JSON.stringify(v)) }, { weight: 1, arbitrary: deepText }, { weight: 1, arbitrary: hugeText });

/** A JSON object as text with these fields, each left out, kept (from `valid`) or replaced by anything. */
function objectText(fields: Record<string, unknown>, extra = true): fc.Arbitrary<string> {
  const entries = Object.entries(fields).map(([key, valid]) =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant(`${JSON.stringify(key)}:${JSON.stringify(valid)}`) },
      { weight: 3, arbitrary: valueText.map((t) => `${JSON.stringify(key)}:${t}`) },
      { weight: 1, arbitrary: fc.constant('') },
    ),
  );
  const extras = extra ? fc.array(fc.tuple(fc.string({ maxLength: 12 }), valueText), { maxLength: 2 }) : fc.constant([] as [string, string][]);
  return fc.tuple(fc.tuple(...entries), extras).map(([parts, more]) => `{${[...parts, ...more.map(([k, t]) => `${JSON.stringify(k)}:${t}`)].filter(Boolean).join(',')}}`);
}

/** Text that is not JSON, or is JSON cut short. */
const brokenJson = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', '{', '}', '{"a":', '{"a":1,}', "{'a':1}", '[1,2', 'nul', 'tru', '"\\x41"', '{"a":"\\ud800"}', '\uFEFF{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '1e999999', '-'),
  smallValue.map((v) => JSON.stringify(v)).chain((t) => fc.integer({ min: 0, max: Math.max(0, t.length - 1) }).map((cut) => t.slice(0, cut))),
);

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'application/graphql-response+json',
      'application/graphql',
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      '*/*',
      'application/json; boundary=',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 }) },
);

// ---------------------------------------------------------------- GraphQL documents

const NAMES = [
  'me', 'myQuota', 'history', 'project', 'projectEvents', 'resources', 'publicSettings', 'templates', 'catalog', 'users', 'pendingUsers',
  'adminSettings', 'adminStats', 'auditLog', 'login', 'signup', 'provision', 'deleteProject', 'createUser', 'approveUser', 'provisionStatus',
  'edges', 'node', 'nodes', 'pageInfo', 'cursor', 'hasNextPage', 'endCursor', 'id', 'serviceName', 'status', 'logs', 'config', 'details', 'resources',
  'sshTargets', 'host', 'username', 'role', 'quota', 'limit', 'used', 'accessToken', 'user', 'events', 'seq', 'kind', 'message', 'data', 'entries',
  'siteName', 'database', 'backend', '__typename', '__schema', '__type', 'types', 'fields', 'name', 'ofType', 'queryType',
];
const ARGS = ['first', 'after', 'status', 'infra', 'id', 'projectId', 'afterSeq', 'limit', 'username', 'password', 'input', 'role', 'quota', 'before', 'actor', 'action', 'result', 'name'];
const TYPES = ['Int', 'Int!', 'String', 'String!', 'Boolean', 'ID', 'Float', '[Int]', '[String!]!', 'ProvisionInput', 'ProvisionInput!', 'SignupInput', 'ProjectStatus', 'InfraType', 'JSONObject', 'Query', 'Nope'];
const ident = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,10}$/) });

const { gqlValue } = fc.letrec<{ gqlValue: string }>((tie) => ({
  gqlValue: fc.oneof(
    { depthSize: 'small' },
    fc.integer().map(String),
    fc.constantFrom('0', '-1', '2147483648', '99999999999999999999', '1.5', '1e400', '-0', '0x10', '00'),
    fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)),
    fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null', 'RUNNING', 'COMPLETED', 'aws', 'vsphere', 'admin', 'user', '$v', '$first', '$input', '"""block"""'),
    fc.array(tie('gqlValue'), { maxLength: 3 }).map((a) => `[${a.join(', ')}]`),
    fc.array(fc.tuple(fc.constantFrom('serviceName', 'config', 'targetInfra', 'username', 'password', 'hosts', 'x'), tie('gqlValue')), { maxLength: 3 }).map(
      (a) => `{ ${a.map(([k, v]) => `${k}: ${v}`).join(', ')} }`,
    ),
  ),
}));

const argList = fc.array(fc.tuple(fc.constantFrom(...ARGS), gqlValue), { maxLength: 3 }).map((a) => (a.length ? `(${a.map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''));
const alias = fc.option(ident.map((a) => `${a}: `), { nil: '' });

const { selectionSet } = fc.letrec<{ selectionSet: string; selection: string }>((tie) => ({
  selectionSet: fc.array(tie('selection'), { minLength: 1, maxLength: 4 }).map((a) => `{ ${a.join(' ')} }`),
  selection: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    fc.tuple(alias, ident, argList).map(([a, n, args]) => `${a}${n}${args}`),
    fc.tuple(alias, ident, argList, tie('selectionSet')).map(([a, n, args, set]) => `${a}${n}${args} ${set}`),
    fc.tuple(fc.constantFrom('Query', 'Project', 'User', '__Type', 'Nope'), tie('selectionSet')).map(([t, set]) => `... on ${t} ${set}`),
    fc.constantFrom('...F', '...G', '... @skip(if: true) { id }', 'id @include(if: $v)'),
  ),
}));

const gqlDocument = fc
  .tuple(
    fc.constantFrom('', 'query', 'mutation', 'subscription', 'query Q', 'mutation M', 'subscription S', 'fragment'),
    fc.array(fc.tuple(fc.constantFrom('v', 'first', 'input', 'id', 'x'), fc.constantFrom(...TYPES), fc.option(gqlValue, { nil: undefined })), { maxLength: 3 }),
    selectionSet,
    fc.array(fc.tuple(fc.constantFrom('F', 'G'), fc.constantFrom('Query', 'Project', 'Mutation', 'Nope'), selectionSet), { maxLength: 2 }),
  )
  .map(([op, vars, set, fragments]) => {
    const defs = vars.length ? `(${vars.map(([n, t, d]) => `$${n}: ${t}${d === undefined ? '' : ` = ${d}`}`).join(', ')})` : '';
    const head = op === '' && defs ? 'query' : op;
    return `${head}${defs} ${set} ${fragments.map(([n, t, s]) => `fragment ${n} on ${t} ${s}`).join(' ')}`.trim();
  });

const VALID_DOCUMENTS = [
  '{ publicSettings { siteName systemNotice maintenanceMode database { backend fellBack } } }',
  'query($first: Int, $after: String) { history(first: $first, after: $after) { edges { cursor node { id status logs } } pageInfo { hasNextPage endCursor } } }',
  'query($id: Int!) { projectEvents(projectId: $id, afterSeq: 0, limit: 50) { lastSeq hasMore events { seq kind status message data } } }',
  'mutation($input: ProvisionInput!) { provision(input: $input) { id status serviceName } }',
  'mutation { login(username: "nobody", password: "wrong-password") { accessToken user { username } } }',
  'mutation($input: SignupInput!) { signup(input: $input) { username status } }',
  '{ me { username role quota { hosts vcpu } } myQuota { limit { hosts } used { usedHosts } } resources(first: 5) { totalCount nodes { kind projectId } } }',
  '{ catalog { templates { name hostCount roles } packages regions } templates { name } }',
];

/** A valid document with a few characters inserted, removed or replaced. */
const mutatedDocument = fc
  .tuple(fc.constantFrom(...VALID_DOCUMENTS), fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.string({ minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 4 }))
  .map(([doc, edits]) =>
    edits.reduce((text, [at, kind, chars]) => {
      const i = text.length ? at % text.length : 0;
      if (kind === 'insert') return text.slice(0, i) + chars + text.slice(i);
      if (kind === 'delete') return text.slice(0, i) + text.slice(i + chars.length);
      return text.slice(0, i) + chars + text.slice(i + chars.length);
    }, doc),
  );

const queryText = fc.oneof(
  { weight: 5, arbitrary: gqlDocument },
  { weight: 3, arbitrary: mutatedDocument },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
);

const variables = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom('v', 'first', 'after', 'input', 'id', 'x'), fc.oneof(smallValue, fc.record({ serviceName: smallValue, config: smallValue, targetInfra: smallValue }, { requiredKeys: [] }))) },
  { weight: 1, arbitrary: smallValue },
);

/** A GraphQL request body: each of query, variables, operationName and extensions possibly missing or of the wrong type. */
const graphqlBody = fc.record(
  {
    query: fc.oneof({ weight: 8, arbitrary: queryText }, { weight: 1, arbitrary: smallValue }),
    variables,
    operationName: fc.oneof(fc.constantFrom('Q', 'M', 'S', 'Nope', ''), smallValue),
    extensions: smallValue,
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------- the runs

interface Seen {
  what: string;
  status: number;
  text: string;
}

for (const backend of await backendsFor('fuzz')) {
  describe(`fuzz: malformed input never breaks the server (${backend})`, () => {
    let server: TestServer;
    let validator: ResponseValidator;
    let userToken: string;
    const counts = { requests: 0 };

    /** Sends one request and checks the answer: below 500, no leaked stack. */
    async function send(method: string, path: string, opts: { raw?: string; token?: string; type?: string; headers?: Record<string, string> }): Promise<Seen> {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.type !== undefined && opts.raw !== undefined) headers['content-type'] = opts.type;
      const res = await fetch(`${server.url}${path}`, { method, headers, body: opts.raw });
      const text = await res.text();
      counts.requests += 1;
      const seen = { what: `${method} ${path} ${opts.type ?? ''} ${(opts.raw ?? '').slice(0, 300)}`, status: res.status, text };
      expect(res.status, seen.what).toBeLessThan(500);
      expect(res.status, seen.what).toBeGreaterThanOrEqual(200);
      expect(text, seen.what).not.toMatch(LEAK);
      // A resolver that crashed answers 200 with this code: as much a server fault as a 500.
      expect(text, seen.what).not.toContain('INTERNAL_SERVER_ERROR');
      // Every REST answer is one the OpenAPI document describes, status by status.
      if (isRestPath(path)) {
        const contentType = res.headers.get('content-type');
        validator.check({ method, path, status: res.status, contentType, body: contentType?.includes('json') ? JSON.parse(text) : text });
      }
      return seen;
    }

    const run = (property: fc.IAsyncProperty<any>, numRuns: number, seed: number) =>
      fc.assert(property, { numRuns, seed, endOnFailure: false, verbose: 1, interruptAfterTimeLimit: 45_000 });

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { LOGIN_MAX_FAILURES: '1000' } });
      validator = new ResponseValidator(await servedDocument(server));
      userToken = await server.createUser('fuzz-user');
    });
    afterAll(async () => {
      console.info(`fuzz (${backend}): ${counts.requests} requests`);
      await server?.close();
    });

    it('POST /api/provision: every field of the order of any type, deep or huge', async () => {
      const base = provisionContract.request.body;
      const config = objectText({ ...base.config, instanceType: 't3.micro', nodeCount: 2, dbSize: 20, dbEngine: 'mysql', region: 'ap-northeast-2', dbMultiAZ: false, mockFailAt: 'nope' });
      const body = fc.oneof(
        { weight: 6, arbitrary: fc.tuple(objectText({ serviceName: base.serviceName, userName: base.userName, targetInfra: base.targetInfra }), config).map(([outer, inner]) => (outer === '{}' ? `{"config":${inner}}` : `${outer.slice(0, -1)},"config":${inner}}`)) },
        { weight: 2, arbitrary: valueText },
        { weight: 1, arbitrary: brokenJson },
      );
      await run(
        fc.asyncProperty(body, contentType, fc.constantFrom('user', 'none', 'garbage'), async (raw, type, who) => {
          const token = who === 'user' ? userToken : who === 'garbage' ? 'not.a.jwt' : undefined;
          await send('POST', '/api/provision', { raw, type, token });
        }),
        700,
        SEED,
      );
    });

    it('POST /api/login and /api/signup: wrong types for every field', async () => {
      const login = fc.oneof({ weight: 5, arbitrary: objectText({ user_id: 'fuzz-user', password: 'wrong-password' }) }, { weight: 1, arbitrary: valueText }, { weight: 1, arbitrary: brokenJson });
      const signup = fc.oneof({ weight: 5, arbitrary: objectText({ username: 'fuzz-signup', password: 'a-long-password', full_name: 'Fuzz' }) }, { weight: 1, arbitrary: valueText }, { weight: 1, arbitrary: brokenJson });
      await run(
        fc.asyncProperty(fc.oneof(login.map((raw) => ['/api/login', raw] as const), signup.map((raw) => ['/api/signup', raw] as const)), contentType, async ([path, raw], type) => {
          await send('POST', path, { raw, type });
        }),
        500,
        SEED + 1,
      );
    });

    it('POST /api/admin/settings (admin token): wrong types for every field, with and without the right password', async () => {
      const settings = objectText({
        system_notice: 'notice',
        maintenance_mode: false,
        vcenter_ip: '10.0.0.10',
        esxi_ip: '10.0.0.11',
        vcenter_user: 'administrator@vsphere.local',
        vcenter_password: 'secret',
        max_vcpu: 100000,
        max_memory: 100000,
        aws_access_key: 'AKIA0000',
        aws_secret_key: 'secret',
        aws_region: 'ap-northeast-2',
      });
      const password = fc.oneof(fc.constant(JSON.stringify(ADMIN.password)), valueText);
      const body = fc.oneof(
        // Never switch maintenance mode on: provisioning would rightly answer 503 after that.
        { weight: 6, arbitrary: fc.tuple(settings, password).filter(([s]) => !/"maintenance_mode":true\b/.test(s)).map(([s, p]) => (s === '{}' ? `{"admin_password":${p}}` : `${s.slice(0, -1)},"admin_password":${p}}`)) },
        { weight: 1, arbitrary: valueText },
        { weight: 1, arbitrary: brokenJson },
      );
      await run(
        fc.asyncProperty(body, contentType, async (raw, type) => {
          await send('POST', '/api/admin/settings', { raw, type, token: server.adminToken });
        }),
        300,
        SEED + 2,
      );
      const after = await server.request('GET', '/api/admin/settings', { token: server.adminToken });
      expect(after.status).toBe(200);
      expect(after.body.maintenance_mode).toBe(false);
    });

    it('POST /graphql: random documents, variables, operation names and query strings', async () => {
      // Variables as text too, so they can be deep or huge.
      const textVariables = fc
        .tuple(fc.constantFrom(...VALID_DOCUMENTS), fc.constantFrom('input', 'first', 'id', 'after', 'v'), valueText)
        .map(([query, name, value]) => `{"query":${JSON.stringify(query)},"variables":{${JSON.stringify(name)}:${value}}}`);
      const body = fc.oneof(
        { weight: 8, arbitrary: graphqlBody.map((b) => JSON.stringify(b)) },
        { weight: 2, arbitrary: textVariables },
        { weight: 1, arbitrary: valueText },
        { weight: 1, arbitrary: brokenJson },
      );
      await run(
        fc.asyncProperty(body, contentType, fc.constantFrom('user', 'none', 'garbage'), async (raw, type, who) => {
          const token = who === 'user' ? userToken : who === 'garbage' ? 'not.a.jwt' : undefined;
          await send('POST', '/graphql', { raw, type, token });
        }),
        1500,
        SEED + 3,
      );
    });

    it('GET /graphql: random query strings in the URL', async () => {
      const params = fc.record({ query: queryText, variables: fc.oneof(variables.map((v) => JSON.stringify(v)), fc.string({ maxLength: 30 })), operationName: fc.string({ maxLength: 10 }) }, { requiredKeys: [] });
      await run(
        fc.asyncProperty(params, fc.boolean(), async (p, preflight) => {
          const search = new URLSearchParams(p as Record<string, string>).toString();
          await send('GET', `/graphql?${search}`, { token: userToken, headers: preflight ? { 'apollo-require-preflight': 'true' } : {} });
        }),
        300,
        SEED + 4,
      );
    });

    it('refuses U+0000 and deep nesting everywhere with 4xx (found by this fuzz: they were 500s)', async () => {
      const N = '\u0000';
      const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
      const rest: [string, string, string, string | undefined][] = [
        ['POST', '/api/login', JSON.stringify({ user_id: `x${N}y`, password: 'whatever-password' }), undefined],
        ['POST', '/api/signup', JSON.stringify({ username: 'nul-signup', password: 'long-enough-pw', full_name: `a${N}b` }), undefined],
        ['POST', '/api/provision', JSON.stringify({ serviceName: `a${N}`, config: { template: 'single' } }), userToken],
        ['POST', '/api/admin/settings', JSON.stringify({ admin_password: ADMIN.password, system_notice: `n${N}` }), server.adminToken],
        ['POST', '/api/provision', `{"serviceName":${deep(5000)},"config":{"template":"single"}}`, userToken],
        ['POST', '/api/provision', `{"serviceName":"deep-config","config":{"template":"single","x":${deep(5000)}}}`, userToken],
        ['GET', '/api/admin/audit?actor=a%00b', '', server.adminToken],
        ['POST', '/api/admin/approve-user/a%00b', '{}', server.adminToken],
      ];
      for (const [method, path, raw, token] of rest) {
        const res = await send(method, path, { raw: method === 'GET' ? undefined : raw, type: 'application/json', token });
        expect(res.status, path).toBe(422);
        expect(res.text, path).toMatch(/NUL character|nested too deeply/);
      }
      const gql: [string, Record<string, unknown>][] = [
        ['mutation($u: String!) { login(username: $u, password: "some-password") { accessToken } }', { u: `a${N}` }],
        ['mutation { login(username: "a\\u0000", password: "some-password") { accessToken } }', {}],
        ['query($a: String) { auditLog(actor: $a) { hasMore } }', { a: `a${N}` }],
      ];
      for (const [query, vars] of gql) {
        const res = await send('POST', '/graphql', { raw: JSON.stringify({ query, variables: vars }), type: 'application/json', token: userToken });
        expect(res.status, query).toBe(400);
        expect(res.text, query).toMatch(/NUL character/);
      }
      const deepVariables = `{"query":"mutation($i: ProvisionInput!) { provision(input: $i) { id } }","variables":{"i":{"serviceName":"deep-gql","config":{"x":${deep(5000)}}}}}`;
      const res = await send('POST', '/graphql', { raw: deepVariables, type: 'application/json', token: userToken });
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/nested too deeply/);
      const get = await send('GET', `/graphql?query=${encodeURIComponent('query($a: String) { auditLog(actor: $a) { hasMore } }')}&variables=${encodeURIComponent('{"a":"a\\u0000"}')}`, {
        token: server.adminToken,
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(get.status).toBe(400);
      expect(get.text).toMatch(/NUL character/);
    });

    it('is still healthy, answers a normal request, and logged nothing unexpected', async () => {
      const health = await server.request('GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('ok');
      expect((await server.gql('{ me { username } }', undefined, userToken)).data).toEqual({ me: { username: 'fuzz-user' } });
      expect(counts.requests).toBeGreaterThan(3000);
      expect([...validator.seen.keys()].filter((k) => k.endsWith(' 422')).length).toBeGreaterThanOrEqual(4);
      const unexpected = server.logs.filter((line) => /"level":(50|60)/.test(line) || /unhandled error|unexpected GraphQL error/i.test(line));
      expect(unexpected.slice(0, 3)).toEqual([]);
    });
  });
}
