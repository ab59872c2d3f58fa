/**
 * /monitoring in Chromium against the real server and a fake Prometheus on 127.0.0.1: the
 * caller's hosts with the fake CPU / memory / disk, the live chart, the run's log lines, a
 * failed run in Alarms, Expert Mode; and, without PROMETHEUS_URL, the plain notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { startFakePrometheus, type FakePrometheus } from '../helpers/fake-prometheus.js';
import { waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const USER = { username: 'mona', password: 'mona-password-1' };

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

  it('shows the hosts with their Prometheus numbers, the chart, the run logs and the failed run in Alarms', async () => {
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
    // The chart draws both lines from the first poll.
    await page.getByTestId('chart-svg').waitFor();
    expect(await page.getByTestId('chart-cpu').getAttribute('points')).toMatch(/^\d+(\.\d+)?,\d+(\.\d+)?/);
    expect(await page.getByTestId('chart-memory').getAttribute('points')).toBeTruthy();
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
    await page.getByTestId('tab-network').click();
    expect(await page.getByTestId('health-table').textContent()).toContain('ALB');

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
    expect(await page.getByTestId('usage-chart').count()).toBe(0);
    await page.getByTestId('tab-alarms').click();
    expect(await page.getByTestId('alarms-empty').textContent()).toBe(ko.monitoring.alarms.empty);
    await finish();
  });
});
