/**
 * The platform's own metrics at GET /metrics (Prometheus text format): who may scrape (the
 * METRICS_TOKEN only; open without a token in test mode; off in production without one),
 * every series with its type, provisions counted once per run by final status, request
 * timings by route template and never by URL, the pool gauges following the pool, and the
 * subscriptions gauge following graphql-ws subscriptions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisionEvent } from '../../server/entities/index.js';
import { DATABASE_GAUGES_REFRESH_MS } from '../../server/observability/metrics.js';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const TOKEN = 'scrape-token-for-the-metrics-test-0123';
const STEP_MS = 150;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  text: string;
  types: Map<string, string>;
  samples: Sample[];
}

/** Parses the text exposition format: `# TYPE` lines and `name{labels} value` samples. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsed exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { text, types, samples };
}

const matches = (s: Sample, name: string, labels: Record<string, string>) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
/** The one sample of `name` with these labels (undefined when there is none). */
function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => matches(s, name, labels));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

async function scrape(server: TestServer, token: string | undefined = TOKEN): Promise<Exposition> {
  const res = await server.request('GET', '/metrics', { token });
  expect(res.status, String(res.body)).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(res.body as string);
}

for (const backend of await backendsFor('platform metrics')) {
  describe(`platform metrics at GET /metrics (${backend})`, () => {
    let server: TestServer;
    let user: string;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { METRICS_TOKEN: TOKEN, MOCK_STEP_DELAY_MS: String(STEP_MS) } });
      user = await server.createUser('metrics-user');
    });
    afterAll(() => server?.close());

    async function order(config: Record<string, unknown>, infra = 'vsphere'): Promise<number> {
      const res = await server.request('POST', '/api/provision', { token: user, body: { serviceName: `metrics-${Date.now()}`, config, targetInfra: infra } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.project_id as number;
    }
    const statusOf = async (id: number) => ((await server.request('GET', '/api/history', { token: user })).body as any[]).find((p) => p.id === id)?.details.status as string;
    const waitStatus = (id: number, status: string) => waitFor(async () => (await statusOf(id)) === status, 15_000, `project ${id} to be ${status}`);
    const provisions = async (status: string, infra = 'vsphere') => valueOf(await scrape(server), 'hcmp_provisions_total', { infra, status });

    it('refuses a scrape without a token, with a wrong one, or with an account token: 401 with WWW-Authenticate: Bearer', async () => {
      for (const token of [undefined, 'not-the-scrape-token-0123456789', server.adminToken]) {
        const res = await server.request('GET', '/metrics', { token });
        expect([res.status, res.headers.get('www-authenticate'), res.body]).toEqual([401, 'Bearer', { detail: 'Not authenticated' }]);
        expect(String(res.body)).not.toContain('hcmp_');
      }
      const basic = await server.request('GET', '/metrics', { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
      expect(basic.status).toBe(401);
      expect((await server.request('HEAD', '/metrics')).status).toBe(401);
      expect((await server.request('GET', '/metrics', { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    });

    it('exposes the process, Node.js and platform series, each with its type', async () => {
      expect((await server.request('GET', '/api/history', { token: user })).status).toBe(200);
      const e = await scrape(server);
      const types = Object.fromEntries(
        [
          'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes',
          'http_request_duration_seconds', 'hcmp_provisions_total', 'hcmp_provision_duration_seconds', 'hcmp_runner_jobs', 'hcmp_pool_hosts',
          'hcmp_graphql_subscriptions', 'hcmp_events_published_total',
        ].map((name) => [name, e.types.get(name)]),
      );
      expect(types).toEqual({
        process_cpu_user_seconds_total: 'counter',
        process_resident_memory_bytes: 'gauge',
        nodejs_eventloop_lag_seconds: 'gauge',
        nodejs_heap_size_used_bytes: 'gauge',
        http_request_duration_seconds: 'histogram',
        hcmp_provisions_total: 'counter',
        hcmp_provision_duration_seconds: 'histogram',
        hcmp_runner_jobs: 'gauge',
        hcmp_pool_hosts: 'gauge',
        hcmp_graphql_subscriptions: 'gauge',
        hcmp_events_published_total: 'counter',
      });
      for (const infra of ['aws', 'vsphere']) {
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED']) {
          expect(valueOf(e, 'hcmp_provisions_total', { infra, status }), `${infra} ${status}`).toBeGreaterThanOrEqual(0);
          expect(valueOf(e, 'hcmp_provision_duration_seconds_count', { infra, status }), `${infra} ${status}`).toBeGreaterThanOrEqual(0);
          expect(valueOf(e, 'hcmp_provision_duration_seconds_bucket', { infra, status, le: '+Inf' })).toBeGreaterThanOrEqual(0);
        }
        for (const state of ['available', 'provisioning', 'assigned', 'drained']) expect(valueOf(e, 'hcmp_pool_hosts', { infra, state })).toBeGreaterThanOrEqual(0);
      }
      expect(valueOf(e, 'hcmp_runner_jobs', { state: 'running' })).toBeGreaterThanOrEqual(0);
      expect(valueOf(e, 'hcmp_runner_jobs', { state: 'queued' })).toBeGreaterThanOrEqual(0);
      expect(valueOf(e, 'hcmp_graphql_subscriptions', { subscription: 'provisionStatus' })).toBe(0);
      expect(valueOf(e, 'hcmp_graphql_subscriptions', { subscription: 'projectChanges' })).toBe(0);
      // The first account's creation and approval published no project events; any order does.
      expect(valueOf(e, 'hcmp_events_published_total')).toBeGreaterThanOrEqual(0);
      expect(valueOf(e, 'http_request_duration_seconds_count', { route: '/api/history', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(1);
      // Every sample name belongs to a declared metric (histogram parts to their histogram).
      for (const s of e.samples) expect(e.types.has(s.name.replace(/_(bucket|sum|count)$/, '')) || e.types.has(s.name), s.name).toBe(true);
    });

    it('counts a completed vsphere provision exactly once as COMPLETED, with its duration and its events', async () => {
      const before = await scrape(server);
      const id = await order({ template: 'single' });
      await waitStatus(id, 'COMPLETED');
      await server.app.dispatcher.whenIdle();
      const after = await scrape(server);
      const labels = { infra: 'vsphere', status: 'COMPLETED' };
      expect(valueOf(after, 'hcmp_provisions_total', labels)! - valueOf(before, 'hcmp_provisions_total', labels)!).toBe(1);
      expect(valueOf(after, 'hcmp_provision_duration_seconds_count', labels)! - valueOf(before, 'hcmp_provision_duration_seconds_count', labels)!).toBe(1);
      // The run took at least its steps' delays, from the claim on.
      const seconds = valueOf(after, 'hcmp_provision_duration_seconds_sum', labels)! - valueOf(before, 'hcmp_provision_duration_seconds_sum', labels)!;
      expect(seconds).toBeGreaterThanOrEqual((STEP_MS * 0.9) / 1000);
      expect(seconds).toBeLessThan(15);
      for (const status of ['FAILED', 'CANCELLED']) expect(valueOf(after, 'hcmp_provisions_total', { infra: 'vsphere', status })).toBe(valueOf(before, 'hcmp_provisions_total', { infra: 'vsphere', status }));
      const events = await server.app.orm.em.fork().count(ProvisionEvent, { projectId: id });
      expect(valueOf(after, 'hcmp_events_published_total')! - valueOf(before, 'hcmp_events_published_total')!).toBeGreaterThanOrEqual(events);
      // Nothing more is counted for that run later on.
      await new Promise((r) => setTimeout(r, STEP_MS * 2));
      expect(await provisions('COMPLETED')).toBe(valueOf(after, 'hcmp_provisions_total', labels));
    });

    it('counts a run that fails as FAILED, once', async () => {
      const before = await provisions('FAILED');
      const completed = await provisions('COMPLETED');
      const id = await order({ template: 'single', mockFailAt: 'web' });
      await waitStatus(id, 'FAILED');
      await server.app.dispatcher.whenIdle();
      expect((await provisions('FAILED'))! - before!).toBe(1);
      expect(await provisions('COMPLETED')).toBe(completed);
    });

    it('counts a running job cancelled mid-run as CANCELLED, once', async () => {
      const before = await provisions('CANCELLED', 'aws');
      const id = await order({ template: 'enterprise' }, 'aws');
      await waitFor(
        async () => (await server.app.orm.em.fork().count(ProvisionEvent, { projectId: id, message: 'Creating Web tier...' })) > 0,
        15_000,
        'the first step to run',
      );
      expect((await server.request('POST', `/api/provision/${id}/cancel`, { token: user })).status).toBe(200);
      await waitStatus(id, 'CANCELLED');
      await server.app.dispatcher.whenIdle();
      expect((await provisions('CANCELLED', 'aws'))! - before!).toBe(1);
    });

    it('times requests by route template (/api/history, /api/provision/:id, /graphql, unmatched), never by a URL with an id', async () => {
      expect((await server.request('GET', '/api/history?limit=5', { token: user })).status).toBe(200);
      expect((await server.request('DELETE', '/api/provision/987654', { token: user })).status).toBe(404);
      expect((await server.request('POST', '/api/provision/987654/cancel', { token: user })).status).toBe(404);
      expect((await server.request('GET', '/api/no/such/route/424242')).status).toBe(404);
      expect((await server.gql('{ me { username } }', {}, user)).status).toBe(200);
      const e = await scrape(server);
      const count = (labels: Record<string, string>) => valueOf(e, 'http_request_duration_seconds_count', labels);
      expect(count({ route: '/api/history', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(1);
      expect(count({ route: '/api/provision/:id', method: 'DELETE', status: '404' })).toBe(1);
      expect(count({ route: '/api/provision/:id/cancel', method: 'POST', status: '404' })).toBe(1);
      expect(count({ route: 'unmatched', method: 'GET', status: '404' })).toBeGreaterThanOrEqual(1);
      expect(count({ route: '/graphql', method: 'POST', status: '200' })).toBeGreaterThanOrEqual(1);
      const routes = new Set(e.samples.filter((s) => s.name.startsWith('http_request_duration_seconds')).map((s) => s.labels.route));
      expect([...routes].filter((r) => /\d/.test(r) || r.includes('?'))).toEqual([]);
      expect(e.text).not.toContain('987654');
      expect(e.text).not.toContain('424242');
      // every bucket line carries the three labels and le
      for (const s of e.samples.filter((x) => x.name === 'http_request_duration_seconds_bucket')) expect(Object.keys(s.labels).sort()).toEqual(['le', 'method', 'route', 'status']);
    });

    it('shows the pool summary in hcmp_pool_hosts once the refresh interval has passed', async () => {
      const summary = async () => (await server.gql('{ workloadPool { infra available provisioning assigned drained } }', {}, user)).data.workloadPool as Record<string, any>[];
      const gauges = (e: Exposition) =>
        (['aws', 'vsphere'] as const).map((infra) => ({
          infra,
          ...Object.fromEntries(['available', 'provisioning', 'assigned', 'drained'].map((state) => [state, valueOf(e, 'hcmp_pool_hosts', { infra, state })])),
        }));
      // a change of the pool: one more completed project holds 3 hosts
      const id = await order({ template: 'standard' });
      await waitStatus(id, 'COMPLETED');
      await server.app.dispatcher.whenIdle();
      const expected = await summary();
      expect(expected.find((s) => s.infra === 'vsphere')!.assigned).toBeGreaterThanOrEqual(3);
      const started = Date.now();
      await waitFor(async () => JSON.stringify(gauges(await scrape(server))) === JSON.stringify(expected), DATABASE_GAUGES_REFRESH_MS * 3, 'the pool gauges to equal the summary');
      expect(Date.now() - started).toBeLessThan(DATABASE_GAUGES_REFRESH_MS * 2);
      expect(valueOf(await scrape(server), 'hcmp_runner_jobs', { state: 'queued' })).toBe(0);
    });

    it('moves hcmp_graphql_subscriptions when a graphql-ws subscription opens and closes', async () => {
      const gauge = async (subscription: string) => valueOf(await scrape(server), 'hcmp_graphql_subscriptions', { subscription });
      const client = server.wsClient(user);
      const stopChanges = client.subscribe({ query: 'subscription { projectChanges { id status } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      await waitFor(async () => (await gauge('projectChanges')) === 1, 5_000, 'projectChanges to count 1');
      stopChanges();
      await waitFor(async () => (await gauge('projectChanges')) === 0, 5_000, 'projectChanges to count 0');

      // provisionStatus of a run in progress: open while it runs, closed at its final status
      const id = await order({ template: 'enterprise' }, 'aws');
      let completed = false;
      const stopStatus = client.subscribe(
        { query: 'subscription($id: Int!) { provisionStatus(projectId: $id) { seq status } }', variables: { id } },
        { next: () => undefined, error: () => undefined, complete: () => (completed = true) },
      );
      await waitFor(async () => (await gauge('provisionStatus')) === 1, 5_000, 'provisionStatus to count 1');
      await waitFor(() => completed, 15_000, 'the run to complete the subscription');
      await waitFor(async () => (await gauge('provisionStatus')) === 0, 5_000, 'provisionStatus to count 0');
      stopStatus();
    });
  });
}

describe('platform metrics access by mode', () => {
  it('is open without a token in test mode when METRICS_TOKEN is not set', async () => {
    const server = await startTestServer();
    try {
      const e = await scrape(server, undefined);
      expect(e.types.get('hcmp_provisions_total')).toBe('counter');
      expect(server.logs.filter((l) => l.includes('GET /metrics is open without a token'))).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('is off in production without METRICS_TOKEN: 404 as for no route, said once in the log', async () => {
    const server = await startTestServer({ env: { NODE_ENV: 'production', ENCRYPT_KEY: 'production-metrics-test-encrypt-key-0123456789' } });
    try {
      for (const method of ['GET', 'HEAD']) expect((await server.request(method, '/metrics')).status).toBe(404);
      expect((await server.request('GET', '/metrics')).body).toEqual({ detail: 'Not Found' });
      expect((await server.request('GET', '/metrics', { token: TOKEN })).status).toBe(404);
      expect(server.app.http.printRoutes()).not.toContain('metrics');
      expect(server.logs.filter((l) => l.includes('GET /metrics is off: METRICS_TOKEN is not set'))).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('in production with METRICS_TOKEN serves only the token', async () => {
    const server = await startTestServer({ env: { NODE_ENV: 'production', ENCRYPT_KEY: 'production-metrics-test-encrypt-key-0123456789', METRICS_TOKEN: TOKEN } });
    try {
      expect((await server.request('GET', '/metrics')).status).toBe(401);
      expect((await scrape(server)).types.get('hcmp_runner_jobs')).toBe('gauge');
    } finally {
      await server.close();
    }
  });
});
