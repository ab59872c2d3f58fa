/**
 * Bad inputs of every kind answer 4xx with the documented shape (SPEC §2, §4, §7), never a 500
 * and never a stack trace; none of them stores anything, and the server stays healthy.
 */
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { checkedAgainstDocument, type CheckedServer } from '../helpers/openapi.js';
import { startTestServer, TEST_TOKEN_SECRET, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const provisionContract = JSON.parse(readFileSync(new URL('../fixtures/contract/provision.json', import.meta.url), 'utf8'));

type Loc = (string | number)[];
const name = (serviceName: unknown) => ({ serviceName, config: { template: 'single' } });
const tpl = (config: object) => ({ serviceName: 'ok-name', config: { template: 'single', ...config }, targetInfra: 'vsphere' });
const aws = (config: object) => ({ serviceName: 'ok-name', config: { instanceType: 't3.micro', nodeCount: 2, ...config }, targetInfra: {} });

/** Provision bodies that must each answer 422 with exactly one issue, at `loc`. */
const BAD_PROVISIONS: [string, unknown, Loc][] = [
  ['uppercase name', name('Shop-Web'), ['body', 'serviceName']],
  ['underscore in name', name('shop_web'), ['body', 'serviceName']],
  ['leading hyphen', name('-shop'), ['body', 'serviceName']],
  ['trailing hyphen', name('shop-'), ['body', 'serviceName']],
  ['64-character name', name('a'.repeat(64)), ['body', 'serviceName']],
  ['empty name', name(''), ['body', 'serviceName']],
  ['number as name', name(12345), ['body', 'serviceName']],
  ['userName not a string', { ...name('ok-name'), userName: 7 }, ['body', 'userName']],
  ['unknown template', tpl({ template: 'huge' }), ['body', 'config', 'template']],
  ['unknown package', tpl({ packages: ['nginx', 'cobol'] }), ['body', 'config', 'packages', 1]],
  ['duplicated package', tpl({ packages: ['nginx', 'redis', 'nginx'] }), ['body', 'config', 'packages', 2]],
  ['packages not a list', tpl({ packages: 'nginx' }), ['body', 'config', 'packages']],
  ['unknown environment', tpl({ environment: 'qa' }), ['body', 'config', 'environment']],
  ['unknown traffic', tpl({ traffic: 'extreme' }), ['body', 'config', 'traffic']],
  ['unknown mockFailAt step', tpl({ mockFailAt: 'nope' }), ['body', 'config', 'mockFailAt']],
  ['bad instanceType', aws({ instanceType: 't9.mega' }), ['body', 'config', 'instanceType']],
  ['nodeCount 0', aws({ nodeCount: 0 }), ['body', 'config', 'nodeCount']],
  ['nodeCount 21', aws({ nodeCount: 21 }), ['body', 'config', 'nodeCount']],
  ['nodeCount 2.5', aws({ nodeCount: 2.5 }), ['body', 'config', 'nodeCount']],
  ['nodeCount "3"', aws({ nodeCount: '3' }), ['body', 'config', 'nodeCount']],
  ['dbSize 10', aws({ dbSize: 10 }), ['body', 'config', 'dbSize']],
  ['unknown dbEngine', aws({ dbEngine: 'oracle' }), ['body', 'config', 'dbEngine']],
  ['unknown region', aws({ region: 'mars-north-1' }), ['body', 'config', 'region']],
  ['dbMultiAZ as a string', aws({ dbMultiAZ: 'yes' }), ['body', 'config', 'dbMultiAZ']],
  ['targetInfra type gcp', { ...name('ok-name'), targetInfra: { type: 'gcp' } }, ['body', 'targetInfra', 'type']],
  ['targetInfra "gcp"', { ...name('ok-name'), targetInfra: 'gcp' }, ['body', 'targetInfra', 'type']],
  ['targetInfra a number', { ...name('ok-name'), targetInfra: 42 }, ['body', 'targetInfra']],
  ['config an array', { serviceName: 'ok-name', config: [] }, ['body', 'config']],
  ['body a JSON array', [{ serviceName: 'ok-name' }], ['body']],
  ['body null', null, ['body']],
];

const STACK_LINE = /(?:^|\\n|\n)\s*at\s+\S+[\s(]|[\w/\\.-]+\.(?:ts|js|mjs|cjs):\d+:\d+/;

function expect422(res: { status: number; body: any }, locs: Loc[]): void {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(Object.keys(res.body)).toEqual(['detail']);
  expect(Array.isArray(res.body.detail)).toBe(true);
  for (const issue of res.body.detail) {
    expect(Object.keys(issue).sort()).toEqual(['loc', 'msg', 'type']);
    expect(issue.msg).toMatch(/\S/);
    expect(issue.type).toMatch(/^[a-z_]+$/);
  }
  expect(res.body.detail.map((i: any) => i.loc)).toEqual(locs);
}

function expect401(res: { status: number; body: any; headers: Headers }): void {
  expect(res.status).toBe(401);
  expect(Object.keys(res.body)).toEqual(['detail']);
  expect(typeof res.body.detail).toBe('string');
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

const gqlCodes = (res: { errors?: any[] }) => (res.errors ?? []).map((e) => e.extensions?.code);
const PROVISION = `mutation($input: ProvisionInput!) { provision(input: $input) { id } }`;

for (const backend of await backendsFor('bad input')) {
  describe(`bad inputs answer 4xx in the documented shape (${backend})`, () => {
    /** Every REST answer is checked against the OpenAPI document (tests/helpers/openapi.ts). */
    let server: CheckedServer;
    let token: string;
    let controlId: number;
    /** Every answer seen, to scan for stack traces and 5xx at the end. */
    const seen: { what: string; status: number; text: string }[] = [];
    const rest = async (method: string, path: string, opts: Parameters<TestServer['request']>[2] = {}) => {
      const res = await server.request(method, path, opts);
      seen.push({ what: `${method} ${path}`, status: res.status, text: JSON.stringify(res.body) });
      return res;
    };
    /** As the admin unless `tok` is given (null: anonymous). */
    const gql = async (query: string, variables?: Record<string, unknown>, tok?: string | null) => {
      const res = await server.gql(query, variables, tok === undefined ? token : (tok ?? undefined));
      seen.push({ what: `graphql ${query}`, status: res.status, text: JSON.stringify(res) });
      return res;
    };

    beforeAll(async () => {
      server = await checkedAgainstDocument(await startTestServer({ backend }));
      token = server.adminToken;
    });
    afterAll(() => server?.close());

    it('accepts a valid order (the control: the barrage below must not add to it)', async () => {
      const res = await rest('POST', '/api/provision', { token, body: provisionContract.request.body });
      expect(res.status).toBe(200);
      controlId = res.body.project_id;
      expect((await waitForFinalStatus(server, controlId, token)).status).toBe('COMPLETED');
    });

    it('answers a missing serviceName exactly as the contract', async () => {
      const res = await rest('POST', '/api/provision', { token, body: { config: { template: 'single' }, targetInfra: { type: 'aws' } } });
      expect(res.status).toBe(provisionContract.validation_error.status);
      expect(res.body).toEqual(provisionContract.validation_error.body);
    });

    it.each(BAD_PROVISIONS)('POST /api/provision: %s → 422 at the field', async (_label, body, loc) => {
      expect422(await rest('POST', '/api/provision', { token, body }), [loc]);
    });

    it('lists every bad field of one body', async () => {
      const res = await rest('POST', '/api/provision', { token, body: { serviceName: 'X', config: { instanceType: 'big', nodeCount: 0 }, targetInfra: 9 } });
      expect422(res, [['body', 'serviceName'], ['body', 'config', 'instanceType'], ['body', 'config', 'nodeCount'], ['body', 'targetInfra']]);
    });

    it('lists the first 50 problems of a 5,000-package order and counts the rest, in a small answer (REST)', async () => {
      const body = tpl({ packages: Array(5000).fill('nginx') });
      expect(JSON.stringify(body).length).toBeGreaterThan(40_000);
      const res = await rest('POST', '/api/provision', { token, body });
      expect(res.status).toBe(422);
      expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(20_000);
      expect(Object.keys(res.body)).toEqual(['detail']);
      const listed = res.body.detail.slice(0, 50);
      expect(listed.map((i: any) => i.loc)).toEqual(Array.from({ length: 50 }, (_, n) => ['body', 'config', 'packages', n + 1]));
      expect(new Set(listed.map((i: any) => i.type))).toEqual(new Set(['value_error']));
      expect(res.body.detail.slice(50)).toEqual([{ loc: ['body'], msg: '… and 4949 more problems', type: 'too_many_errors', ctx: { more: 4949 } }]);
    });

    it('keeps a refusal of exactly 50 problems as it was: every one listed, no count', async () => {
      const res = await rest('POST', '/api/provision', { token, body: tpl({ packages: Array(51).fill('nginx') }) });
      expect422(res, Array.from({ length: 50 }, (_, n) => ['body', 'config', 'packages', n + 1]));
    });

    it('refuses a 5 MB service name with 413 before reading it', async () => {
      const res = await rest('POST', '/api/provision', { token, body: { serviceName: 'a'.repeat(5 * 1024 * 1024) } });
      expect(res.status).toBe(413);
      expect(Object.keys(res.body)).toEqual(['detail']);
      expect(res.body.detail).toMatch(/too large/i);
    });

    it('refuses a lone UTF-16 surrogate, which would be stored as something else than was sent', async () => {
      const signup = await rest('POST', '/api/signup', { raw: '{"username": "surrogate-user", "password": "pass-\\ud800-word", "full_name": "x"}' });
      expect(signup.status).toBe(422);
      expect(signup.body.detail).toEqual([expect.objectContaining({ loc: ['body', 'password'], type: 'string_unicode' })]);
      const pair = await rest('POST', '/api/signup', { raw: '{"username": "surrogate-ok", "password": "pass-\\ud83d\\ude00-word"}' });
      expect(pair.status).toBe(200);
    });

    it('answers malformed JSON with 422 json_invalid and other media types with 415', async () => {
      for (const raw of ['{"serviceName": "x",', "{'serviceName': 'x'}", '{"serviceName": "x"}}']) {
        const res = await rest('POST', '/api/provision', { token, raw });
        expect(res.status).toBe(422);
        expect(res.body.detail[0]).toMatchObject({ type: 'json_invalid', loc: ['body'] });
      }
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await rest('POST', '/api/provision', { token, raw: 'serviceName=shop', headers: { 'content-type': type } });
        expect(res.status, type).toBe(415);
        expect(typeof res.body.detail).toBe('string');
      }
    });

    it('answers a missing, garbage, foreign or expired token with 401 and www-authenticate', async () => {
      const claims = { role: 'admin' };
      const sign = (secret: string, exp: number) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('admin').setIssuer('h-cmp').setAudience('h-cmp-console')
          .setIssuedAt(exp - 3600).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
      const now = Math.floor(Date.now() / 1000);
      const expired = await sign(TEST_TOKEN_SECRET, now - 60);
      const foreign = await sign('another-secret-that-is-long-enough-0123456789', now + 3600);
      const auths: (Record<string, string> | undefined)[] = [
        undefined,
        { authorization: 'Bearer garbage' },
        { authorization: 'Bearer' },
        { authorization: `Basic ${Buffer.from('admin:admin-test-password').toString('base64')}` },
        { authorization: `Bearer ${expired}` },
        { authorization: `Bearer ${foreign}` },
        { authorization: `Bearer ${token}x` },
      ];
      for (const headers of auths) {
        expect401(await rest('POST', '/api/provision', { headers, body: { serviceName: 'no-auth' } }));
        expect401(await rest('GET', '/api/history', { headers }));
        expect401(await rest('DELETE', `/api/provision/${controlId}`, { headers }));
        expect401(await rest('GET', '/api/monitoring/my-resources', { headers }));
      }
    });

    it('answers bad login bodies with 422 at the field', async () => {
      expect422(await rest('POST', '/api/login', { body: {} }), [['body', 'user_id'], ['body', 'password']]);
      expect422(await rest('POST', '/api/login', { body: { user_id: 'admin' } }), [['body', 'password']]);
      const wrong = await rest('POST', '/api/login', { body: { user_id: 42, password: ['admin-test-password'] } });
      expect422(wrong, [['body', 'user_id'], ['body', 'password']]);
      expect(wrong.body.detail.map((i: any) => i.type)).toEqual(['string_type', 'string_type']);
      expect((await rest('POST', '/api/login', { raw: '{"user_id":' })).body.detail[0].type).toBe('json_invalid');
    });

    it('answers DELETE with a non-numeric id 422 and an unknown id 404', async () => {
      for (const id of ['abc', '1.5', '-1', '0', '1e3', '99999999999999999999']) {
        expect422(await rest('DELETE', `/api/provision/${id}`, { token }), [['path', 'project_id']]);
      }
      const unknown = await rest('DELETE', '/api/provision/999999', { token });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ detail: 'Not Found' });
    });

    it('answers bad history parameters with 422 on every alias', async () => {
      for (const path of ['/api/history', '/api/api/history', '/api/projects']) {
        for (const q of ['limit=0', 'limit=abc', 'limit=-5', 'limit=100000', 'limit=2.5']) {
          expect422(await rest('GET', `${path}?${q}`, { token }), [['query', 'limit']]);
        }
        expect422(await rest('GET', `${path}?status=NOPE`, { token }), [['query', 'status']]);
      }
    });

    it('GraphQL provision with bad input answers BAD_USER_INPUT with the issues', async () => {
      const cases: [unknown, Loc][] = [
        [{ serviceName: 'Bad_Name' }, ['body', 'serviceName']],
        [{ serviceName: 'ok-name', config: { instanceType: 't3.micro', nodeCount: 0 } }, ['body', 'config', 'nodeCount']],
        [{ serviceName: 'ok-name', config: { template: 'single', packages: ['nginx', 'nginx'] } }, ['body', 'config', 'packages', 1]],
        [{ serviceName: 'ok-name', targetInfra: 'gcp' }, ['body', 'targetInfra', 'type']],
      ];
      for (const [input, loc] of cases) {
        const res = await gql(PROVISION, { input });
        expect(res.data ?? null).toBeNull();
        expect(gqlCodes(res)).toEqual(['BAD_USER_INPUT']);
        expect(res.errors![0].extensions.issues.map((i: any) => i.loc)).toEqual([loc]);
      }
      const missing = await gql(PROVISION, { input: { config: {} } });
      expect(missing.status).toBe(400);
      expect(gqlCodes(missing)).toEqual(['BAD_USER_INPUT']);
      expect(missing.errors![0].message).toMatch(/serviceName/);
    });

    it('GraphQL: a 5,000-package order lists the first 50 problems and counts the rest, in a small answer', async () => {
      const res = await gql(PROVISION, { input: { serviceName: 'ok-name', config: { template: 'single', packages: Array(5000).fill('nginx') } } });
      expect(Buffer.byteLength(JSON.stringify(res))).toBeLessThan(20_000);
      expect(res.data ?? null).toBeNull();
      expect(gqlCodes(res)).toEqual(['BAD_USER_INPUT']);
      const issues = res.errors![0].extensions.issues;
      expect(issues).toHaveLength(51);
      expect(issues[49].loc).toEqual(['body', 'config', 'packages', 50]);
      expect(issues[50]).toEqual({ loc: ['body'], msg: '… and 4949 more problems', type: 'too_many_errors', ctx: { more: 4949 } });
      expect(res.errors![0].message).toMatch(/and 4949 more problems$/);
    });

    it('GraphQL: unknown project, anonymous and garbage-token callers, bad paging', async () => {
      const unknown = await gql(`{ project(id: 999999) { id serviceName } }`);
      expect(unknown.data ?? null).toBeNull();
      expect(gqlCodes(unknown)).toEqual(['NOT_FOUND']);
      const anonymous = await gql(`{ me { username } }`, undefined, null);
      expect(gqlCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
      expect(anonymous.data ?? null).toBeNull();
      const garbage = await gql(`{ me { username } }`, undefined, 'garbage');
      expect(garbage.status).toBe(401);
      expect(gqlCodes(garbage)).toEqual(['UNAUTHENTICATED']);
      const zero = await gql(`{ history(first: 0) { nodes { id } } }`);
      expect(gqlCodes(zero)).toEqual(['BAD_USER_INPUT']);
      expect(zero.errors![0].extensions.issues[0].loc).toEqual(['query', 'first']);
      const cursor = await gql(`{ history(after: "garbage") { nodes { id } } }`);
      expect(gqlCodes(cursor)).toEqual(['BAD_USER_INPUT']);
      expect(cursor.errors![0].extensions.issues[0].loc).toEqual(['query', 'after']);
    });

    it('GraphQL: malformed JSON, other media types and syntax errors answer 4xx with GraphQL errors', async () => {
      for (const [raw, headers] of [['{"query": "{ me', undefined], ['{ me { username } }', { 'content-type': 'text/plain' }]] as const) {
        const res = await rest('POST', '/graphql', { raw, token, headers });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.body.errors.length).toBeGreaterThan(0);
        expect(typeof res.body.errors[0].message).toBe('string');
        expect(typeof res.body.errors[0].extensions.code).toBe('string');
      }
      const parse = await gql(`{ me { username `);
      expect(parse.status).toBe(400);
      expect(gqlCodes(parse)).toEqual(['GRAPHQL_PARSE_FAILED']);
      const invalid = await gql(`{ me { password } }`);
      expect(invalid.status).toBe(400);
      expect(gqlCodes(invalid)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      for (const e of [...parse.errors!, ...invalid.errors!]) expect(Object.keys(e.extensions)).toEqual(['code']);
    });

    it('after the barrage: healthy, nothing stored, no 5xx, no stack trace, nothing logged as unhandled', async () => {
      expect((await rest('GET', '/healthz')).status).toBe(200);
      const history = await rest('GET', '/api/history', { token });
      expect(history.body.map((p: any) => p.id)).toEqual([controlId]);
      const nodes = await gql(`{ history(first: 500) { nodes { id } } }`);
      expect(nodes.data.history.nodes).toEqual([{ id: controlId }]);
      const held = (await rest('GET', '/api/monitoring/my-resources', { token })).body.filter((r: any) => r.status !== 'Available' && r.vm_name.startsWith('EC2-'));
      expect(held.map((r: any) => r.project_name)).toEqual(['shop-web', 'shop-web', 'shop-web']);

      expect(seen.length).toBeGreaterThan(100);
      for (const answer of seen) {
        expect(answer.status, answer.what).toBeLessThan(500);
        expect(answer.text, answer.what).not.toMatch(STACK_LINE);
        expect(answer.text, answer.what).not.toMatch(/stack/i);
      }
      expect(server.logs.join('').match(/unhandled error|unexpected GraphQL error|Internal server error/gi)).toBeNull();
    });
  });
}
