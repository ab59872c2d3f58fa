// @vitest-environment happy-dom
/**
 * The monitoring page's logic and view: averages over hosts with metrics, the rolling chart,
 * alarm derivation, newest-first logs, and what the page says about the metrics source.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import ko from '../../client/src/i18n/ko';
import { averages, deriveAlarms, newestFirst, polylinePoints, pushPoint, type UsageRow } from '../../client/src/utils/monitoring';
import MonitoringView from '../../client/src/views/MonitoringView.vue';

const host = (ip: string, cpu: number, memory: number, disk: number, hasMetrics = true, status = 'Running'): UsageRow & { projectId: number } => ({
  kind: 'host',
  vmName: `vm-${ip}`,
  ipAddress: ip,
  projectId: 1,
  projectName: 'shop',
  status,
  cpuUsage: cpu,
  memoryUsage: memory,
  diskUsage: disk,
  hasMetrics,
});
const derived = (kind: string, vmName: string, ip: string): UsageRow & { projectId: number } => ({ ...host(ip, 0, 0, 0, false), kind, vmName });

describe('monitoring arithmetic', () => {
  it('averages only the hosts that carry metrics, to one decimal', () => {
    const rows = [host('10.0.0.1', 40, 50, 10), host('10.0.0.2', 21, 30.5, 20), host('10.0.0.3', 0, 0, 0, false), derived('alb', 'ALB', '10.0.0.1')];
    expect(averages(rows)).toEqual({ cpu: 30.5, memory: 40.3, disk: 15, hosts: 2 });
    expect(averages([host('10.0.0.3', 0, 0, 0, false), derived('db', 'DB', 'db.local')])).toBeNull();
  });

  it('keeps the last points of the chart and places them right-aligned in the box', () => {
    let series = [] as ReturnType<typeof pushPoint>;
    for (let i = 0; i < 5; i++) series = pushPoint(series, { at: i, cpu: i * 10, memory: 50 }, 3);
    expect(series.map((p) => p.at)).toEqual([2, 3, 4]);
    // 3 slots in a 100 × 100 box: x = 0, 50, 100; y = 100 − value.
    expect(polylinePoints(series, (p) => p.cpu, 100, 100, 3)).toBe('0,80 50,70 100,60');
    expect(polylinePoints(series.slice(-1), (p) => p.memory, 100, 100, 3)).toBe('100,50');
  });

  it('raises alarms for failed runs and, while metrics answer, for running hosts without metrics', () => {
    const runs = [
      { id: 3, serviceName: 'broken', status: 'FAILED', errorMessage: 'Mock failure injected at step "db"', updatedAt: '2025-01-01T00:00:00Z' },
      { id: 2, serviceName: 'fine', status: 'COMPLETED', errorMessage: null, updatedAt: '2025-01-01T00:00:00Z' },
    ];
    const rows = [host('10.0.0.1', 40, 50, 10), host('10.0.0.2', 0, 0, 0, false), host('10.0.0.9', 0, 0, 0, false, 'Provisioning'), derived('alb', 'ALB', '10.0.0.1')];
    const summary = (alarms: ReturnType<typeof deriveAlarms>) => alarms.map((a) => (a.kind === 'failedRun' ? `${a.kind}:${a.serviceName}:${a.message}` : `${a.kind}:${a.ipAddress}`));

    expect(summary(deriveAlarms(runs, rows, { configured: true, reachable: true }))).toEqual(['failedRun:broken:Mock failure injected at step "db"', 'unreachableHost:10.0.0.2']);
    // No metrics source, or one that is down as a whole: the page says so once, no per-host alarm.
    expect(summary(deriveAlarms(runs, rows, { configured: false, reachable: null }))).toEqual(['failedRun:broken:Mock failure injected at step "db"']);
    expect(summary(deriveAlarms(runs, rows, { configured: true, reachable: false }))).toEqual(['failedRun:broken:Mock failure injected at step "db"']);
  });

  it('orders log lines newest first: later runs first, later lines first', () => {
    const line = (projectId: number, seq: number) => ({ key: `${projectId}-${seq}`, projectId, serviceName: 's', seq, text: `${projectId}.${seq}` });
    expect(newestFirst([line(1, 0), line(1, 1), line(2, 0), line(2, 1)]).map((l) => l.text)).toEqual(['2.1', '2.0', '1.1', '1.0']);
    expect(newestFirst([line(1, 0), line(1, 1), line(1, 2)], 2).map((l) => l.text)).toEqual(['1.2', '1.1']);
  });
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
let wrapper: VueWrapper | null = null;

function answer(status: { metricsConfigured: boolean; metricsReachable: boolean | null; lastError: string | null }, resources: unknown[], runs: unknown[] = []) {
  fetchMock.mockImplementation(async (_input, init) => {
    const query = String(JSON.parse(String(init?.body)).query);
    if (query.includes('monitoringStatus')) return json({ data: { monitoringStatus: status } });
    if (query.includes('resources')) return json({ data: { resources } });
    if (query.includes('history')) return json({ data: { history: { nodes: runs } } });
    throw new Error(`unexpected query ${query}`);
  });
}

async function mountView() {
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(MonitoringView, { global: { plugins: [i18n], stubs: { RouterLink: { template: '<a><slot /></a>' } } } });
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

  it('says plainly that no metrics source is configured, and shows the resources without numbers', async () => {
    answer({ metricsConfigured: false, metricsReachable: null, lastError: null }, [host('10.0.0.1', 0, 0, 0, false)]);
    const w = await mountView();
    expect(w.get('[data-testid="metrics-not-configured"]').text()).toBe(ko.monitoring.notConfigured);
    expect(w.find('[data-testid="metrics-unreachable"]').exists()).toBe(false);
    expect(w.find('[data-testid="usage-chart"]').exists()).toBe(false);
    expect(w.get('[data-testid="card-cpu"]').text()).toContain(ko.monitoring.cards.noData);
    expect(w.get('[data-testid="row-host-10.0.0.1"]').text()).toContain('vm-10.0.0.1');
    expect(w.find('[data-testid="cell-cpu"]').exists()).toBe(false);
  });

  it('shows the averages, the chart and the numbers per host when metrics answer', async () => {
    answer({ metricsConfigured: true, metricsReachable: true, lastError: null }, [host('10.0.0.1', 40, 50, 10), host('10.0.0.2', 20, 30, 30), derived('alb', 'ALB', '10.0.0.1')]);
    const w = await mountView();
    expect(w.find('[data-testid="metrics-not-configured"]').exists()).toBe(false);
    expect(w.get('[data-testid="card-hosts"]').text()).toContain('2');
    expect(w.get('[data-testid="card-cpu"]').text()).toContain('30%');
    expect(w.get('[data-testid="card-memory"]').text()).toContain('40%');
    expect(w.get('[data-testid="card-disk"]').text()).toContain('20%');
    expect(w.get('[data-testid="chart-cpu"]').attributes('points')).toBeTruthy();
    expect(w.get('[data-testid="row-host-10.0.0.2"]').text()).toContain('20%');
  });

  it('says the metrics source is unreachable, with its error', async () => {
    answer({ metricsConfigured: true, metricsReachable: false, lastError: 'no answer within 2000 ms' }, []);
    const w = await mountView();
    expect(w.get('[data-testid="metrics-unreachable"]').text()).toContain(ko.monitoring.unreachable);
    expect(w.get('[data-testid="metrics-unreachable"]').text()).toContain('no answer within 2000 ms');
    expect(w.get('[data-testid="health-empty"]').text()).toBe(ko.monitoring.health.empty);
  });

  it('lists a failed run in Alarms with its error', async () => {
    answer({ metricsConfigured: false, metricsReachable: null, lastError: null }, [], [
      { id: 7, serviceName: 'broken', status: 'FAILED', errorMessage: 'disk full', logs: ['start', 'boom'], lastSeq: 4, updatedAt: '2025-01-01T00:00:00Z' },
    ]);
    const w = await mountView();
    expect(w.get('[data-testid="tab-alarms"]').text()).toContain('1');
    await w.get('[data-testid="tab-alarms"]').trigger('click');
    expect(w.get('[data-testid="alarm-failedRun"]').text()).toContain('disk full');
    await w.get('[data-testid="tab-logs"]').trigger('click');
    expect(w.findAll('[data-testid="log-line"]').map((l) => l.text())).toEqual([expect.stringContaining('boom'), expect.stringContaining('start')]);
  });
});
