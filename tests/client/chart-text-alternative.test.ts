// @vitest-environment happy-dom
/**
 * A chart for someone who does not see it: the plot is an image named by the numbers it shows
 * (each line's latest, lowest and highest value), and a data table behind a disclosure lists
 * every point, a gap as a dash.
 */
import { mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createI18n } from 'vue-i18n';
import SeriesChart from '../../client/src/components/monitoring/SeriesChart.vue';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';

const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + i * 60_000).toISOString();
const points = (values: (number | null)[]) => values.map((value, i) => ({ at: at(i), value }));

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

function mountChart(lines: { key: string; label: string; points: { at: string; value: number | null }[] }[], locale: 'ko' | 'en' = 'en') {
  const i18n = createI18n({ legacy: false, locale, messages: { ko, en } });
  wrapper = mount(SeriesChart, { props: { title: 'CPU / memory / disk (%)', unit: 'percent', lines, testid: 'chart-usage' }, global: { plugins: [i18n] } });
  return wrapper;
}

describe('SeriesChart text alternative', () => {
  it('names the plot with each line’s latest, lowest and highest value', () => {
    const w = mountChart([
      { key: 'cpu', label: 'CPU', points: points([12, 40.5, null, 30]) },
      { key: 'memory', label: 'Memory', points: points([61, 62, 63, null]) },
      { key: 'disk', label: 'Disk', points: points([null, null, null, null]) },
    ]);
    const plot = w.get('[data-testid="chart-usage-plot"]');
    expect(plot.attributes('role')).toBe('img');
    expect(plot.attributes('aria-label')).toBe(
      'CPU / memory / disk (%). CPU: latest 30%, lowest 12%, highest 40.5%. Memory: latest 63%, lowest 61%, highest 63%. Disk: no value',
    );
  });

  it('lists every point in a data table, a missing value as a dash, in the page language', () => {
    const w = mountChart(
      [
        { key: 'cpu', label: 'CPU', points: points([12, null, 30]) },
        { key: 'memory', label: '메모리', points: points([61, 62, 63]) },
      ],
      'ko',
    );
    const table = w.get('[data-testid="chart-usage-table"]');
    expect(table.element.tagName).toBe('DETAILS');
    expect(table.get('summary').text()).toBe(ko.monitoring.chart.tableToggle);
    expect(table.get('caption').text()).toBe('CPU / memory / disk (%) 데이터 표');
    const region = table.get('[role="region"]');
    expect(region.attributes('tabindex')).toBe('0');
    expect(region.attributes('aria-label')).toBe('CPU / memory / disk (%) 데이터 표');
    expect(table.findAll('thead th').map((th) => th.text())).toEqual([ko.monitoring.chart.time, 'CPU', '메모리']);
    const rows = table.findAll('tbody tr').map((tr) => tr.findAll('td').map((td) => td.text()));
    expect(rows).toEqual([
      ['12%', '61%'],
      ['—', '62%'],
      ['30%', '63%'],
    ]);
    expect(table.findAll('tbody th[scope="row"]')).toHaveLength(3);
  });

  it('offers no table when there is nothing to show', () => {
    const w = mountChart([{ key: 'cpu', label: 'CPU', points: [] }]);
    expect(w.find('[data-testid="chart-usage-table"]').exists()).toBe(false);
    expect(w.find('[data-testid="chart-usage-empty"]').exists()).toBe(true);
  });
});
