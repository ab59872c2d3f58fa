// @vitest-environment happy-dom
/**
 * The history's live feed after a drop: it is reopened on its own with a growing wait, shows
 * "reconnecting" meanwhile, and once connected again reloads the first page, so a project that
 * appeared while it was down shows up without Refresh. A refused feed stays closed.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope } from 'vue';
import { createI18n } from 'vue-i18n';
import { useHistory, type ChangesSink } from '../../client/src/composables/useHistory';
import { ApiError } from '../../client/src/graphql/client';
import ko from '../../client/src/i18n/ko';
import type { HistoryRow } from '../../client/src/utils/history';
import HistoryView from '../../client/src/views/HistoryView.vue';

/** The subscriptions module, faked: every subscription the view opens, with its client. */
const feeds = vi.hoisted(
  () => [] as { sink: { next(d: unknown): void; error(e: unknown): void; complete(): void }; connect(): void; stopped: boolean; client?: { disposed: boolean } }[],
);
vi.mock('../../client/src/graphql/subscriptions', () => ({
  createSubscriptionClient: () => {
    const listeners = new Set<() => void>();
    return {
      disposed: false,
      on(event: string, listener: () => void) {
        if (event === 'connected') listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async dispose() {
        this.disposed = true;
      },
      /** The socket is open: graphql-ws emits `connected`. */
      fireConnected: () => listeners.forEach((l) => l()),
    };
  },
  subscribe: (client: { disposed: boolean; fireConnected(): void }, _document: unknown, _variables: unknown, sink: (typeof feeds)[number]['sink']) => {
    const feed = { sink, client, connect: () => client.fireConnected(), stopped: false };
    feeds.push(feed);
    return () => {
      feed.stopped = true;
    };
  },
}));

const row = (id: number): HistoryRow => ({
  id,
  serviceName: `svc-${id}`,
  status: 'COMPLETED',
  assignedIp: `10.0.0.${id}`,
  templateType: 'single',
  owner: 'alice',
  infra: 'vsphere',
  config: { template: 'single', traffic: 'low', packages: [] },
  details: {},
  lastSeq: 7,
  attempt: 1,
  pendingAction: null,
  createdAt: '2025-03-04T05:06:07.000Z',
  updatedAt: '2025-03-04T05:07:00.000Z',
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
/** What the server holds: the first page answers with these, newest first. */
let projects: HistoryRow[] = [];
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init?.body)).query)?.[1] ?? '';
const pageLoads = () => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === 'HistoryPage').length;

beforeEach(() => {
  feeds.length = 0;
  projects = [row(3), row(2)];
  fetchMock.mockReset();
  fetchMock.mockImplementation(async (_input, init) => {
    switch (operationOf(init)) {
      case 'HistoryPage':
        return json({ data: { history: { nodes: projects, pageInfo: { endCursor: 'c', hasNextPage: false } } } });
      case 'Catalog':
        return json({ data: { catalog: { regions: {}, instanceTiers: {}, dbEngines: {}, environments: {}, packages: [], traffic: {}, templates: [], mockSteps: [] } } });
      case 'Templates':
        return json({ data: { templates: [] } });
      default:
        return json({ data: null, errors: [{ message: 'unexpected', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    }
  });
  vi.stubGlobal('fetch', fetchMock);
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const drop = (i: number) => feeds[i].sink.error(new ApiError('NETWORK_ERROR', 'socket closed'));

describe('useHistory after the live feed drops', () => {
  function startHistory(options: Parameters<typeof useHistory>[0] = {}) {
    const subscribe = vi.fn((sink: ChangesSink) => {
      const feed = { sink, connect: () => sink.connected(), stopped: false };
      feeds.push(feed);
      return () => {
        feed.stopped = true;
      };
    });
    const scope = effectScope();
    const history = scope.run(() => useHistory({ subscribe, retryDelayMs: 100, maxRetryDelayMs: 400, ...options }))!;
    history.start();
    return { history, subscribe, scope };
  }

  it('resubscribes after a wait, says reconnecting meanwhile, and reloads the first page once connected', async () => {
    const { history, subscribe, scope } = startHistory();
    expect(history.live.value).toBe('connecting');
    feeds[0].connect();
    await flushPromises();
    expect(history.live.value).toBe('live');
    expect(pageLoads()).toBe(1);
    expect(history.rows.value.map((r) => r.id)).toEqual([3, 2]);

    drop(0);
    expect(history.live.value).toBe('reconnecting');
    expect(feeds[0].stopped).toBe(true);
    // While it is down, project 4 is created (its change goes to nobody).
    projects = [row(4), row(3), row(2)];
    await vi.advanceTimersByTimeAsync(99);
    expect(subscribe).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(subscribe).toHaveBeenCalledTimes(2);
    expect(history.live.value).toBe('reconnecting');
    expect(pageLoads()).toBe(1);

    feeds[1].connect();
    await flushPromises();
    expect(history.live.value).toBe('live');
    expect(pageLoads()).toBe(2);
    expect(history.rows.value.map((r) => r.id)).toEqual([4, 3, 2]);

    // Changes of the old feed are ignored; the new one's are applied.
    feeds[0].sink.next({ projectChanges: { id: 3, serviceName: 'svc-3', status: 'FAILED', assignedIp: null, owner: 'alice', infra: 'vsphere', lastSeq: 99, updatedAt: '2025-03-05T00:00:00Z', deleted: false } });
    expect(history.rows.value.find((r) => r.id === 3)?.status).toBe('COMPLETED');
    feeds[1].sink.next({ projectChanges: { id: 3, serviceName: 'svc-3', status: 'FAILED', assignedIp: null, owner: 'alice', infra: 'vsphere', lastSeq: 99, updatedAt: '2025-03-05T00:00:00Z', deleted: false } });
    expect(history.rows.value.find((r) => r.id === 3)?.status).toBe('FAILED');
    scope.stop();
    expect(feeds[1].stopped).toBe(true);
  });

  it('waits longer after each failed try, up to the limit, and starts over once connected', async () => {
    const { subscribe, history, scope } = startHistory();
    const waits: number[] = [];
    /** Drops the newest feed and measures how long until the next one opens. */
    const dropAndMeasure = async () => {
      const before = subscribe.mock.calls.length;
      drop(feeds.length - 1);
      let waited = 0;
      while (subscribe.mock.calls.length === before) {
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
        if (waited > 10_000) throw new Error('never resubscribed');
      }
      waits.push(waited);
    };
    feeds[0].connect();
    for (let i = 0; i < 5; i++) await dropAndMeasure();
    expect(waits).toEqual([100, 200, 400, 400, 400]);
    expect(history.live.value).toBe('reconnecting');
    // A completed stream is a drop too.
    feeds[feeds.length - 1].connect();
    await flushPromises();
    expect(history.live.value).toBe('live');
    feeds[feeds.length - 1].sink.complete();
    expect(history.live.value).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(100);
    expect(subscribe).toHaveBeenCalledTimes(7);
    scope.stop();
  });

  it('stays closed when the server refuses the feed, until Refresh opens it again', async () => {
    const { subscribe, history, scope } = startHistory();
    feeds[0].sink.error(new ApiError('UNAUTHENTICATED', 'the server refused the token'));
    expect(history.live.value).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(subscribe).toHaveBeenCalledTimes(1);

    await history.refresh();
    expect(subscribe).toHaveBeenCalledTimes(2);
    feeds[1].connect();
    await flushPromises();
    expect(history.live.value).toBe('live');
    // Refresh loaded the page itself: connecting did not load it a third time.
    expect(pageLoads()).toBe(2);
    scope.stop();
  });

  it('forgets a pending retry when the page goes away', async () => {
    const { subscribe, scope } = startHistory();
    drop(0);
    scope.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(subscribe).toHaveBeenCalledTimes(1);
  });
});

describe('HistoryView after the live feed drops', () => {
  let wrapper: VueWrapper | null = null;
  afterEach(() => {
    wrapper?.unmount();
    wrapper = null;
  });

  it('shows reconnecting, then live again with the project created meanwhile, without Refresh', async () => {
    const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
    wrapper = mount(HistoryView, { global: { plugins: [i18n] } });
    await flushPromises();
    const w = wrapper;
    const ids = () => w.findAll('tr[data-testid^="history-row-"]').map((tr) => Number(tr.attributes('data-testid')!.slice('history-row-'.length)));
    expect(ids()).toEqual([3, 2]);
    expect(feeds).toHaveLength(1);
    // Not live until the socket says it is connected (the client's `connected` event).
    expect(w.find('[data-testid="live-indicator"]').exists()).toBe(false);
    feeds[0].connect();
    await flushPromises();
    expect(w.get('[data-testid="live-indicator"]').text()).toContain(ko.history.live);

    drop(0);
    projects = [row(5), row(3), row(2)];
    await flushPromises();
    expect(w.find('[data-testid="live-indicator"]').exists()).toBe(false);
    expect(w.get('[data-testid="live-reconnecting"]').text()).toBe(ko.history.reconnecting);
    expect(w.find('[data-testid="live-off"]').exists()).toBe(false);
    // The dropped feed's socket is let go.
    expect(feeds[0].stopped).toBe(true);
    expect(feeds[0].client?.disposed).toBe(true);

    await vi.advanceTimersByTimeAsync(500);
    expect(feeds).toHaveLength(2);
    feeds[1].connect();
    await flushPromises();
    expect(w.get('[data-testid="live-indicator"]').text()).toContain(ko.history.live);
    expect(w.find('[data-testid="live-reconnecting"]').exists()).toBe(false);
    expect(ids()).toEqual([5, 3, 2]);
    expect(pageLoads()).toBe(2);
  });
});
