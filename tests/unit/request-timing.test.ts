/**
 * http_request_duration_seconds on a bare Fastify: labels are the route template, the console's
 * files are one `static` route, anything unmatched is `unmatched`, and unknown methods are
 * `other` — so the series stay few whatever URLs arrive.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_BUCKETS, timeRequests, type RequestLabel } from '../../server/observability/request-timing.js';

describe('request timing', () => {
  const registry = new Registry();
  const histogram = new Histogram<RequestLabel>({ name: 'http_request_duration_seconds', help: 'test', labelNames: ['route', 'method', 'status'], buckets: REQUEST_BUCKETS, registers: [registry] });
  const http = Fastify({ logger: false });

  beforeAll(async () => {
    timeRequests(http, histogram);
    const dir = mkdtempSync(join(tmpdir(), 'hcmp-static-'));
    for (const file of ['index.html', 'app-1a2b3c.js', 'app-4d5e6f.css']) writeFileSync(join(dir, file), 'x');
    await http.register(fastifyStatic, { root: dir, wildcard: false, index: ['index.html'] });
    http.get('/api/things/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    http.post('/api/things/:id/slow', async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { ok: true };
    });
    await http.ready();
  });
  afterAll(() => http.close());

  const series = async () => {
    const { values } = await histogram.get();
    return values.filter((v) => v.metricName === 'http_request_duration_seconds_count').map((v) => ({ ...v.labels, count: v.value }));
  };

  it('labels requests by route template and status, files as static, the rest as unmatched', async () => {
    for (const id of [1, 22, 333]) expect((await http.inject({ method: 'GET', url: `/api/things/${id}?q=${id}` })).statusCode).toBe(200);
    for (const file of ['/app-1a2b3c.js', '/app-4d5e6f.css', '/']) expect((await http.inject({ method: 'GET', url: file })).statusCode).toBe(200);
    expect((await http.inject({ method: 'GET', url: '/nothing/here/42' })).statusCode).toBe(404);
    expect((await http.inject({ method: 'PROPFIND' as 'GET', url: '/api/things/7' })).statusCode).toBe(404);
    expect((await http.inject({ method: 'POST', url: '/api/things/5/slow' })).statusCode).toBe(200);
    expect(await series()).toEqual(
      expect.arrayContaining([
        { route: '/api/things/:id', method: 'GET', status: '200', count: 3 },
        { route: 'static', method: 'GET', status: '200', count: 3 },
        { route: 'unmatched', method: 'GET', status: '404', count: 1 },
        { route: 'unmatched', method: 'other', status: '404', count: 1 },
        { route: '/api/things/:id/slow', method: 'POST', status: '200', count: 1 },
      ]),
    );
    expect((await series()).length).toBe(5);
  });

  it('observes the time the answer took, in seconds', async () => {
    const { values } = await histogram.get();
    const sum = values.find((v) => v.metricName === 'http_request_duration_seconds_sum' && v.labels.route === '/api/things/:id/slow')!.value;
    expect(sum).toBeGreaterThanOrEqual(0.025);
    expect(sum).toBeLessThan(5);
  });
});
