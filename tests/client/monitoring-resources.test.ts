// @vitest-environment happy-dom
/**
 * The monitoring page's resource list against a fake keyset API of 60 rows: a page at a time,
 * next and previous by cursor, the total; a search (debounced) or a filter starts again from
 * the first page with it; the owner filter only for admins; the page is asked again by the poll.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import ko from '../../client/src/i18n/ko';
import ResourceBrowser from '../../client/src/components/monitoring/ResourceBrowser.vue';

const ROWS = Array.from({ length: 60 }, (_, i) => ({
  kind: i < 40 ? 'host' : 'ssh',
  hostId: i < 40 ? i + 1 : null,
  vmName: i < 40 ? `WK-${i + 1}` : `SSH-${i - 39}`,
  ipAddress: `10.7.0.${i + 1}`,
  infra: i % 2 ? 'aws' : 'vsphere',
  projectId: i < 40 ? null : 100,
  projectName: i < 40 ? '' : 'shop',
  owner: i < 40 ? '' : 'ann',
  status: i < 40 ? 'Available' : 'Running',
  cpuUsage: 0,
  memoryUsage: 0,
  diskUsage: 0,
  hasMetrics: false,
  networkIn: null,
  networkOut: null,
  load1: null,
  uptimeSeconds: null,
}));

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
const calls = () => fetchMock.mock.calls.map(([, init]) => JSON.parse(String(init?.body)).variables);

/** The server's rules in miniature: filters, then the rows after the cursor (`c<index>`), `first` of them. */
function fakeServer() {
  fetchMock.mockImplementation(async (_input, init) => {
    const v = JSON.parse(String(init?.body)).variables;
    const kinds: string[] | null = v.kind == null ? null : [v.kind].flat();
    const search = v.search?.toLowerCase();
    const matching = ROWS.filter(
      (r) =>
        (!kinds || kinds.includes(r.kind)) &&
        (!v.status || r.status === v.status) &&
        (!v.infra || r.infra === v.infra) &&
        (!v.owner || r.owner === v.owner) &&
        (!search || r.vmName.toLowerCase().includes(search) || r.ipAddress.includes(search)),
    );
    const from = v.after ? matching.findIndex((r) => `c${ROWS.indexOf(r)}` === v.after) + 1 : 0;
    const nodes = matching.slice(from, from + v.first);
    return json({ data: { resources: { totalCount: matching.length, nodes, pageInfo: { hasNextPage: from + v.first < matching.length, endCursor: nodes.length ? `c${ROWS.indexOf(nodes.at(-1)!)}` : null } } } });
  });
}

let wrapper: VueWrapper | null = null;
async function mountBrowser(props: Record<string, unknown> = {}) {
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(ResourceBrowser, { props: { kinds: null, title: 'Rows', metricsShown: false, admin: false, charted: null, pageSize: 25, ...props }, global: { plugins: [i18n] } });
  await flushPromises();
  return wrapper;
}
const shownIps = (w: VueWrapper) => w.findAll('tbody tr').map((tr) => tr.attributes('data-testid')!.replace(/^row-\w+-/, ''));

describe('monitoring resource list', () => {
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
    fakeServer();
  });
  afterEach(() => {
    wrapper?.unmount();
    wrapper = null;
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('pages forward and back by cursor, a page at a time, with the total', async () => {
    const w = await mountBrowser();
    expect(shownIps(w)).toEqual(ROWS.slice(0, 25).map((r) => r.ipAddress));
    expect(w.get('[data-testid="resource-total"]').text()).toBe('60행');
    expect(w.get('[data-testid="resource-page"]').text()).toBe('1 / 3 페이지');
    expect(w.get('[data-testid="resource-prev"]').attributes('disabled')).toBeDefined();

    await w.get('[data-testid="resource-next"]').trigger('click');
    await flushPromises();
    expect(shownIps(w)).toEqual(ROWS.slice(25, 50).map((r) => r.ipAddress));
    expect(calls().at(-1)).toMatchObject({ first: 25, after: 'c24' });
    await w.get('[data-testid="resource-next"]').trigger('click');
    await flushPromises();
    expect(shownIps(w)).toEqual(ROWS.slice(50).map((r) => r.ipAddress));
    expect(w.get('[data-testid="resource-page"]').text()).toBe('3 / 3 페이지');
    expect(w.get('[data-testid="resource-next"]').attributes('disabled')).toBeDefined();

    await w.get('[data-testid="resource-prev"]').trigger('click');
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ after: 'c24' });
    expect(shownIps(w)).toEqual(ROWS.slice(25, 50).map((r) => r.ipAddress));
    await w.get('[data-testid="resource-prev"]').trigger('click');
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ after: null });
    expect(shownIps(w)).toEqual(ROWS.slice(0, 25).map((r) => r.ipAddress));
  });

  it('searches after the typing pauses, from the first page, and says when nothing matches', async () => {
    vi.useFakeTimers();
    const w = await mountBrowser();
    await w.get('[data-testid="resource-next"]').trigger('click');
    await flushPromises();
    const before = calls().length;
    await w.get('[data-testid="resource-search"]').setValue('10.7.0.5');
    await w.get('[data-testid="resource-search"]').setValue('10.7.0.55');
    await vi.advanceTimersByTimeAsync(100);
    expect(calls().length).toBe(before); // still typing
    await vi.advanceTimersByTimeAsync(300);
    await flushPromises();
    expect(calls().slice(before)).toEqual([expect.objectContaining({ search: '10.7.0.55', after: null })]);
    expect(shownIps(w)).toEqual(['10.7.0.55']);
    expect(w.get('[data-testid="resource-total"]').text()).toBe('1행');
    expect(w.find('[data-testid="resource-next"]').exists()).toBe(false);

    await w.get('[data-testid="resource-search"]').setValue('no-such-host');
    await vi.advanceTimersByTimeAsync(300);
    await flushPromises();
    expect(w.get('[data-testid="health-empty"]').text()).toBe(ko.monitoring.browser.noMatch);
  });

  it('filters by status and infrastructure at once, from the first page', async () => {
    const w = await mountBrowser();
    await w.get('[data-testid="resource-status"]').setValue('Running');
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ status: 'Running', after: null });
    expect(shownIps(w)).toEqual(ROWS.slice(40).map((r) => r.ipAddress));
    await w.get('[data-testid="resource-infra"]').setValue('aws');
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ status: 'Running', infra: 'aws' });
    expect(w.get('[data-testid="resource-total"]').text()).toBe('10행');
  });

  it('offers the owner filter to admins only', async () => {
    expect((await mountBrowser()).find('[data-testid="resource-owner"]').exists()).toBe(false);
    wrapper!.unmount();
    vi.useFakeTimers();
    const w = await mountBrowser({ admin: true });
    await w.get('[data-testid="resource-owner"]').setValue('ann');
    await vi.advanceTimersByTimeAsync(300);
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ owner: 'ann', after: null });
    expect(w.get('[data-testid="resource-total"]').text()).toBe('20행');
    expect(w.findAll('th').map((th) => th.text())).toContain(ko.monitoring.health.owner);
  });

  it('starts again from the first page when the kinds change, and asks for the page shown again on its poll', async () => {
    vi.useFakeTimers();
    const w = await mountBrowser({ pollMs: 15_000 });
    await w.get('[data-testid="resource-next"]').trigger('click');
    await flushPromises();
    await vi.advanceTimersByTimeAsync(15_000);
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ after: 'c24' });
    await w.setProps({ kinds: ['ssh'] });
    await flushPromises();
    expect(calls().at(-1)).toMatchObject({ kind: ['ssh'], after: null });
    expect(shownIps(w)).toEqual(ROWS.slice(40).map((r) => r.ipAddress));
  });
});
