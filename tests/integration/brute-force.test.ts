/**
 * Brute-force defence as an attacker meets it. After 10 failed logins for one account (15-minute
 * window) the account answers 429 with Retry-After, even to the right password, from any
 * address; after 30 failures from one client address, that address is refused for every
 * account. An unknown user and a wrong password look the same (status, body, time). Over
 * GraphQL the same limits apply; aliased logins run and count one by one (a failed one ends
 * the request, so aliases give no extra guesses); a 100-alias request and batched requests are
 * refused before any login runs.
 *
 * Each scenario speaks from its own loopback address (127.0.0.x), so the per-address counter
 * of one scenario never leaks into another.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ENV = { LOGIN_MAX_FAILURES: '10', LOGIN_MAX_FAILURES_PER_ADDRESS: '30', LOGIN_WINDOW_MINUTES: '15' };
const BAD_CREDENTIALS = { detail: '아이디/비번 불일치' };
const LOGIN = (alias: string, username: string, password: string) => `${alias}: login(username: ${JSON.stringify(username)}, password: ${JSON.stringify(password)}) { accessToken }`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
  ms: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const backend of await backendsFor('brute force')) {
  describe(`brute-force limits on logins (${backend})`, () => {
    let server: TestServer;
    let nextHost = 10;
    /** A client address of its own for one scenario. */
    const address = () => `127.0.0.${nextHost++}`;

    /** POSTs JSON from `from` (a loopback address): what the client sees, and how long it took. */
    function post(from: string, path: string, body: unknown): Promise<Answer> {
      const data = JSON.stringify(body);
      const started = performance.now();
      return new Promise((resolve, reject) => {
        const url = new URL(path, server.url);
        const req = httpRequest(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => {
              let parsed: unknown = text;
              try {
                parsed = JSON.parse(text);
              } catch {
                // not JSON
              }
              resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed, ms: performance.now() - started });
            });
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    }
    const rest = (from: string, user_id: string, password: string) => post(from, '/api/login', { user_id, password });
    const gql = (from: string, query: string) => post(from, '/graphql', { query });
    const codes = (a: Answer) => (a.body.errors ?? []).map((e: any) => e.extensions?.code);
    const codeByAlias = (a: Answer) => Object.fromEntries((a.body.errors ?? []).map((e: any) => [e.path?.[0], e.extensions?.code]));
    const expectRetryAfter = (seconds: unknown) => {
      expect(Number.isInteger(seconds)).toBe(true);
      expect(seconds as number).toBeGreaterThan(0);
      expect(seconds as number).toBeLessThanOrEqual(900);
    };
    const loginFailuresFor = async (target: string) => {
      const audit = await server.request('GET', `/api/admin/audit?action=login&result=failure&limit=200`, { token: server.adminToken });
      return audit.body.entries.filter((e: any) => e.target === target).length;
    };
    const users = async (...names: string[]) => {
      for (const name of names) await server.createUser(name, `${name}-password`);
    };

    beforeAll(async () => {
      server = await startTestServer({ backend, env: ENV });
    });
    afterAll(() => server?.close());

    it('REST: 10 wrong passwords → 401 each; the 11th attempt, right password or not, → 429 with Retry-After from any address', async () => {
      await users('victim', 'bystander');
      const from = address();
      for (let i = 1; i <= 10; i++) {
        const res = await rest(from, 'victim', `wrong-password-${i}`);
        expect(res.status, `attempt ${i}`).toBe(401);
        expect(res.body).toEqual(BAD_CREDENTIALS);
      }
      const locked = await rest(from, 'victim', 'victim-password');
      expect(locked.status).toBe(429);
      expect(Object.keys(locked.body)).toEqual(['detail']);
      expect(typeof locked.body.detail).toBe('string');
      expectRetryAfter(Number(locked.headers['retry-after']));
      expect(locked.body).not.toHaveProperty('access_token');
      const elsewhere = await rest(address(), 'victim', 'victim-password');
      expect(elsewhere.status).toBe(429);
      expect((await rest(from, 'bystander', 'bystander-password')).status).toBe(200);
    });

    it('REST: an unknown user and a wrong password get the same status, body and about the same time', async () => {
      await users('timing-a', 'timing-b');
      const from = address();
      await rest(from, 'ghost-warmup', 'some-password-0');
      await rest(from, 'timing-a', 'some-password-0');
      const unknown: Answer[] = [];
      const wrong: Answer[] = [];
      // Measured in back-to-back pairs (alternating which goes first), so a burst of load on a
      // busy machine slows both halves of a pair and cancels out in the pair's ratio.
      for (let i = 0; i < 12; i++) {
        const ghost = () => rest(from, `ghost-${i}`, `some-password-${i}`);
        const known = () => rest(from, i % 2 ? 'timing-a' : 'timing-b', `some-password-${i}`);
        if (i % 2) {
          unknown.push(await ghost());
          wrong.push(await known());
        } else {
          wrong.push(await known());
          unknown.push(await ghost());
        }
      }
      for (const res of [...unknown, ...wrong]) {
        expect(res.status).toBe(401);
        expect(res.text).toBe(unknown[0].text);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      expect(unknown[0].body).toEqual(BAD_CREDENTIALS);
      const ratio = median(unknown.map((u, i) => wrong[i].ms / u.ms));
      const medians = `medians: unknown ${median(unknown.map((r) => r.ms)).toFixed(1)} ms, wrong password ${median(wrong.map((r) => r.ms)).toFixed(1)} ms, pair ratio ${ratio.toFixed(2)}`;
      expect(ratio, medians).toBeLessThan(2);
      expect(ratio, medians).toBeGreaterThan(0.5);
    });

    it('REST: 30 failures over many accounts from one address → 429 there for any account; other addresses unaffected', async () => {
      await users('spread-1', 'spread-2', 'spread-3', 'fresh-user');
      const from = address();
      for (let i = 0; i < 30; i++) {
        const res = i < 15 ? await rest(from, `spread-${(i % 3) + 1}`, `wrong-${i}`) : await rest(from, `nobody-${i}`, `wrong-${i}`);
        expect(res.status, `failure ${i + 1}`).toBe(401);
      }
      const refused = await rest(from, 'fresh-user', 'fresh-user-password');
      expect(refused.status).toBe(429);
      expectRetryAfter(Number(refused.headers['retry-after']));
      expect((await rest(from, 'someone-new', 'whatever-pass')).status).toBe(429);
      expect((await rest(address(), 'fresh-user', 'fresh-user-password')).status).toBe(200);
      expect((await rest(address(), 'spread-1', 'spread-1-password')).status).toBe(200);
    });

    it('GraphQL: the same account limit through `login`, with TOO_MANY_REQUESTS and retryAfter; unknown user = wrong password', async () => {
      await users('gql-victim', 'gql-bystander');
      const from = address();
      const unknown = await gql(from, `mutation { ${LOGIN('login', 'gql-ghost', 'wrong-password')} }`);
      const first = await gql(from, `mutation { ${LOGIN('login', 'gql-victim', 'wrong-password')} }`);
      expect(first.body).toEqual(unknown.body);
      expect(first.body.errors).toEqual([expect.objectContaining({ message: BAD_CREDENTIALS.detail, extensions: { code: 'UNAUTHENTICATED' } })]);
      for (let i = 2; i <= 10; i++) expect(codes(await gql(from, `mutation { ${LOGIN('login', 'gql-victim', `wrong-${i}`)} }`))).toEqual(['UNAUTHENTICATED']);
      const locked = await gql(from, `mutation { ${LOGIN('login', 'gql-victim', 'gql-victim-password')} }`);
      expect(locked.body.data).toBeNull();
      expect(codes(locked)).toEqual(['TOO_MANY_REQUESTS']);
      expectRetryAfter(locked.body.errors[0].extensions.retryAfter);
      expect((await rest(address(), 'gql-victim', 'gql-victim-password')).status).toBe(429);
      const other = await gql(from, `mutation { ${LOGIN('login', 'gql-bystander', 'gql-bystander-password')} }`);
      expect(other.body.data.login.accessToken).toEqual(expect.any(String));
    });

    it('GraphQL: aliased logins run one by one and each is counted; a failure ends the request, so aliases add no guesses', async () => {
      await users('alias-victim');
      const from = address();
      const aliases = (n: number, password: (i: number) => string) => Array.from({ length: n }, (_, i) => LOGIN(`try${i}`, 'alias-victim', password(i))).join(' ');
      const successes = async () => (await server.request('GET', '/api/admin/audit?action=login&actor=alias-victim&result=success', { token: server.adminToken })).body.entries.length;
      const before = await successes();
      const right = await gql(from, `mutation { ${aliases(3, () => 'alias-victim-password')} }`);
      const tokens = [0, 1, 2].map((i) => right.body.data[`try${i}`].accessToken);
      expect(new Set(tokens).size).toBe(3);
      expect(await successes()).toBe(before + 3);

      for (let r = 1; r <= 10; r++) {
        const res = await gql(from, `mutation { ${aliases(5, (i) => `wrong-${r}-${i}`)} }`);
        // login is non-null: its error nulls the whole result and the later aliases never run.
        expect(res.body.data, `request ${r}`).toBeNull();
        expect(codeByAlias(res), `request ${r}`).toEqual({ try0: 'UNAUTHENTICATED' });
        expect(await loginFailuresFor('alias-victim')).toBe(r);
      }
      const locked = await gql(from, `mutation { ${aliases(3, () => 'alias-victim-password')} }`);
      expect(codeByAlias(locked)).toEqual({ try0: 'TOO_MANY_REQUESTS' });
      expect(locked.body.data).toBeNull();
    });

    it('GraphQL: 30 failures from one address lock that address for every account', async () => {
      await users('gql-fresh');
      const from = address();
      for (let r = 0; r < 30; r++) {
        const res = await gql(from, `mutation { ${LOGIN('login', `phantom-${r}`, 'wrong-password')} }`);
        expect(codes(res), `failure ${r + 1}`).toEqual(['UNAUTHENTICATED']);
      }
      const refused = await gql(from, `mutation { ${LOGIN('login', 'gql-fresh', 'gql-fresh-password')} }`);
      expect(codes(refused)).toEqual(['TOO_MANY_REQUESTS']);
      expectRetryAfter(refused.body.errors[0].extensions.retryAfter);
      expect((await rest(from, 'gql-fresh', 'gql-fresh-password')).status).toBe(429);
      expect((await gql(address(), `mutation { ${LOGIN('login', 'gql-fresh', 'gql-fresh-password')} }`)).body.data.login.accessToken).toEqual(expect.any(String));
    });

    it('GraphQL: a request with 100 aliased logins is refused before any login runs', async () => {
      await users('flood-victim');
      const from = address();
      const flood = await gql(from, `mutation { ${Array.from({ length: 100 }, (_, i) => LOGIN(`f${i}`, 'flood-victim', `wrong-${i}`)).join(' ')} }`);
      expect(flood.status).toBe(400);
      expect(flood.body.data ?? null).toBeNull();
      expect(flood.body.errors.length).toBeGreaterThan(0);
      expect(codes(flood)).not.toContain('UNAUTHENTICATED');
      expect(await loginFailuresFor('flood-victim')).toBe(0);
      expect((await rest(from, 'flood-victim', 'flood-victim-password')).status).toBe(200);
    });

    it('GraphQL: batched requests (a JSON array body) are refused with 400 and run no login', async () => {
      await users('batch-victim');
      const from = address();
      const batch = Array.from({ length: 11 }, (_, i) => ({ query: `mutation { ${LOGIN('login', 'batch-victim', `wrong-${i}`)} }` }));
      const res = await post(from, '/graphql', batch);
      expect(res.status).toBe(400);
      expect(res.text).not.toContain('accessToken');
      expect(await loginFailuresFor('batch-victim')).toBe(0);
      expect((await rest(from, 'batch-victim', 'batch-victim-password')).status).toBe(200);
    });
  });
}
