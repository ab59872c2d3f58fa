/**
 * Monitoring with Debian's real Prometheus and real node exporters on fleet hosts (issue #16):
 *
 * - An order completes → its hosts appear in the file_sd file (PROMETHEUS_SD_FILE) with their
 *   labels → Prometheus scrapes them, and H-CMP's own /metrics (which counts the order) → my-resources shows the numbers Prometheus answers for the
 *   same queries; hostSeries / projectSeries chart them; another user's host and project series
 *   are refused (NOT_FOUND), an admin's are not.
 * - A host whose exporter stops: the HostDown rule fires and hostAlerts shows it to the owner only.
 * - A teardown removes the hosts from the file; a restart rebuilds the file from the database.
 * - Prometheus stopped: "no data" within 2 s, never an error.
 * - Two instances on one PostgreSQL database write the same file: after any mix of orders and
 *   deletes through both it equals what the database says, and a reader never sees half a file.
 *
 * Needs root (fleet hosts) and prometheus: skipped with a message elsewhere, required in CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../scripts/fleet/lib.js';
import { targetFileContent } from '../../server/services/prometheus-targets.js';
import { PROMETHEUS_QUERIES } from '../../server/services/metrics.js';
import { removeFleet, testFleet } from '../helpers/fleet.js';
import { createTempPostgresDatabase, shouldRunPostgres, type TempDatabase } from '../helpers/postgres.js';
import { waitUntil } from '../helpers/process.js';
import { shouldRunPrometheus, startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { shouldRunAsRoot } from '../helpers/root.js';
import { startTestServer, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const runSuite = shouldRunAsRoot('monitoring with a real Prometheus') && shouldRunPrometheus('monitoring with a real Prometheus');

const SERIES = `query($id: Int!, $window: MetricsWindow) { hostSeries(hostId: $id, window: $window) { hostId vmName ipAddress available reason stepSeconds cpu { at value } memory { at value } disk { value } networkIn { value } networkOut { value } load1 { value } } }`;
const PROJECT_SERIES = `query($id: Int!) { projectSeries(projectId: $id) { hostId ipAddress available memory { value } } }`;
const ALERTS = `{ hostAlerts { name severity hostId vmName ipAddress projectId activeAt summary } }`;

interface TargetGroupSeen {
  targets: string[];
  labels: Record<string, string>;
}

const readTargets = (path: string): TargetGroupSeen[] => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TargetGroupSeen[]) : []);

/** A node exporter inside a fleet host's network namespace, on the host's address. */
function startExporter(netns: string, address: string): ChildProcess {
  return spawn('ip', ['netns', 'exec', netns, 'prometheus-node-exporter', `--web.listen-address=${address}:9100`, '--log.level=warn'], { stdio: 'ignore' });
}

async function stopExporter(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

describe.skipIf(!runSuite)('monitoring with a real Prometheus and node exporters on fleet hosts', () => {
  let fleet: Fleet;
  let prometheus: TestPrometheus;
  let server: TestServer;
  const exporters = new Map<string, ChildProcess>();
  let carol: string;
  let bob: string;
  let projectId: number;
  let hosts: { id: number; ip: string; vmName: string }[];

  const start = async (reuse?: TestServer) =>
    startTestServer({
      env: { PROMETHEUS_URL: prometheus.url, PROMETHEUS_SD_FILE: prometheus.sdFile, WORKLOAD_POOL_FILE: fleet.poolFile, MOCK_STEP_DELAY_MS: '50' },
      ...(reuse ? { reuse: { sqlitePath: reuse.sqlitePath } } : {}),
    });

  beforeAll(async () => {
    fleet = await testFleet(3);
    for (const h of fleet.hosts) exporters.set(h.address, startExporter(h.netns, h.address));
    prometheus = await startPrometheus();
    server = await start();
    carol = await server.createUser('carol');
    bob = await server.createUser('bob');
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    for (const e of exporters.values()) await stopExporter(e);
    await prometheus?.destroy();
    removeFleet(fleet);
  }, 60_000);

  it('registers the hosts of a completed order and Prometheus scrapes them', async () => {
    const created = await server.request('POST', '/api/provision', { token: carol, body: { serviceName: 'watched-shop', config: { template: 'standard' }, targetInfra: 'vsphere' } });
    expect(created.status).toBe(200);
    projectId = created.body.project_id;
    expect((await waitForFinalStatus(server, projectId, carol)).status).toBe('COMPLETED');
    const pool = (await server.request('GET', '/api/admin/pool?limit=100', { token: server.adminToken })).body.hosts as { id: number; ip_address: string; vm_name: string; project_id: number | null }[];
    hosts = pool.filter((h) => h.project_id === projectId).map((h) => ({ id: h.id, ip: h.ip_address, vmName: h.vm_name }));
    expect(hosts).toHaveLength(3);

    await waitUntil(() => readTargets(prometheus.sdFile).length === 3, 10_000, 'three targets in the file');
    const groups = readTargets(prometheus.sdFile);
    expect(groups).toEqual(
      [...hosts]
        .sort((a, b) => (a.ip < b.ip ? -1 : 1))
        .map((h) => ({ targets: [`${h.ip}:9100`], labels: { hcmp_project: String(projectId), hcmp_service: 'watched-shop', hcmp_owner: 'carol', vm_name: h.vmName } })),
    );
    // Scraped, with the labels H-CMP gave them; rates need two scrapes.
    await waitUntil(async () => (await prometheus.query('up{job="hcmp-hosts"} == 1')).length === 3, 30_000, 'Prometheus scraping all three');
    const up = await prometheus.query('up{job="hcmp-hosts"}');
    expect(up.map((s) => s.metric.vm_name).sort()).toEqual(hosts.map((h) => h.vmName).sort());
    expect(up.every((s) => s.metric.hcmp_owner === 'carol' && s.metric.hcmp_project === String(projectId))).toBe(true);
    await waitUntil(async () => (await prometheus.query(PROMETHEUS_QUERIES.cpu)).length === 3, 30_000, 'CPU rates for all three');
  }, 120_000);

  it("scrapes H-CMP's own /metrics (up == 1), where the completed order is counted", async () => {
    await prometheus.scrapePlatform(server.url.replace(/^http:\/\//, ''));
    await waitUntil(async () => (await prometheus.query('up{job="hcmp"} == 1')).length === 1, 20_000, 'Prometheus scraping H-CMP');
    await waitUntil(
      async () => (await prometheus.query('hcmp_provisions_total{job="hcmp",infra="vsphere",status="COMPLETED"}')).map((s) => Number(s.value[1]))[0] === 1,
      20_000,
      'the completed order counted in hcmp_provisions_total',
    );
  }, 60_000);

  it('shows in my-resources the numbers Prometheus answers for the same queries', async () => {
    const rows = (await server.request('GET', '/api/monitoring/my-resources', { token: carol })).body as { ip_address: string; vm_name: string; cpu_usage: number; memory_usage: number; disk_usage: number }[];
    const answers = Object.fromEntries(
      await Promise.all(
        (['cpu', 'memory', 'disk'] as const).map(async (name) => [name, new Map((await prometheus.query(PROMETHEUS_QUERIES[name])).map((s) => [s.metric.instance.split(':')[0], Number(s.value[1])]))] as const),
      ),
    );
    for (const h of hosts) {
      const row = rows.find((r) => r.ip_address === h.ip && r.vm_name === h.vmName)!;
      expect(row, h.ip).toBeDefined();
      // Memory and disk move slowly; the product's answer may be a few seconds older (it caches 5 s).
      expect(Math.abs(row.memory_usage - answers.memory.get(h.ip)!), 'memory').toBeLessThan(2);
      expect(Math.abs(row.disk_usage - answers.disk.get(h.ip)!), 'disk').toBeLessThan(0.5);
      expect(row.cpu_usage).toBeGreaterThanOrEqual(0);
      expect(row.cpu_usage).toBeLessThanOrEqual(100);
      expect(row.memory_usage).toBeGreaterThan(0);
    }
  }, 60_000);

  it('charts a host and a project for their owner and an admin; another user gets NOT_FOUND', async () => {
    // The points sit on a 15 s grid: the first one after the scrapes began may take up to a step.
    const hasMemory = (series: { memory: { value: number | null }[] }) => series.memory.some((p) => p.value !== null);
    const mine = await waitUntil(
      async () => {
        const res = await server.gql(SERIES, { id: hosts[1].id, window: 'H1' }, carol);
        return res.errors || hasMemory(res.data.hostSeries) ? res : null;
      },
      30_000,
      'a charted memory point',
      1_000,
    );
    expect(mine.errors).toBeUndefined();
    const s = mine.data.hostSeries;
    expect(s).toMatchObject({ hostId: hosts[1].id, ipAddress: hosts[1].ip, available: true, reason: null, stepSeconds: 15 });
    expect(s.cpu).toHaveLength(241);
    const lastMemory = [...s.memory].reverse().find((p: { value: number | null }) => p.value !== null);
    expect(lastMemory, 'a memory point from the scrapes so far').toBeDefined();
    const instant = Number((await prometheus.query(PROMETHEUS_QUERIES.memory)).find((x) => x.metric.instance.startsWith(`${hosts[1].ip}:`))!.value[1]);
    expect(Math.abs(lastMemory.value - instant)).toBeLessThan(3);
    // Most of the hour before the host was scraped is a gap, not zeros.
    expect(s.cpu.filter((p: { value: number | null }) => p.value === null).length).toBeGreaterThan(200);

    const project = await server.gql(PROJECT_SERIES, { id: projectId }, carol);
    expect(project.data.projectSeries.map((x: { hostId: number }) => x.hostId)).toEqual(hosts.map((h) => h.id));
    expect(project.data.projectSeries.every((x: { available: boolean }) => x.available)).toBe(true);
    expect((await server.gql(SERIES, { id: hosts[0].id }, server.adminToken)).data.hostSeries.available).toBe(true);

    for (const [query, vars] of [
      [SERIES, { id: hosts[0].id }],
      [PROJECT_SERIES, { id: projectId }],
    ] as const) {
      const theirs = await server.gql(query, vars, bob);
      expect(theirs.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
      expect(theirs.data ?? null).toBeNull();
    }
  }, 60_000);

  it('shows a firing HostDown alert on a host whose exporter stopped, to its owner only', async () => {
    await stopExporter(exporters.get(hosts[2].ip)!);
    await waitUntil(async () => (await server.gql(ALERTS, {}, carol)).data?.hostAlerts?.some((a: { name: string }) => a.name === 'HostDown'), 30_000, 'HostDown firing', 500);
    const alerts = (await server.gql(ALERTS, {}, carol)).data.hostAlerts as { name: string; severity: string; hostId: number; vmName: string; projectId: number; summary: string }[];
    const down = alerts.find((a) => a.name === 'HostDown')!;
    expect(down).toMatchObject({ severity: 'critical', hostId: hosts[2].id, vmName: hosts[2].vmName, projectId });
    expect(down.summary).toContain(hosts[2].vmName);
    expect((await server.gql(ALERTS, {}, bob)).data.hostAlerts).toEqual([]);
    expect((await server.gql(ALERTS, {}, server.adminToken)).data.hostAlerts.some((a: { hostId: number }) => a.hostId === hosts[2].id)).toBe(true);
    exporters.set(hosts[2].ip, startExporter(fleet.hosts.find((h) => h.address === hosts[2].ip)!.netns, hosts[2].ip));
  }, 60_000);

  it('rebuilds the file from the database when the server starts again', async () => {
    await server.close(true);
    rmSync(prometheus.sdFile, { force: true });
    server = await start(server);
    expect(readTargets(prometheus.sdFile).map((g) => g.targets[0]).sort()).toEqual(hosts.map((h) => `${h.ip}:9100`).sort());
    carol = await server.login('carol', 'carol-password-1');
    bob = await server.login('bob', 'bob-password-1');
  }, 60_000);

  it('answers "no data" within 2 s while Prometheus is stopped, never an error', async () => {
    await prometheus.stop();
    try {
      const t0 = Date.now();
      const series = await server.gql(SERIES, { id: hosts[0].id }, carol);
      expect(Date.now() - t0).toBeLessThan(2_500);
      expect(series.errors).toBeUndefined();
      expect(series.data.hostSeries).toMatchObject({ available: false, cpu: [], memory: [] });
      expect(series.data.hostSeries.reason).toBeTruthy();
      const t1 = Date.now();
      const rest = await server.request('GET', '/api/monitoring/my-resources', { token: carol });
      expect(Date.now() - t1).toBeLessThan(2_500);
      expect(rest.status).toBe(200);
      expect((await server.gql(ALERTS, {}, carol)).data.hostAlerts).toEqual([]);
    } finally {
      await prometheus.start();
    }
  }, 60_000);

  it('removes the hosts from the file when the project is torn down', async () => {
    const del = await server.request('DELETE', `/api/provision/${projectId}`, { token: carol });
    expect(del.status).toBe(200);
    await waitUntil(() => readTargets(prometheus.sdFile).length === 0, 15_000, 'the targets gone from the file');
  }, 60_000);
});

const runPostgres = runSuite ? await shouldRunPostgres('Prometheus target file written by two instances') : false;

describe.skipIf(!runSuite || !runPostgres)('the target file kept by two instances on one PostgreSQL database', () => {
  let temp: TempDatabase;
  let a: TestServer;
  let b: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-sd-'));
  const sdFile = join(dir, 'targets.json');

  beforeAll(async () => {
    temp = await createTempPostgresDatabase();
    const env = { PROMETHEUS_SD_FILE: sdFile, PROMETHEUS_URL: 'http://127.0.0.1:1', MOCK_STEP_DELAY_MS: '20', RUNNER_POLL_MS: '200' };
    a = await startTestServer({ backend: 'postgresql', env, reuse: { postgres: temp } });
    b = await startTestServer({ backend: 'postgresql', env, reuse: { postgres: temp } });
  }, 60_000);

  afterAll(async () => {
    await a?.close(true);
    await b?.close(true);
    await temp?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('equals what the database says after orders and deletes through both, and is never seen half-written', async () => {
    let reads = 0;
    let torn = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        if (existsSync(sdFile)) {
          try {
            JSON.parse(readFileSync(sdFile, 'utf8'));
            reads++;
          } catch {
            torn++;
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const server = i % 2 ? b : a;
      const res = await server.request('POST', '/api/provision', { token: server.adminToken, body: { serviceName: `twin-${i}`, config: { template: i % 3 ? 'single' : 'standard' }, targetInfra: 'vsphere' } });
      expect(res.status).toBe(200);
      ids.push(res.body.project_id);
    }
    for (const id of ids) expect((await waitForFinalStatus(a, id, a.adminToken)).status).toBe('COMPLETED');
    for (const id of ids.filter((_, i) => i % 4 === 0)) expect((await b.request('DELETE', `/api/provision/${id}`, { token: b.adminToken })).status).toBe(200);
    const client = new pg.Client({ connectionString: temp.url });
    await client.connect();
    const expected = async () =>
      targetFileContent(
        (
          await client.query(
            `select h.ip_address, h.vm_name, p.id as project_id, p.service_name, p.owner from workload_pool h join projects p on p.id = h.project_id where p.status in ('RUNNING', 'COMPLETED') order by h.ip_address`,
          )
        ).rows,
        9100,
      );
    try {
      await waitUntil(async () => existsSync(sdFile) && readFileSync(sdFile, 'utf8') === (await expected()) && !(await expected()).includes('"twin-0"'), 20_000, 'the file equal to the database');
      expect(readTargets(sdFile).length).toBeGreaterThan(6);
    } finally {
      reading = false;
      await reader;
      await client.end();
    }
    expect(torn).toBe(0);
    expect(reads).toBeGreaterThan(100);
  }, 120_000);
});
