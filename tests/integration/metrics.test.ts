/**
 * Host metrics from Prometheus: a fake Prometheus (node:http on 127.0.0.1) answers the three
 * node-exporter queries; H-CMP shows its numbers on the caller's host rows in REST
 * my-resources and GraphQL resources, answers quickly with 0s when it is slow or gone, and
 * says so in monitoringStatus.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROMETHEUS_QUERIES } from '../../server/services/metrics.js';
import { backendsFor } from '../helpers/backends.js';
import { startFakePrometheus, type FakePrometheus } from '../helpers/fake-prometheus.js';
import { startTestServer, waitForFinalStatus, type Backend, type TestServer } from '../helpers/server.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const ROW = 'kind vmName ipAddress projectName owner status cpuUsage memoryUsage diskUsage hasMetrics';
const STATUS = '{ monitoringStatus { metricsConfigured metricsReachable lastError } }';

/** Carol with one completed "standard" project (3 pool hosts); returns her token and host IPs. */
async function carolWithProject(server: TestServer): Promise<{ token: string; ips: string[]; name: string }> {
  const token = await server.createUser('carol');
  const name = 'metrics-shop';
  const created = await server.request('POST', '/api/provision', { token, body: { serviceName: name, config: { template: 'standard' }, targetInfra: 'vsphere' } });
  expect(created.status).toBe(200);
  const done = await waitForFinalStatus(server, created.body.project_id, token);
  expect(done.status).toBe('COMPLETED');
  // From the project, not from my-resources: that would already ask (and cache) the metrics.
  const ips = (done.details.resources.ssh_targets as { host: string }[]).map((t) => t.host);
  expect(ips).toHaveLength(3);
  return { token, ips, name };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
}

for (const backend of await backendsFor('metrics')) {
  describe(`host metrics from Prometheus (${backend})`, () => {
    const servers: TestServer[] = [];
    const fakes: FakePrometheus[] = [];
    const start = async (env: Record<string, string>) => {
      const server = await startTestServer({ backend: backend as Backend, env });
      servers.push(server);
      return server;
    };
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await Promise.all(fakes.splice(0).map((f) => f.close()));
    });
    afterAll(async () => {
      await Promise.all(fakes.map((f) => f.close()));
    });

    it('shows the node-exporter numbers on the right host rows, REST and GraphQL alike', async () => {
      const prometheus = await startFakePrometheus();
      fakes.push(prometheus);
      const server = await start({ PROMETHEUS_URL: prometheus.url });
      const { token, ips, name } = await carolWithProject(server);
      const [first, second, silent] = ips;
      prometheus.hosts.set(first, { cpu: 42.37, memory: 61.04, disk: 12.95 });
      prometheus.hosts.set(second, { cpu: 7, memory: 33.333, disk: 80.01 });
      prometheus.hosts.set('10.250.250.250', { cpu: 99, memory: 99, disk: 99 }); // not Carol's

      const rest = (await server.request('GET', '/api/monitoring/my-resources', { token })).body as any[];
      const restHost = (ip: string) => rest.find((r) => r.ip_address === ip && !/^(ALB|SSH-\d+)$/.test(r.vm_name));
      expect(restHost(first)).toMatchObject({ project_name: name, owner: 'carol', status: 'Running', cpu_usage: 42.4, memory_usage: 61, disk_usage: 13 });
      expect(restHost(second)).toMatchObject({ cpu_usage: 7, memory_usage: 33.3, disk_usage: 80 });
      expect(restHost(silent)).toMatchObject({ cpu_usage: 0, memory_usage: 0, disk_usage: 0 });
      // Rows derived from the project's resources keep 0, even where they share a host's address.
      const derived = rest.filter((r) => /^(ALB|Web|DB|SSH-\d+)$/.test(r.vm_name));
      expect(derived.length).toBeGreaterThan(0);
      for (const r of derived) expect([r.cpu_usage, r.memory_usage, r.disk_usage]).toEqual([0, 0, 0]);
      expect(rest.some((r) => r.ip_address === '10.250.250.250')).toBe(false);

      const gql = await server.gql(`{ resources { nodes { ${ROW} } } }`, {}, token);
      expect(gql.errors).toBeUndefined();
      const hosts = (gql.data.resources.nodes as any[]).filter((r) => r.kind === 'host');
      expect(hosts.map((h) => [h.ipAddress, h.cpuUsage, h.memoryUsage, h.diskUsage, h.hasMetrics])).toEqual([
        [first, 42.4, 61, 13, true],
        [second, 7, 33.3, 80, true],
        [silent, 0, 0, 0, false],
      ]);
      for (const r of (gql.data.resources.nodes as any[]).filter((x) => !hosts.includes(x))) expect(r.hasMetrics).toBe(false);
      // The row's other current figures: set (the fake answers none of them: 0) with metrics, null without.
      const more = (await server.gql(`{ resources(kind: host) { nodes { ipAddress hostId networkIn networkOut load1 uptimeSeconds } } }`, {}, token)).data.resources.nodes;
      expect(more.map((h: any) => [h.ipAddress, typeof h.hostId, h.networkIn, h.networkOut, h.load1, h.uptimeSeconds])).toEqual([
        [first, 'number', 0, 0, 0, 0],
        [second, 'number', 0, 0, 0, 0],
        [silent, 'number', null, null, null, null],
      ]);
      // The summary averages the measured hosts and names the silent one in service.
      const summary = (await server.gql(`{ resourceSummary { hosts metrics { measuredHosts cpu memory disk silentHostCount silentHosts { ipAddress projectName } } } }`, {}, token)).data.resourceSummary;
      expect(summary).toEqual({ hosts: 3, metrics: { measuredHosts: 2, cpu: 24.7, memory: 47.2, disk: 46.5, silentHostCount: 1, silentHosts: [{ ipAddress: silent, projectName: name }] } });

      const status = await server.gql(STATUS, {}, token);
      expect(status.data.monitoringStatus).toEqual({ metricsConfigured: true, metricsReachable: true, lastError: null });
      expect(new Set(prometheus.queries)).toEqual(new Set(Object.values(PROMETHEUS_QUERIES)));
    }, 60_000);

    it('answers quickly with 0s and reports unreachable when Prometheus does not answer', async () => {
      const prometheus = await startFakePrometheus();
      fakes.push(prometheus);
      prometheus.mode = 'slow';
      const server = await start({ PROMETHEUS_URL: prometheus.url });
      const { token, ips } = await carolWithProject(server);

      const { value: rest, ms } = await timed(() => server.request('GET', '/api/monitoring/my-resources', { token }));
      expect(rest.status).toBe(200);
      expect(ms).toBeLessThan(3_500);
      for (const ip of ips) expect(rest.body.find((r: any) => r.ip_address === ip)).toMatchObject({ cpu_usage: 0, memory_usage: 0, disk_usage: 0 });

      const status = await server.gql(STATUS, {}, token);
      expect(status.data.monitoringStatus).toMatchObject({ metricsConfigured: true, metricsReachable: false });
      expect(status.data.monitoringStatus.lastError).toMatch(/no answer within 2000 ms/);
      expect(server.logs.join('')).toContain('metrics unavailable');
    }, 60_000);

    it('answers with 0s and reports unreachable when nothing listens at PROMETHEUS_URL', async () => {
      const server = await start({ PROMETHEUS_URL: `http://127.0.0.1:${await closedPort()}` });
      const { token, ips } = await carolWithProject(server);
      const { value: gql, ms } = await timed(() => server.gql(`{ resources { nodes { ${ROW} } } }`, {}, token));
      expect(ms).toBeLessThan(3_500);
      expect(gql.errors).toBeUndefined();
      for (const ip of ips) expect(gql.data.resources.nodes.find((r: any) => r.ipAddress === ip)).toMatchObject({ cpuUsage: 0, hasMetrics: false });
      const status = await server.gql(STATUS, {}, token);
      expect(status.data.monitoringStatus.metricsReachable).toBe(false);
      expect(status.data.monitoringStatus.lastError).toBeTruthy();
    }, 60_000);

    it('says no metrics source is configured when PROMETHEUS_URL is unset', async () => {
      const server = await start({});
      const token = await server.createUser('dave');
      const status = await server.gql(STATUS, {}, token);
      expect(status.data.monitoringStatus).toEqual({ metricsConfigured: false, metricsReachable: null, lastError: null });
      const anonymous = await server.gql(STATUS);
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }, 60_000);
  });
}
