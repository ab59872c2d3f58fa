/**
 * The security headers are computed once per Host value (server/http-security.ts) instead of by
 * @fastify/helmet on every request: the answers must carry exactly the headers @fastify/helmet
 * sends with the same options, for ordinary, odd and hostile Host values, also after more
 * distinct Host values than are remembered.
 */
import fastifyHelmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELMET_OPTIONS, MAX_REMEMBERED_HOSTS, registerHttpSecurity } from '../../server/http-security.js';

async function withRoutes(app: FastifyInstance): Promise<FastifyInstance> {
  app.get('/ok', async () => ({ ok: true }));
  app.get('/fails', async () => {
    throw new Error('boom');
  });
  await app.ready();
  return app;
}

async function headersOf(app: FastifyInstance, url: string, host: string | undefined): Promise<Record<string, unknown>> {
  const res = await app.inject({ method: 'GET', url, headers: host === undefined ? {} : { host } });
  const headers: Record<string, unknown> = { ...res.headers, status: res.statusCode };
  delete headers.date;
  delete headers.vary; // @fastify/cors, registered only by ours
  return headers;
}

describe('security headers remembered per Host value', () => {
  let ours: FastifyInstance;
  let helmets: FastifyInstance;
  beforeAll(async () => {
    ours = Fastify({ logger: false });
    await registerHttpSecurity(ours, { corsOrigins: [] });
    await withRoutes(ours);
    helmets = Fastify({ logger: false });
    await helmets.register(fastifyHelmet, { global: true, ...HELMET_OPTIONS });
    await withRoutes(helmets);
  });
  afterAll(async () => {
    await ours?.close();
    await helmets?.close();
  });

  const hosts = [
    'localhost:8000',
    '127.0.0.1:43117',
    '[::1]:8000',
    'console.example.com',
    "evil.example; script-src * 'unsafe-eval'",
    'a,b',
    '',
    undefined,
  ];

  it('sends what @fastify/helmet sends, on answers and errors, for every Host', async () => {
    for (const host of hosts) {
      for (const url of ['/ok', '/fails', '/missing']) {
        const expected = await headersOf(helmets, url, host);
        expect(expected['content-security-policy'], `${url} ${host}`).toBeTruthy();
        expect(await headersOf(ours, url, host), `${url} ${host}`).toEqual(expected);
        expect(await headersOf(ours, url, host), `${url} ${host} (remembered)`).toEqual(expected);
      }
    }
  });

  it('stays right after more distinct Host values than it remembers', async () => {
    for (let i = 0; i < MAX_REMEMBERED_HOSTS + 50; i += 1) {
      const host = `h${i}.example:8000`;
      const csp = String((await headersOf(ours, '/ok', host))['content-security-policy']);
      expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host};`);
    }
    for (const host of hosts) expect(await headersOf(ours, '/ok', host)).toEqual(await headersOf(helmets, '/ok', host));
  });
});
