/**
 * /monitoring in Chromium against the real server:
 * - with a fake Prometheus on 127.0.0.1 (instant queries only): the caller's hosts with the
 *   fake CPU / memory / disk, the averages from the server's summary, the chart panel saying
 *   "no data" with its reason (the fake has no range queries), the run's log lines, a failed run
 *   and a silent host in Alarms, Expert Mode; without PROMETHEUS_URL, the plain notice;
 * - with 4,000 pool hosts, as the admin: the figures, keyset pages forward and back, a search
 *   that finds one host among them, and the status filter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserAvailable } from '../helpers/browser.js';
import { startFakePrometheus, type FakePrometheus } from '../helpers/fake-prometheus.js';
import { ADMIN, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const USER = { username: 'mona', password: 'mona-password-1' };
const MANY = 4000;

async function provision(server: TestServer, token: string, serviceName: string, config: Record<string, unknown>) {
  const created = await server.request('POST', '/api/provision', { token, body: { serviceName, config, targetInfra: 'vsphere' } });
  expect(created.status).toBe(200);
  return waitForFinalStatus(server, created.body.project_id, token);
}

describe.skipIf(!browserAvailable('console monitoring'))('monitoring page, in Chromium', () => {
  let prometheus: FakePrometheus;
  let harness: ConsoleHarness;
  let plain: ConsoleHarness;
  let ips: string[] = [];
  let failedError = '';

  beforeAll(async () => {
    prometheus = await startFakePrometheus();
    harness = await startConsole({ env: { PROMETHEUS_URL: prometheus.url } });
    const token = await harness.server.createUser(USER.username, USER.password);
    const done = await provision(harness.server, token, 'mon-shop', { template: 'standard' });
    expect(done.status).toBe('COMPLETED');
    ips = done.details.resources.ssh_targets.map((t: { host: string }) => t.host);
    prometheus.hosts.set(ips[0], { cpu: 42.37, memory: 61.04, disk: 12.95 });
    prometheus.hosts.set(ips[1], { cpu: 18, memory: 30, disk: 50 });
    // ips[2] gets no metrics: an "unreachable" alarm.
    const failed = await provision(harness.server, token, 'mon-broken', { template: 'single', mockFailAt: 'db' });
    expect(failed.status).toBe('FAILED');
    failedError = (await harness.server.gql('query($id: Int!) { project(id: $id) { errorMessage } }', { id: failed.id }, token)).data.project.errorMessage;

    plain = await startConsole();
    await plain.server.createUser(USER.username, USER.password);
  }, 120_000);
  afterAll(async () => {
    await harness?.close();
    await plain?.close();
    await prometheus?.close();
  });

  it('shows the hosts with their Prometheus numbers, the figures, "no data" charts, the run logs and the alarms', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/monitoring`);
    await page.waitForURL(signInFor('/monitoring'));
    await signInThroughModal(page, USER.username, USER.password);
    await page.waitForURL('**/monitoring');

    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.monitoring.title);
    const first = page.getByTestId(`row-host-${ips[0]}`);
    await first.waitFor();
    expect(await first.textContent()).toContain('mon-shop');
    expect(await first.getByTestId('cell-cpu').textContent()).toBe('42.4%');
    expect(await first.getByTestId('cell-memory').textContent()).toBe('61%');
    expect(await first.getByTestId('cell-disk').textContent()).toBe('13%');
    expect(await page.getByTestId(`row-host-${ips[1]}`).getByTestId('cell-cpu').textContent()).toBe('18%');
    expect(await page.getByTestId(`row-host-${ips[2]}`).getByTestId('cell-cpu').textContent()).toBe('—');
    expect(await page.getByTestId('card-hosts').textContent()).toContain('3');
    expect(await page.getByTestId('card-cpu').textContent()).toContain('30.2%');
    expect(await page.getByTestId('metrics-not-configured').count()).toBe(0);
    // The first measured host is charted at once; the fake answers no range query, so: no data, plainly.
    await page.getByTestId('metrics-panel').waitFor();
    expect(await page.getByTestId('metrics-title').textContent()).toContain(await first.locator('td').first().textContent());
    await page.getByTestId('series-no-data').waitFor();
    expect(await page.getByTestId('series-no-data').textContent()).toContain(ko.monitoring.chart.noData);
    expect(await page.getByTestId('series-error').count()).toBe(0);
    await shot('monitoring-overview');

    await page.getByTestId('tab-logs').click();
    const lines = page.getByTestId('log-line');
    await lines.first().waitFor();
    const texts = await lines.allTextContents();
    expect(texts.some((t) => t.includes('mon-shop'))).toBe(true);
    expect(texts.some((t) => t.includes('mon-broken'))).toBe(true);
    // Newest first: the later (failed) run's lines come before the first run's.
    expect(texts.findIndex((t) => t.includes('mon-broken'))).toBeLessThan(texts.findIndex((t) => t.includes('mon-shop')));
    await shot('monitoring-live-logs');

    await page.getByTestId('tab-alarms').click();
    const failedAlarm = page.getByTestId('alarm-failedRun');
    await failedAlarm.waitFor();
    expect(await failedAlarm.textContent()).toContain('mon-broken');
    expect(failedError).toBeTruthy();
    expect(await failedAlarm.textContent()).toContain(failedError);
    expect(await page.getByTestId('alarm-unreachableHost').textContent()).toContain(ips[2]);
    await shot('monitoring-alarms');

    await page.getByTestId('tab-database').click();
    await expect.poll(() => page.getByTestId('health-table').textContent()).toContain('DB');
    await page.getByTestId('tab-network').click();
    await expect.poll(() => page.getByTestId('health-table').textContent()).toContain('ALB');
    expect(await page.getByTestId('health-table').textContent()).not.toContain('DB');

    await page.getByTestId('expert-mode').click();
    await page.waitForURL('**/main_ui');
    await finish();
  });

  it('says plainly that no metrics source is configured when PROMETHEUS_URL is unset', async () => {
    const { page, finish } = await openConsolePage(plain);
    await page.goto(`${plain.server.url}/monitoring`);
    await page.waitForURL(signInFor('/monitoring'));
    await signInThroughModal(page, USER.username, USER.password);
    await page.waitForURL('**/monitoring');
    await expect.poll(() => page.getByTestId('metrics-not-configured').textContent()).toBe(ko.monitoring.notConfigured);
    expect(await page.getByTestId('health-empty').textContent()).toBe(ko.monitoring.health.empty);
    expect(await page.getByTestId('metrics-panel').count()).toBe(0);
    await page.getByTestId('tab-alarms').click();
    expect(await page.getByTestId('alarms-empty').textContent()).toBe(ko.monitoring.alarms.empty);
    await finish();
  });
});

describe.skipIf(!browserAvailable('console monitoring, many hosts'))(`monitoring page with ${MANY.toLocaleString('en')} pool hosts, in Chromium`, () => {
  let harness: ConsoleHarness;
  let dir: string;
  let held: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hcmp-many-'));
    const pool = Array.from({ length: MANY }, (_, i) => ({ vm_name: `BIG-${i + 1}`, ip_address: `10.60.${(i + 1) >> 8}.${(i + 1) & 255}`, infra: i % 2 ? 'aws' : 'vsphere' }));
    writeFileSync(join(dir, 'pool.json'), JSON.stringify(pool));
    harness = await startConsole({ env: { WORKLOAD_POOL_FILE: join(dir, 'pool.json') } });
    const token = await harness.server.createUser(USER.username, USER.password);
    const done = await provision(harness.server, token, 'many-shop', { template: 'single' });
    expect(done.status).toBe('COMPLETED');
    held = done.details.resources.ssh_targets[0].host;
  }, 120_000);
  afterAll(async () => {
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages and searches the admin’s rows a page at a time, with the figures counted by the server', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/monitoring`);
    await page.waitForURL(signInFor('/monitoring'));
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/monitoring');

    // 4,000 hosts and the project's ALB, Web, DB and SSH-1: 4,004 rows, 25 a page.
    await expect.poll(() => page.getByTestId('card-hosts').textContent()).toContain('4,000');
    expect(await page.getByTestId('card-host-states').textContent()).toBe('실행 1 · 준비 중 0 · 여유 3,999 · 제외 0');
    expect(await page.getByTestId('card-running').textContent()).toContain('1');
    await expect.poll(() => page.getByTestId('resource-total').textContent()).toBe('4,004행');
    expect(await page.getByTestId('resource-page').textContent()).toBe('1 / 161 페이지');
    const rows = page.locator('[data-testid="health-table"] tbody tr');
    expect(await rows.count()).toBe(25);
    expect(await rows.first().textContent()).toContain('BIG-1');
    await shot('monitoring-many-hosts');

    await page.getByTestId('resource-next').click();
    await expect.poll(() => page.getByTestId('resource-page').textContent()).toBe('2 / 161 페이지');
    await page.getByTestId('resource-next').click();
    await expect.poll(() => page.getByTestId('resource-page').textContent()).toBe('3 / 161 페이지');
    // The page label moves at the click; the rows when the page's answer arrives.
    await expect.poll(() => rows.first().textContent()).toContain('BIG-51');
    await expect.poll(() => rows.last().textContent()).toContain('BIG-75');
    await page.getByTestId('resource-prev').click();
    await expect.poll(() => page.getByTestId('resource-page').textContent()).toBe('2 / 161 페이지');
    await expect.poll(() => rows.first().textContent()).toContain('BIG-26');

    // A search goes to the server and starts from the first page.
    await page.getByTestId('resource-search').fill('big-3999');
    await expect.poll(() => page.getByTestId('resource-total').textContent()).toBe('1행');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByTestId('row-host-10.60.15.159').textContent()).toContain('BIG-3999');
    expect(await page.getByTestId('resource-page').count()).toBe(0);
    await shot('monitoring-many-hosts-search');

    await page.getByTestId('resource-search').fill('');
    await page.getByTestId('resource-status').selectOption('Running');
    // The held host and the project's ALB, Web, DB and SSH-1.
    await expect.poll(() => page.getByTestId('resource-total').textContent()).toBe('5행');
    expect(await page.getByTestId(`row-host-${held}`).textContent()).toContain('many-shop');
    expect(await page.getByTestId(`row-host-${held}`).textContent()).toContain(USER.username);
    // Compute lists hosts only (the filter stays).
    await page.getByTestId('tab-compute').click();
    await expect.poll(() => page.getByTestId('resource-total').textContent()).toBe('1행');
    await page.getByTestId('resource-status').selectOption('');
    await expect.poll(() => page.getByTestId('resource-total').textContent()).toBe('4,000행');
    await finish();
  });
});
