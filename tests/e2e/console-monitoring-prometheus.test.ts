/**
 * /monitoring in Chromium charting a host from a REAL Prometheus: a fleet host (a network
 * namespace) runs Debian's node exporter on its own address; the server (mock runner) takes it
 * from its pool for a one-host order and registers it in PROMETHEUS_SD_FILE; Debian's
 * Prometheus scrapes it every second. Once at least two points of its series exist, the page
 * charts the host by itself — CPU, memory, disk, network and load drawn from those points —
 * and a window switch asks again.
 *
 * Needs root (the fleet host) and prometheus: skipped with a message elsewhere (CI has both).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../scripts/fleet/lib.js';
import { browserAvailable } from '../helpers/browser.js';
import { removeFleet, testFleet } from '../helpers/fleet.js';
import { waitUntil } from '../helpers/process.js';
import { shouldRunPrometheus, startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { shouldRunAsRoot } from '../helpers/root.js';
import { waitForFinalStatus } from '../helpers/server.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const SUITE = 'monitoring page charting a host from a real Prometheus';
const runSuite = browserAvailable(SUITE) && shouldRunAsRoot(SUITE) && shouldRunPrometheus(SUITE);
const USER = { username: 'petra', password: 'petra-password-1' };
const SERIES = 'query($id: Int!) { hostSeries(hostId: $id, window: H1) { available reason cpu { value } memory { value } networkIn { value } load1 { value } } }';

describe.skipIf(!runSuite)(SUITE, () => {
  let fleet: Fleet;
  let exporter: ChildProcess | undefined;
  let prometheus: TestPrometheus;
  let harness: ConsoleHarness;
  let token: string;
  let hostId: number;

  beforeAll(async () => {
    fleet = await testFleet(1);
    const host = fleet.hosts[0];
    exporter = spawn('ip', ['netns', 'exec', host.netns, 'prometheus-node-exporter', `--web.listen-address=${host.address}:9100`, '--log.level=warn'], { stdio: 'ignore' });
    prometheus = await startPrometheus();
    harness = await startConsole({
      env: { PROMETHEUS_URL: prometheus.url, PROMETHEUS_SD_FILE: prometheus.sdFile, WORKLOAD_POOL_FILE: fleet.poolFile, MOCK_STEP_DELAY_MS: '50' },
    });
    token = await harness.server.createUser(USER.username, USER.password);
    const created = await harness.server.request('POST', '/api/provision', { token, body: { serviceName: 'charted-shop', config: { template: 'single' }, targetInfra: 'vsphere' } });
    expect(created.status).toBe(200);
    expect((await waitForFinalStatus(harness.server, created.body.project_id, token)).status).toBe('COMPLETED');
    const rows = (await harness.server.gql('{ resources(kind: host) { nodes { hostId ipAddress } } }', {}, token)).data.resources.nodes;
    expect(rows).toEqual([{ hostId: expect.any(Number), ipAddress: host.address }]);
    hostId = rows[0].hostId;

    // Registered, scraped, and two points of each series on the 15 s grid of the 1 h window.
    await waitUntil(async () => (await prometheus.query(`up{job="hcmp-hosts",instance="${host.address}:9100"} == 1`)).length === 1, 60_000, 'Prometheus scraping the host');
    await waitUntil(
      async () => {
        const s = (await harness.server.gql(SERIES, { id: hostId }, token)).data?.hostSeries;
        const drawn = (points: { value: number | null }[] = []) => points.filter((p) => p.value !== null).length;
        return s?.available && drawn(s.cpu) >= 2 && drawn(s.memory) >= 2 && drawn(s.networkIn) >= 2 && drawn(s.load1) >= 2;
      },
      90_000,
      'two points of every series',
    );
  }, 240_000);

  afterAll(async () => {
    await harness?.close();
    if (exporter && exporter.exitCode === null) {
      const gone = new Promise((r) => exporter!.once('exit', r));
      exporter.kill('SIGTERM');
      await gone;
    }
    await prometheus?.destroy();
    removeFleet(fleet);
  }, 60_000);

  it('charts the host from its real series, and again for another window', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/monitoring`);
    await page.waitForURL(signInFor('/monitoring'));
    await signInThroughModal(page, USER.username, USER.password);
    await page.waitForURL('**/monitoring');

    const host = fleet.hosts[0];
    const row = page.getByTestId(`row-host-${host.address}`);
    await row.waitFor();
    await expect.poll(() => row.getByTestId('cell-cpu').textContent(), { timeout: 20_000 }).toMatch(/^\d+(\.\d)?%$/);
    // The only host is charted without a click.
    await page.getByTestId('series-charts').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('metrics-title').textContent()).toContain(host.name);
    const drawn = async (chart: string, line: string) => Number(await page.getByTestId(`chart-${chart}-line-${line}`).getAttribute('data-points'));
    expect(await drawn('usage', 'cpu')).toBeGreaterThanOrEqual(2);
    expect(await drawn('usage', 'memory')).toBeGreaterThanOrEqual(2);
    expect(await drawn('usage', 'disk')).toBeGreaterThanOrEqual(2);
    expect(await drawn('network', 'in')).toBeGreaterThanOrEqual(2);
    expect(await drawn('load', 'load1')).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('chart-usage-line-cpu').locator('path').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+ L[\d.]+,[\d.]+/);
    expect(await page.getByTestId('chart-usage-legend-memory').textContent()).toMatch(/\d+(\.\d)?%/);
    expect(await page.getByTestId('chart-network-legend-in').textContent()).toMatch(/\d+(\.\d)? (B|kB|MB)\/s/);
    expect(await page.getByTestId('series-no-data').count()).toBe(0);
    await page.getByTestId('metrics-panel').scrollIntoViewIfNeeded();
    await shot('monitoring-prometheus-chart');

    await page.getByTestId('window-H6').click();
    await expect.poll(() => page.getByTestId('series-charts').getAttribute('data-window')).toBe('H6');
    expect(await page.getByTestId('series-charts').getAttribute('data-step')).toBe('90');
    expect(await page.getByTestId('window-H6').textContent()).toContain(ko.monitoring.chart.windows.H6);
    await shot('monitoring-prometheus-chart-6h');
    await finish();
  });
});
