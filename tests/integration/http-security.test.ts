/**
 * HTTP hygiene (issue 3, items 7 and 9): security headers on every response, CORS closed to
 * other origins unless CORS_ORIGINS lists them, and no cookie authentication (so a page on
 * another origin cannot make a browser send a request that carries a user's credentials).
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type HttpAnswer, type TestServer } from '../helpers/server.js';

const EVIL = 'https://evil.example';
const CONSOLE = 'https://console.example.com';

function directives(csp: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (csp ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name, values);
  }
  return map;
}

function expectSecurityHeaders(what: string, res: { headers: Headers }, port: string): void {
  const h = res.headers;
  expect(h.get('x-content-type-options'), what).toBe('nosniff');
  expect(h.get('x-frame-options'), what).toBe('DENY');
  expect(h.get('referrer-policy'), what).toBe('no-referrer');
  expect(h.get('strict-transport-security'), what).toMatch(/max-age=\d+/);
  expect(h.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(h.get('x-powered-by'), what).toBeNull();
  const csp = directives(h.get('content-security-policy'));
  expect(csp.get('default-src'), what).toEqual(["'self'"]);
  expect(csp.get('script-src'), what).toEqual(["'self'"]);
  expect(csp.get('style-src'), what).toEqual(["'self'", "'unsafe-inline'"]);
  expect(csp.get('img-src'), what).toEqual(["'self'", 'data:']);
  expect(csp.get('object-src'), what).toEqual(["'none'"]);
  expect(csp.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(csp.get('connect-src'), what).toEqual(["'self'", `ws://127.0.0.1:${port}`, `wss://127.0.0.1:${port}`]);
  expect(csp.has('upgrade-insecure-requests'), what).toBe(false);
  // No external host anywhere: every source is a keyword, data: or our own host.
  for (const [name, values] of csp) {
    for (const value of values) expect(value, `${what}: ${name}`).toMatch(/^'[a-z-]+'$|^data:$|^wss?:\/\/127\.0\.0\.1:\d+$/);
  }
}

/** A raw request with a Host header fetch() will not send. */
function rawGet(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('security headers and CORS (same-origin default, SQLite)', () => {
  let server: TestServer;
  let port: string;
  beforeAll(async () => {
    server = await startTestServer();
    port = new URL(server.url).port;
  });
  afterAll(() => server?.close());

  it('sends the security headers on REST, GraphQL, /healthz, 404 and error answers', async () => {
    const answers: [string, HttpAnswer][] = [
      ['REST GET', await server.request('GET', '/api/public/settings')],
      ['REST POST', await server.request('POST', '/api/login', { body: { user_id: 'nobody', password: 'nothing-at-all' } })],
      ['REST 401', await server.request('GET', '/api/me')],
      ['REST 422', await server.request('POST', '/api/provision', { token: server.adminToken, raw: '{"serviceName": ' })],
      ['REST 413', await server.request('POST', '/api/login', { body: { user_id: 'x', password: 'y'.repeat(server.config.bodyLimitBytes) } })],
      ['GraphQL POST', await server.request('POST', '/graphql', { body: { query: '{ __typename }' } })],
      ['GraphQL GET (CSRF refused)', await server.request('GET', '/graphql?query=%7B__typename%7D')],
      ['GraphQL 400', await server.request('POST', '/graphql', { body: { query: '{ nope }' } })],
      ['/healthz', await server.request('GET', '/healthz')],
      ['404', await server.request('GET', '/no/such/page')],
      ['API 404', await server.request('GET', '/api/no-such-route')],
    ];
    expect(answers.map(([, r]) => r.status)).toEqual([200, 401, 401, 422, 413, 200, 400, 400, 200, 404, 404]);
    for (const [what, res] of answers) expectSecurityHeaders(what, res, port);
  });

  it('never repeats a malformed Host header inside the policy', async () => {
    const res = await rawGet(server.url, '/healthz', { host: "evil.example; script-src * 'unsafe-eval'" });
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).not.toMatch(/evil|\*|unsafe-eval/);
    expect(directives(csp).get('connect-src')).toEqual(["'self'"]);
    expect(directives(csp).get('script-src')).toEqual(["'self'"]);
  });

  it('allows no other origin: no Access-Control-Allow-Origin, preflights not granted', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/public/settings', undefined],
      ['POST', '/graphql', { query: '{ __typename }' }],
      ['GET', '/healthz', undefined],
    ] as const) {
      const res = await server.request(method, path, { body, headers: { origin: EVIL } });
      expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
    const preflight = await server.request('OPTIONS', '/graphql', {
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    expect(preflight.status).toBeLessThan(500);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('does not authenticate with cookies: a cookie-only request is 401, even with a valid token in it', async () => {
    const token = server.adminToken;
    const cookie = `token=${token}; access_token=${token}; authorization=Bearer%20${token}; session=${token}`;
    for (const [method, path, body] of [
      ['GET', '/api/me', undefined],
      ['GET', '/api/history', undefined],
      ['GET', '/api/admin/users', undefined],
      ['POST', '/api/provision', { serviceName: 'cookie-made', config: { template: 'single' } }],
      ['POST', '/api/logout', {}],
    ] as const) {
      const res = await server.request(method, path, { body, headers: { cookie, origin: EVIL } });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate'), path).toMatch(/^Bearer/);
    }
    const gql = await server.request('POST', '/graphql', { body: { query: '{ me { username } }' }, headers: { cookie } });
    expect(gql.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // The control: the same token in the Authorization header works, and was not logged out.
    expect((await server.request('GET', '/api/me', { token })).status).toBe(200);
  });
});

describe('CORS with CORS_ORIGINS (SQLite)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { CORS_ORIGINS: CONSOLE } });
  });
  afterAll(() => server?.close());

  it('allows the listed origin, without credentials', async () => {
    const res = await server.request('GET', '/api/me', { token: server.adminToken, headers: { origin: CONSOLE } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/origin/i);
    const preflight = await server.request('OPTIONS', '/graphql', {
      headers: { origin: CONSOLE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('still refuses every other origin', async () => {
    for (const origin of [EVIL, 'http://console.example.com', 'https://console.example.com.evil.example', 'null']) {
      const res = await server.request('GET', '/api/public/settings', { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      const preflight = await server.request('OPTIONS', '/api/provision', { headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(preflight.status, origin).toBeLessThan(500);
    }
  });
});
