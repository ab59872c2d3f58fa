/**
 * Bearer tokens as an attacker would try them: every defective token (unsigned, alg none,
 * edited payload, expired, not yet valid, wrong audience or issuer, no jti, another key or
 * algorithm, truncated, garbage, empty) is refused with 401 over REST, UNAUTHENTICATED over
 * GraphQL and 4403 in graphql-ws connectionParams, while a correctly built one is accepted.
 * Logout revokes one token server-side (others keep working, its sockets close with 4401), and
 * a socket is closed with 4401 when its token expires.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, TEST_TOKEN_SECRET, type TestServer } from '../helpers/server.js';

const KEY = new TextEncoder().encode(TEST_TOKEN_SECRET);
const USER = 'tok-user';
const FOLLOW = (id: number) => `subscription { provisionStatus(projectId: ${id}) { seq status } }`;
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface Claims {
  sub?: string;
  role?: string;
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  nbf?: number;
  jti?: string;
}

/** A token with the server's claims (user, role, issuer, audience, 10 minutes, a jti), each overridable or removable. */
function claims(overrides: Partial<Record<keyof Claims, string | number | undefined>> = {}): Claims {
  const base: Claims = { sub: USER, role: 'user', iss: 'h-cmp', aud: 'h-cmp-console', iat: now(), exp: now() + 600, jti: randomUUID() };
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return merged as Claims;
}

function sign(c: Claims, { alg = 'HS256', key = KEY }: { alg?: string; key?: Uint8Array } = {}): Promise<string> {
  return new SignJWT({ ...c }).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

/** The same header and signature over an edited payload. */
function editPayload(token: string, edit: (payload: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  edit(decoded);
  return [header, b64(decoded), signature].join('.');
}

for (const backend of await backendsFor('tokens')) {
  describe(`token checks, logout and socket expiry (${backend})`, () => {
    let server: TestServer;
    let projectId: number;
    let corpus: [string, string][];

    /** Opens a graphql-ws socket with `connectionParams` and follows the long project: how it ended. */
    function socket(connectionParams: Record<string, unknown>, onEvent?: () => void) {
      let connectedAt = 0;
      let events = 0;
      // Resolves with code -1 when the socket is still open after 10 s.
      return new Promise<{ code: number; connectedAt: number; closedAt: number; events: number }>((resolve) => {
        const timer = setTimeout(() => resolve({ code: -1, connectedAt, closedAt: Date.now(), events }), 10_000);
        const client = server.wsClient(undefined, {
          connectionParams,
          on: {
            connected: () => (connectedAt = Date.now()),
            closed: (e: any) => {
              clearTimeout(timer);
              resolve({ code: e.code, connectedAt, closedAt: Date.now(), events });
            },
          },
        });
        client.subscribe({ query: FOLLOW(projectId) }, { next: () => (events++, onEvent?.()), error: () => undefined, complete: () => undefined });
      });
    }
    const history = (token: string) => server.request('GET', '/api/history', { token });
    const gqlMe = (headers: Record<string, string>) => server.request('POST', '/graphql', { body: { query: '{ me { username role } }' }, headers });

    beforeAll(async () => {
      // Runs take minutes: the project stays live while sockets follow it.
      server = await startTestServer({ backend, env: { MOCK_STEP_DELAY_MS: '120000' } });
      const token = await server.createUser(USER);
      const created = await server.request('POST', '/api/provision', { token, body: { serviceName: 'long-run', config: { template: 'single' } } });
      projectId = created.body.project_id;
      const other = new TextEncoder().encode('another-secret-that-is-long-enough-9876543210');
      corpus = [
        ['alg none, unsigned', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
        ['payload edited (role user → admin)', editPayload(token, (p) => (p.role = 'admin'))],
        ['payload edited (sub → admin)', editPayload(token, (p) => (p.sub = 'admin'))],
        ['expired', await sign(claims({ iat: now() - 3600, exp: now() - 60 }))],
        ['not yet valid', await sign(claims({ nbf: now() + 3600 }))],
        ['wrong audience', await sign(claims({ aud: 'another-app' }))],
        ['wrong issuer', await sign(claims({ iss: 'not-h-cmp' }))],
        ['no jti', await sign(claims({ jti: undefined }))],
        ['no exp', await sign(claims({ exp: undefined }))],
        ['unknown role', await sign(claims({ role: 'root' }))],
        ['unknown account', await sign(claims({ sub: 'nobody-here' }))],
        ['signed with another secret', await sign(claims(), { key: other })],
        ['HS512 instead of HS256', await sign(claims(), { alg: 'HS512' })],
        ['truncated', token.slice(0, -12)],
        ['garbage', 'this-is-not-a-token'],
        ['three garbage parts', 'aaa.bbb.ccc'],
      ];
    });
    afterAll(() => server?.close());

    it('accepts a token built the way the server builds it (the control for every refusal below)', async () => {
      const good = await sign(claims());
      expect((await history(good)).status).toBe(200);
      expect((await gqlMe({ authorization: `Bearer ${good}` })).body.data.me).toEqual({ username: USER, role: 'user' });
      let socketEvents = 0;
      await new Promise<void>((resolve) => socket({ authorization: `Bearer ${good}` }, () => ++socketEvents === 1 && resolve()));
      expect(socketEvents).toBeGreaterThanOrEqual(1);
    });

    it('answers 401 with a detail on REST for each defective token, and without any token', async () => {
      const none = await server.request('GET', '/api/history');
      expect(none.status).toBe(401);
      expect(none.body).toEqual({ detail: 'Not authenticated' });
      for (const authorization of ['Bearer ', 'Bearer', 'Basic dG9rLXVzZXI6cGFzcw==']) {
        const res = await server.request('GET', '/api/history', { headers: { authorization } });
        expect(res.status, authorization).toBe(401);
      }
      for (const [name, token] of corpus) {
        const res = await history(token);
        expect(res.status, name).toBe(401);
        expect(Object.keys(res.body), name).toEqual(['detail']);
        expect(typeof res.body.detail, name).toBe('string');
        expect(res.headers.get('www-authenticate'), name).toBe('Bearer');
      }
    });

    it('answers UNAUTHENTICATED over GraphQL for each defective token, and for `me` without any token', async () => {
      const none = await gqlMe({});
      expect(none.body.data).toBeNull();
      expect(none.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      for (const [name, token] of [...corpus, ['empty Bearer', ''] as [string, string]]) {
        const res = await gqlMe({ authorization: `Bearer ${token}` });
        expect(res.status, name).toBe(401);
        expect(res.body.data ?? null, name).toBeNull();
        expect(res.body.errors.map((e: any) => e.extensions.code), name).toEqual(['UNAUTHENTICATED']);
      }
    });

    it('closes a graphql-ws connection with 4403 for each defective token in connectionParams', async () => {
      const cases = [...corpus, ['empty Bearer', ''] as [string, string]];
      const results = await Promise.all(cases.map(([, token]) => socket({ authorization: `Bearer ${token}` })));
      results.forEach((r, i) => {
        expect(r.code, cases[i][0]).toBe(4403);
        expect(r.events, cases[i][0]).toBe(0);
      });
      expect((await socket({ token: corpus[0][1] })).code).toBe(4403);
    });

    it('revokes a logged-out token server-side: REST and GraphQL logout; other tokens of the user keep working', async () => {
      const [a, b, c] = [await server.login(USER, `${USER}-password-1`), await server.login(USER, `${USER}-password-1`), await server.login(USER, `${USER}-password-1`)];
      const out = await server.request('POST', '/api/logout', { token: a });
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ status: 'success', message: '로그아웃 되었습니다.' });
      expect((await history(a)).status).toBe(401);
      expect((await gqlMe({ authorization: `Bearer ${a}` })).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect((await server.request('POST', '/api/logout', { token: a })).status).toBe(401);
      expect((await socket({ authorization: `Bearer ${a}` })).code).toBe(4403);
      expect((await history(b)).status).toBe(200);

      const gqlOut = await server.gql('mutation { logout }', {}, c);
      expect(gqlOut.data).toEqual({ logout: true });
      expect((await history(c)).status).toBe(401);
      expect((await server.gql('mutation { logout }', {}, c)).errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect(code(await server.gql('mutation { logout }', {}))).toBe('UNAUTHENTICATED');
      expect((await history(b)).status).toBe(200);
      expect((await gqlMe({ authorization: `Bearer ${b}` })).body.data.me.username).toBe(USER);
    });

    it('closes a live socket with 4401 when its token is logged out, and leaves the others open', async () => {
      const [doomed, kept] = [await server.login(USER, `${USER}-password-1`), await server.login(USER, `${USER}-password-1`)];
      let live!: () => void;
      const following = new Promise<void>((resolve) => (live = resolve));
      let keptClosed = false;
      const keptSocket = socket({ authorization: `Bearer ${kept}` });
      void keptSocket.then(() => (keptClosed = true));
      const ended = socket({ authorization: `Bearer ${doomed}` }, () => live());
      await following;
      const loggedOutAt = Date.now();
      expect((await server.request('POST', '/api/logout', { token: doomed })).status).toBe(200);
      const result = await ended;
      expect(result.code).toBe(4401);
      expect(result.events).toBeGreaterThan(0);
      expect(result.closedAt - loggedOutAt).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 200));
      expect(keptClosed).toBe(false);
    });

    it('closes a socket with 4401 when its token expires, within ~4 seconds', async () => {
      const exp = now() + 2;
      const shortLived = await sign(claims({ exp }));
      expect((await history(shortLived)).status).toBe(200);
      const startedAt = Date.now();
      const result = await socket({ authorization: `Bearer ${shortLived}` });
      expect(result.connectedAt).toBeGreaterThan(0);
      expect(result.events).toBeGreaterThan(0);
      expect(result.code).toBe(4401);
      expect(result.closedAt).toBeGreaterThanOrEqual(exp * 1000 - 250);
      expect(result.closedAt - startedAt).toBeLessThan(4000);
      expect((await history(shortLived)).status).toBe(401);
    });
  });
}

function code(res: { errors?: any[] }): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}
