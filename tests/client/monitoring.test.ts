// @vitest-environment happy-dom
/**
 * The monitoring page's logic and view: alarms (failed runs, firing alerts, silent hosts),
 * newest-first logs, units; the figures from the server's summary, what the page says about the
 * metrics source, the first measured host charted by itself, and the Alarms tab.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import ko from '../../client/src/i18n/ko';
import { deriveAlarms, formatRate, newestFirst, splitUptime } from '../../client/src/utils/monitoring';
import MonitoringView from '../../client/src/views/MonitoringView.vue';

vi.mock('../../client/src/composables/useSession', async () => {
  const { ref } = await import('vue');
  return { useSession: () => ({ isAdmin: ref(false), data: ref({ username: 'mona', role: 'user' }) }) };
});

const row = (ip: string, over: Record<string, unknown> = {}) => ({
  kind: 'host',
  hostId: Number(ip.split('.').at(-1)),
  vmName: `vm-${ip}`,
  ipAddress: ip,
  infra: 'vsphere',
  projectId: 1,
  projectName: 'shop',
  owner: 'mona',
  status: 'Running',
  cpuUsage: 0,
  memoryUsage: 0,
  diskUsage: 0,
  hasMetrics: false,
  networkIn: null,
  networkOut: null,
  load1: null,
  uptimeSeconds: null,
  ...over,
});
const measured = (ip: string, cpu: number, memory: number, disk: number) =>
  row(ip, { cpuUsage: cpu, memoryUsage: memory, diskUsage: disk, hasMetrics: true, networkIn: 1530, networkOut: 120, load1: 0.42, uptimeSeconds: 90_000 });

describe('monitoring arithmetic', () => {
  const runs = [
    { id: 3, serviceName: 'broken', status: 'FAILED', errorMessage: 'Mock failure injected at step "db"', updatedAt: '2025-01-01T00:00:00Z' },
    { id: 2, serviceName: 'fine', status: 'COMPLETED', errorMessage: null, updatedAt: '2025-01-01T00:00:00Z' },
  ];
  const silent = [{ hostId: 2, vmName: 'vm-2', ipAddress: '10.0.0.2', projectName: 'shop' }];
  const firing = [{ name: 'HostDown', severity: 'critical', hostId: 4, vmName: 'vm-4', ipAddress: '10.0.0.4', projectId: 1, activeAt: '2025-01-01T00:00:00Z', summary: '10.0.0.4 is down' }];
  const summary = (alarms: ReturnType<typeof deriveAlarms>) =>
    alarms.map((a) => (a.kind === 'failedRun' ? `${a.kind}:${a.serviceName}:${a.message}` : a.kind === 'hostAlert' ? `${a.kind}:${a.name}:${a.ipAddress}:${a.severity}` : `${a.kind}:${a.ipAddress}`));

  it('raises alarms for failed runs, firing alerts and, while metrics answer, running hosts without metrics', () => {
    expect(summary(deriveAlarms(runs, silent, { configured: true, reachable: true }, firing))).toEqual([
      'failedRun:broken:Mock failure injected at step "db"',
      'hostAlert:HostDown:10.0.0.4:critical',
      'unreachableHost:10.0.0.2',
    ]);
    // No metrics source, or one that is down as a whole: the page says so once, no per-host alarm.
    expect(summary(deriveAlarms(runs, silent, { configured: false, reachable: null }))).toEqual(['failedRun:broken:Mock failure injected at step "db"']);
    expect(summary(deriveAlarms(runs, silent, { configured: true, reachable: false }, firing))).toEqual(['failedRun:broken:Mock failure injected at step "db"', 'hostAlert:HostDown:10.0.0.4:critical']);
  });

  it('orders log lines newest first: later runs first, later lines first', () => {
    const line = (projectId: number, seq: number) => ({ key: `${projectId}-${seq}`, projectId, serviceName: 's', seq, text: `${projectId}.${seq}` });
    expect(newestFirst([line(1, 0), line(1, 1), line(2, 0), line(2, 1)]).map((l) => l.text)).toEqual(['2.1', '2.0', '1.1', '1.0']);
    expect(newestFirst([line(1, 0), line(1, 1), line(1, 2)], 2).map((l) => l.text)).toEqual(['1.2', '1.1']);
  });

  it('writes rates in SI units and splits an uptime', () => {
    expect([0, 950, 1530, 99_499, 123_456_789, 4.2e12].map(formatRate)).toEqual(['0 B/s', '950 B/s', '1.5 kB/s', '99.5 kB/s', '123 MB/s', '4.2 TB/s']);
    expect(splitUptime(90_061)).toEqual({ d: 1, h: 1, m: 1 });
  });
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init?.body)).query)?.[1] ?? '';
const callsOf = (name: string) => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === name).map(([, init]) => JSON.parse(String(init?.body)).variables);
let wrapper: VueWrapper | null = null;

const SUMMARY = {
  hostsByInfra: [
    { infra: 'aws', total: 1, available: 0, provisioning: 1, assigned: 0, drained: 0 },
    { infra: 'vsphere', total: 3, available: 0, provisioning: 0, assigned: 3, drained: 0 },
  ],
  hosts: 4,
  projects: 2,
  runningProjects: 1,
  derivedRows: 9,
  rows: 13,
  metrics: null as null | Record<string, unknown>,
};
const series = (hostId: number, available: boolean, reason: string | null = null) => ({
  hostId,
  vmName: `vm-${hostId}`,
  ipAddress: `10.0.0.${hostId}`,
  projectId: 1,
  window: 'H1',
  stepSeconds: 15,
  available,
  reason,
  ...Object.fromEntries(
    ['cpu', 'memory', 'disk', 'networkIn', 'networkOut', 'load1'].map((k) => [k, available ? [0, 1, 2].map((i) => ({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, 15 * i)).toISOString(), value: 10 + i })) : []]),
  ),
});

function answer(options: { status: { metricsConfigured: boolean; metricsReachable: boolean | null; lastError: string | null }; rows?: unknown[]; summary?: typeof SUMMARY; runs?: unknown[]; alerts?: unknown[]; hostSeries?: unknown }) {
  fetchMock.mockImplementation(async (_input, init) => {
    switch (operationOf(init)) {
      case 'MonitoringStatus':
        return json({ data: { monitoringStatus: options.status } });
      case 'ResourceSummary':
        return json({ data: { resourceSummary: options.summary ?? SUMMARY } });
      case 'HostAlerts':
        return json({ data: { hostAlerts: options.alerts ?? [] } });
      case 'MonitoringResources':
        return json({ data: { resources: { totalCount: (options.rows ?? []).length, nodes: options.rows ?? [], pageInfo: { hasNextPage: false, endCursor: null } } } });
      case 'MonitoringRuns':
        return json({ data: { history: { nodes: options.runs ?? [] } } });
      case 'HostSeries':
        return json({ data: { hostSeries: options.hostSeries } });
      default:
        throw new Error(`unexpected operation ${operationOf(init)}`);
    }
  });
}

async function mountView() {
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(MonitoringView, { global: { plugins: [i18n], stubs: { RouterLink: { template: '<a><slot /></a>' } } } });
  await flushPromises();
  await flushPromises();
  return wrapper;
}

describe('MonitoringView', () => {
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => {
    wrapper?.unmount();
    wrapper = null;
    vi.unstubAllGlobals();
  });

  it('says plainly that no metrics source is configured, and shows the figures and rows without numbers or charts', async () => {
    answer({ status: { metricsConfigured: false, metricsReachable: null, lastError: null }, rows: [row('10.0.0.1')] });
    const w = await mountView();
    expect(w.get('[data-testid="metrics-not-configured"]').text()).toBe(ko.monitoring.notConfigured);
    expect(w.find('[data-testid="metrics-panel"]').exists()).toBe(false);
    expect(w.find('[data-testid="chart-pick"]').exists()).toBe(false);
    // The figures are the server's counts, not the rows of the page.
    expect(w.get('[data-testid="card-hosts"]').text()).toContain('4');
    expect(w.get('[data-testid="card-host-states"]').text()).toBe('실행 3 · 준비 중 1 · 여유 0 · 제외 0');
    expect(w.get('[data-testid="card-running"]').text()).toContain('1');
    expect(w.get('[data-testid="card-rows"]').text()).toBe('프로젝트 2개, 리소스 13행');
    expect(w.get('[data-testid="card-cpu"]').text()).toContain(ko.monitoring.cards.noData);
    expect(w.get('[data-testid="row-host-10.0.0.1"]').text()).toContain('vm-10.0.0.1');
    expect(w.find('[data-testid="cell-cpu"]').exists()).toBe(false);
    expect(callsOf('HostSeries')).toEqual([]);
  });

  it('shows the averages and per-host numbers, and charts the first measured host by itself', async () => {
    answer({
      status: { metricsConfigured: true, metricsReachable: true, lastError: null },
      summary: { ...SUMMARY, metrics: { measuredHosts: 2, cpu: 30, memory: 40, disk: 20, silentHostCount: 0, silentHosts: [] } },
      rows: [row('10.0.0.9'), measured('10.0.0.2', 20, 30, 30), measured('10.0.0.3', 40, 50, 10)],
      hostSeries: series(2, true),
    });
    const w = await mountView();
    expect(w.find('[data-testid="metrics-not-configured"]').exists()).toBe(false);
    expect(w.get('[data-testid="card-cpu"]').text()).toContain('30%');
    expect(w.get('[data-testid="card-memory"]').text()).toContain('40%');
    expect(w.get('[data-testid="card-disk"]').text()).toContain('20%');
    const host = w.get('[data-testid="row-host-10.0.0.2"]');
    expect(host.get('[data-testid="cell-cpu"]').text()).toBe('20%');
    expect(host.get('[data-testid="cell-network"]').text()).toBe('↓ 1.5 kB/s / ↑ 120 B/s');
    expect(host.get('[data-testid="cell-load"]').text()).toBe('0.4');
    expect(w.get('[data-testid="row-host-10.0.0.9"]').get('[data-testid="cell-cpu"]').text()).toBe('—');
    // The first host with metrics is charted without a click.
    expect(callsOf('HostSeries')).toEqual([{ hostId: 2, window: 'H1' }]);
    expect(w.get('[data-testid="metrics-title"]').text()).toContain('vm-10.0.0.2');
    expect(w.get('[data-testid="chart-usage-line-cpu"]').attributes('data-points')).toBe('3');
    expect(host.classes()).toContain('charted');
  });

  it('says "no data" with the reason when the host has no series, never an error', async () => {
    answer({
      status: { metricsConfigured: true, metricsReachable: false, lastError: 'no answer within 2000 ms' },
      rows: [measured('10.0.0.2', 1, 1, 1)],
      hostSeries: series(2, false, 'Prometheus did not answer within 2000 ms'),
    });
    const w = await mountView();
    expect(w.get('[data-testid="metrics-unreachable"]').text()).toContain('no answer within 2000 ms');
    expect(w.get('[data-testid="series-no-data"]').text()).toContain(ko.monitoring.chart.noData);
    expect(w.get('[data-testid="series-reason"]').text()).toContain('Prometheus did not answer within 2000 ms');
    expect(w.find('[data-testid="series-error"]').exists()).toBe(false);
    expect(w.find('[data-testid="monitoring-error"]').exists()).toBe(false);
  });

  it('lists failed runs, firing alerts and silent hosts in Alarms', async () => {
    answer({
      status: { metricsConfigured: true, metricsReachable: true, lastError: null },
      summary: { ...SUMMARY, metrics: { measuredHosts: 0, cpu: null, memory: null, disk: null, silentHostCount: 1, silentHosts: [{ hostId: 5, vmName: 'vm-5', ipAddress: '10.0.0.5', projectName: 'shop' }] } },
      runs: [{ id: 7, serviceName: 'broken', status: 'FAILED', errorMessage: 'disk full', logs: ['start', 'boom'], lastSeq: 4, updatedAt: '2025-01-01T00:00:00Z' }],
      alerts: [{ name: 'HostHighCpu', severity: 'warning', hostId: 3, vmName: 'vm-3', ipAddress: '10.0.0.3', projectId: 1, activeAt: '2026-01-01T00:00:00Z', summary: 'CPU above 90 % for 5 minutes' }],
    });
    const w = await mountView();
    expect(w.get('[data-testid="tab-alarms"]').text()).toContain('3');
    await w.get('[data-testid="tab-alarms"]').trigger('click');
    expect(w.get('[data-testid="alarm-failedRun"]').text()).toContain('disk full');
    const alert = w.get('[data-testid="alarm-hostAlert"]');
    expect(alert.text()).toContain('HostHighCpu');
    expect(alert.text()).toContain('vm-3 (10.0.0.3)');
    expect(alert.text()).toContain('CPU above 90 % for 5 minutes');
    expect(alert.get('[data-testid="alarm-severity"]').text()).toBe('warning');
    expect(alert.find('[data-testid="alarm-since"]').exists()).toBe(true);
    expect(w.get('[data-testid="alarm-unreachableHost"]').text()).toContain('10.0.0.5');
    await w.get('[data-testid="tab-logs"]').trigger('click');
    expect(w.findAll('[data-testid="log-line"]').map((l) => l.text())).toEqual([expect.stringContaining('boom'), expect.stringContaining('start')]);
  });

  it('asks for the rows of a tab’s kinds', async () => {
    answer({ status: { metricsConfigured: false, metricsReachable: null, lastError: null }, rows: [] });
    const w = await mountView();
    expect(w.get('[data-testid="health-empty"]').text()).toBe(ko.monitoring.health.empty);
    for (const [tab, kind] of [
      ['compute', ['host']],
      ['database', ['db']],
      ['network', ['alb', 'web', 'ssh']],
      ['overview', null],
    ] as const) {
      await w.get(`[data-testid="tab-${tab}"]`).trigger('click');
      await flushPromises();
      expect(callsOf('MonitoringResources').at(-1)).toMatchObject({ kind, after: null });
    }
  });
});
