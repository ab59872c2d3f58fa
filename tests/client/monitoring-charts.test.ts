// @vitest-environment happy-dom
/**
 * The monitoring charts: the line geometry (broken at gaps, a lone point as a dot, clamped to
 * the axis), and the charts panel against a mocked API — series with gaps drawn as separate
 * stretches, "no data" with its reason when the series are not available (never an error), the
 * window switch, a project's hosts one at a time, and the refresh every 15 s only while the
 * page is visible.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import MetricsPanel from '../../client/src/components/monitoring/MetricsPanel.vue';
import { latestValue, lineGeometry, niceMax } from '../../client/src/utils/monitoring';

const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + i * 15_000).toISOString();
const points = (values: (number | null)[]) => values.map((value, i) => ({ at: at(i), value }));

describe('chart geometry', () => {
  const box = { width: 100, height: 100, start: Date.parse(at(0)), end: Date.parse(at(4)), max: 100 };

  it('draws one stretch per run of values, a lone value as a dot, and nothing across a gap', () => {
    const g = lineGeometry(points([10, 20, null, 50, null]), box);
    expect(g.path).toBe('M0,90 L25,80');
    expect(g.dots).toEqual([[75, 50]]);
    expect(g.drawn).toBe(3);
    const two = lineGeometry(points([0, 100, null, 40, 60]), box);
    expect(two.path).toBe('M0,100 L25,0 M75,60 L100,40');
    expect(lineGeometry(points([null, null, null]), box)).toEqual({ path: '', dots: [], drawn: 0 });
  });

  it('clamps values to the axis and finds round bounds and the latest value', () => {
    expect(lineGeometry(points([150, -5]), { ...box, end: Date.parse(at(1)) }).path).toBe('M0,0 L100,100');
    expect([0, 0.3, 7, 12, 180, 4_100_000].map(niceMax)).toEqual([1, 0.5, 10, 20, 200, 5_000_000]);
    expect(latestValue(points([1, 2, null]))).toBe(2);
    expect(latestValue(points([null]))).toBeNull();
  });
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init?.body)).query)?.[1] ?? '';
const requests = () => fetchMock.mock.calls.map(([, init]) => ({ op: operationOf(init), ...JSON.parse(String(init?.body)).variables }));

/** A host's series: CPU with a gap in the middle, a lone memory point, network in bytes/s. */
function hostSeries(hostId: number, window = 'H1', available = true, reason: string | null = null) {
  const empty = { cpu: [], memory: [], disk: [], networkIn: [], networkOut: [], load1: [] };
  return {
    hostId,
    vmName: `vm-${hostId}`,
    ipAddress: `10.0.0.${hostId}`,
    projectId: 9,
    window,
    stepSeconds: window === 'H1' ? 15 : 90,
    available,
    reason,
    ...(available
      ? {
          cpu: points([12, 14, null, null, 30, 31]),
          memory: points([null, null, 55, null, null, null]),
          disk: points([40, 40, 40, 40, 40, 40]),
          networkIn: points([1000, 2500, 4000, null, 3000, 2000]),
          networkOut: points([100, 200, 300, null, 200, 100]),
          load1: points([0.1, 0.2, 0.3, 0.2, 0.1, hostId / 10]),
        }
      : empty),
  };
}

let wrapper: VueWrapper | null = null;
async function mountPanel(target: Record<string, unknown>, locale: 'ko' | 'en' = 'ko') {
  const i18n = createI18n({ legacy: false, locale, messages: { ko, en } });
  wrapper = mount(MetricsPanel, { props: { target }, global: { plugins: [i18n] } });
  await flushPromises();
  return wrapper;
}

describe('charts panel', () => {
  let visibility: DocumentVisibilityState = 'visible';
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
    visibility = 'visible';
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
  });
  afterEach(() => {
    wrapper?.unmount();
    wrapper = null;
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("draws a host's CPU, memory, disk, network and load, leaving the gaps open", async () => {
    fetchMock.mockImplementation(async () => json({ data: { hostSeries: hostSeries(3) } }));
    const w = await mountPanel({ kind: 'host', hostId: 3, label: 'vm-3' }, 'en');
    expect(requests()).toEqual([{ op: 'HostSeries', hostId: 3, window: 'H1' }]);
    expect(w.get('[data-testid="metrics-title"]').text()).toBe('Host vm-3');
    const cpu = w.get('[data-testid="chart-usage-line-cpu"]');
    expect(cpu.attributes('data-points')).toBe('4');
    // Two stretches (before and after the gap), not one line across it.
    expect(cpu.get('path').attributes('d').match(/M/g)).toHaveLength(2);
    const memory = w.get('[data-testid="chart-usage-line-memory"]');
    expect(memory.find('path').exists()).toBe(false);
    expect(memory.findAll('circle')).toHaveLength(1);
    expect(w.get('[data-testid="chart-network-line-in"]').attributes('data-points')).toBe('5');
    expect(w.get('[data-testid="chart-network-legend-in"]').text()).toBe('In 2 kB/s');
    expect(w.get('[data-testid="chart-usage-legend-memory"]').text()).toBe('Memory 55%');
    expect(w.get('[data-testid="chart-load-line-load1"]').attributes('data-points')).toBe('6');
    expect(w.get('[data-testid="chart-network"]').text()).toContain('5 kB/s'); // the axis' round top
    expect(w.find('[data-testid="series-no-data"]').exists()).toBe(false);
  });

  it('says "no data" with the reason when the series are not available, and shows no error', async () => {
    fetchMock.mockImplementation(async () => json({ data: { hostSeries: hostSeries(3, 'H1', false, 'PROMETHEUS_URL is not set') } }));
    const w = await mountPanel({ kind: 'host', hostId: 3, label: 'vm-3' });
    expect(w.get('[data-testid="series-no-data"]').text()).toContain(ko.monitoring.chart.noData);
    expect(w.get('[data-testid="series-reason"]').text()).toContain('PROMETHEUS_URL is not set');
    expect(w.find('[data-testid="series-error"]').exists()).toBe(false);
    expect(w.find('[data-testid="series-charts"]').exists()).toBe(false);
  });

  it('says so when an available series has no point in the window', async () => {
    const none = { ...hostSeries(3), cpu: points([null, null]), memory: points([null]), disk: [], networkIn: [], networkOut: [], load1: [] };
    fetchMock.mockImplementation(async () => json({ data: { hostSeries: none } }));
    const w = await mountPanel({ kind: 'host', hostId: 3, label: 'vm-3' });
    expect(w.get('[data-testid="chart-usage-empty"]').text()).toBe(ko.monitoring.chart.noPoints);
  });

  it('asks again for the chosen window', async () => {
    fetchMock.mockImplementation(async (_i, init) => json({ data: { hostSeries: hostSeries(3, JSON.parse(String(init?.body)).variables.window) } }));
    const w = await mountPanel({ kind: 'host', hostId: 3, label: 'vm-3' });
    await w.get('[data-testid="window-H24"]').trigger('click');
    await flushPromises();
    expect(requests().map((r) => r.window)).toEqual(['H1', 'H24']);
    expect(w.get('[data-testid="series-charts"]').attributes('data-window')).toBe('H24');
    expect(w.get('[data-testid="window-H24"]').attributes('aria-pressed')).toBe('true');
  });

  it("shows a project's hosts one at a time, and says so when it holds none", async () => {
    fetchMock.mockImplementation(async () => json({ data: { projectSeries: [hostSeries(4), hostSeries(5)] } }));
    const w = await mountPanel({ kind: 'project', projectId: 9, label: 'shop' });
    expect(requests()).toEqual([{ op: 'ProjectSeries', projectId: 9, window: 'H1' }]);
    expect(w.findAll('[data-testid^="series-host-"]').map((b) => b.text())).toEqual(['vm-4', 'vm-5']);
    expect(w.get('[data-testid="chart-load-legend-load1"]').text()).toContain('0.4');
    await w.get('[data-testid="series-host-5"]').trigger('click');
    expect(w.get('[data-testid="chart-load-legend-load1"]').text()).toContain('0.5');

    fetchMock.mockImplementation(async () => json({ data: { projectSeries: [] } }));
    await w.setProps({ target: { kind: 'project', projectId: 10, label: 'empty' } });
    await flushPromises();
    expect(w.get('[data-testid="series-no-data"]').text()).toBe(ko.monitoring.chart.noHosts);
  });

  it('refreshes every 15 s while the page is visible, and not while it is hidden', async () => {
    vi.useFakeTimers();
    fetchMock.mockImplementation(async () => json({ data: { hostSeries: hostSeries(3) } }));
    await mountPanel({ kind: 'host', hostId: 3, label: 'vm-3' });
    expect(requests()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(requests()).toHaveLength(2);
    visibility = 'hidden';
    await vi.advanceTimersByTimeAsync(60_000);
    expect(requests()).toHaveLength(2);
    visibility = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    await flushPromises();
    expect(requests()).toHaveLength(3);
  });
});
