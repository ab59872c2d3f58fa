// @vitest-environment happy-dom
/**
 * The row actions of /history, mounted with the API mocked: which buttons a row offers for
 * its status and the viewer's role (the owner: cancel PENDING / RUNNING, retry FAILED /
 * CANCELLED; admins also delete, on anyone's rows), disabled while a stop is pending or the
 * project is DELETING; each asks in a dialog, calls its mutation, updates the row, and shows a
 * refusal in the dialog. The status filter offers CANCELLED and DELETING; an expanded row
 * shows the attempt of a retried run.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import { resetCatalogCache } from '../../client/src/composables/useCatalog';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import { rowActions, type HistoryRow } from '../../client/src/utils/history';
import HistoryView from '../../client/src/views/HistoryView.vue';

const session = vi.hoisted(() => ({ username: null as null | { value: string | null }, isAdmin: null as null | { value: boolean } }));
vi.mock('../../client/src/composables/useSession', async () => {
  const { ref: vueRef } = await import('vue');
  session.username = vueRef<string | null>('alice');
  session.isAdmin = vueRef(false);
  return { useSession: () => ({ username: session.username, isAdmin: session.isAdmin }) };
});

/** The subscriptions module, faked: every live feed the page opens, with its sink. */
const feeds = vi.hoisted(() => [] as { variables: unknown; sink: { next(d: unknown): void; error(e: unknown): void; complete(): void } }[]);
vi.mock('../../client/src/graphql/subscriptions', () => ({
  createSubscriptionClient: () => ({ on: () => () => {}, dispose: async () => {} }),
  subscribe: (_client: unknown, _document: unknown, variables: unknown, sink: (typeof feeds)[number]['sink']) => {
    feeds.push({ variables, sink });
    return () => {};
  },
}));

const row = (id: number, status: HistoryRow['status'], extra: Partial<HistoryRow> = {}): HistoryRow => ({
  id,
  serviceName: `svc-${id}`,
  status,
  assignedIp: null,
  templateType: 'single',
  owner: 'alice',
  infra: 'vsphere',
  config: { template: 'single', traffic: 'low', packages: [] },
  details: {},
  lastSeq: 10,
  attempt: 1,
  pendingAction: null,
  createdAt: '2025-03-04T05:06:07.000Z',
  updatedAt: '2025-03-04T05:07:00.000Z',
  ...extra,
});

/** Newest first, one of each case. */
const ROWS = [
  row(9, 'RUNNING', { pendingAction: 'cancel' }),
  row(8, 'DELETING'),
  row(7, 'RUNNING'),
  row(6, 'PENDING'),
  row(5, 'FAILED'),
  row(4, 'CANCELLED', { attempt: 2 }),
  row(3, 'COMPLETED'),
  row(2, 'FAILED', { owner: 'bob' }),
];

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const gqlError = (code: string, message: string, extra: Record<string, unknown> = {}) => json({ data: null, errors: [{ message, extensions: { code, ...extra } }] });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
const bodyOf = (init?: RequestInit) => JSON.parse(String(init?.body));
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(bodyOf(init).query)?.[1] ?? '';
const callsOf = (operation: string) => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === operation).map(([, init]) => bodyOf(init).variables);

const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko, en } });

/** Answers of the mutations, per test. */
let answers: Record<string, (variables: any) => Response> = {};

beforeEach(() => {
  feeds.length = 0;
  answers = {};
  session.username!.value = 'alice';
  session.isAdmin!.value = false;
  i18n.global.locale.value = 'ko';
  resetCatalogCache();
  fetchMock.mockReset();
  fetchMock.mockImplementation(async (_input, init) => {
    const operation = operationOf(init);
    const variables = bodyOf(init).variables;
    if (answers[operation]) return answers[operation](variables);
    switch (operation) {
      case 'HistoryPage':
        return json({ data: { history: { nodes: ROWS, pageInfo: { endCursor: 'c', hasNextPage: false } } } });
      case 'Catalog':
        return json({ data: { catalog: { regions: {}, instanceTiers: {}, dbEngines: {}, environments: {}, packages: [], traffic: {}, templates: [], mockSteps: [] } } });
      case 'Templates':
        return json({ data: { templates: [] } });
      case 'HistoryProject': {
        const base = ROWS.find((r) => r.id === variables.id)!;
        return json({ data: { project: { ...base, logs: ['Allocating IP...'], errorMessage: null, resources: null } } });
      }
      default:
        return gqlError('INTERNAL_SERVER_ERROR', `unexpected ${operation}`);
    }
  });
  vi.stubGlobal('fetch', fetchMock);
});

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.unstubAllGlobals();
});

async function mountHistory(): Promise<VueWrapper> {
  wrapper = mount(HistoryView, { global: { plugins: [i18n] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

/** The actions each row shows: [id, the buttons, which of them are disabled]. */
function actionsShown(w: VueWrapper): [number, string[], string[]][] {
  return w.findAll('tr[data-testid^="history-row-"]').map((tr) => {
    const id = Number(tr.attributes('data-testid')!.slice('history-row-'.length));
    const buttons = tr.findAll('.col-action button');
    const name = (b: (typeof buttons)[number]) => b.attributes('data-testid')!.replace(`-${id}`, '');
    return [id, buttons.map(name), buttons.filter((b) => b.attributes('disabled') !== undefined).map(name)];
  });
}

const has = (w: VueWrapper, testId: string) => w.find(`[data-testid="${testId}"]`).exists();
const click = async (w: VueWrapper, testId: string) => {
  await w.get(`[data-testid="${testId}"]`).trigger('click');
  await flushPromises();
};
const change = (id: number, status: HistoryRow['status'], lastSeq: number) => ({
  projectChanges: { id, serviceName: `svc-${id}`, status, assignedIp: null, owner: 'alice', infra: 'vsphere', lastSeq, updatedAt: '2025-03-04T06:00:00.000Z', deleted: false },
});

describe('which actions a history row offers', () => {
  it('gives the owner cancel on PENDING / RUNNING and retry on FAILED / CANCELLED, disabled while a stop is pending, and no delete', async () => {
    const w = await mountHistory();
    expect(actionsShown(w)).toEqual([
      [9, ['cancel'], ['cancel']],
      [8, [], []],
      [7, ['cancel'], []],
      [6, ['cancel'], []],
      [5, ['retry'], []],
      [4, ['retry'], []],
      [3, [], []],
      // Not hers (a user's list never holds one, but the rule is by owner).
      [2, [], []],
    ]);
    expect(w.get('[data-testid="pending-action-9"]').text()).toBe(ko.history.actions.pendingCancel);
    expect(w.findAll('[data-testid^="delete-"]')).toHaveLength(0);
    expect(w.get('[data-testid="cancel-7"]').text()).toBe(ko.history.actions.cancel);
    expect(w.get('[data-testid="cancel-7"]').attributes('aria-label')).toBe('#7 실행 취소');
    expect(w.get('[data-testid="retry-5"]').text()).toBe(ko.history.actions.retry);
  });

  it('gives an admin the same on every row, plus delete, disabled while DELETING or a stop is pending', async () => {
    session.isAdmin!.value = true;
    session.username!.value = 'admin';
    const w = await mountHistory();
    expect(actionsShown(w)).toEqual([
      [9, ['cancel', 'delete'], ['cancel', 'delete']],
      [8, ['delete'], ['delete']],
      [7, ['cancel', 'delete'], []],
      [6, ['cancel', 'delete'], []],
      [5, ['retry', 'delete'], []],
      [4, ['retry', 'delete'], []],
      [3, ['delete'], []],
      [2, ['retry', 'delete'], []],
    ]);
  });

  it('follows the rule in rowActions', () => {
    const alice = { username: 'alice', isAdmin: false };
    expect(rowActions(row(1, 'RUNNING'), alice)).toEqual({ cancel: true, retry: false, delete: false, disabled: false });
    expect(rowActions(row(1, 'RUNNING', { owner: 'bob' }), alice)).toEqual({ cancel: false, retry: false, delete: false, disabled: false });
    expect(rowActions(row(1, 'CANCELLED'), { username: null, isAdmin: true })).toEqual({ cancel: false, retry: true, delete: true, disabled: false });
    expect(rowActions(row(1, 'RUNNING', { pendingAction: 'delete' }), alice).disabled).toBe(true);
  });

  it('offers CANCELLED and DELETING in the status filter', async () => {
    const w = await mountHistory();
    const options = w.get('[data-testid="filter-status"]').findAll('option').map((o) => o.text());
    expect(options).toEqual([ko.history.all, 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETING']);
    await w.get('[data-testid="filter-status"]').setValue('CANCELLED');
    await flushPromises();
    expect(callsOf('HistoryPage').at(-1)).toMatchObject({ status: 'CANCELLED' });
  });
});

describe('history row actions', () => {
  it('cancels after a confirmation: cancelProvision, the pending cancel on the row, then CANCELLED live, with Retry', async () => {
    answers.CancelProvision = ({ id }) => json({ data: { cancelProvision: { id, status: 'RUNNING', lastSeq: 11, attempt: 1, pendingAction: 'cancel', updatedAt: '2025-03-04T06:00:00.000Z' } } });
    const w = await mountHistory();
    await click(w, 'cancel-7');
    expect(w.get('[data-testid="action-dialog"]').text()).toContain('#7의 실행을 취소할까요?');
    expect(w.get('[data-testid="action-dialog"]').text()).toContain('svc-7');
    // Focus starts on Back; Back closes without a call.
    expect(document.activeElement?.getAttribute('data-testid')).toBe('action-back');
    await click(w, 'action-back');
    expect(has(w, 'action-dialog')).toBe(false);
    expect(callsOf('CancelProvision')).toEqual([]);

    await click(w, 'cancel-7');
    await click(w, 'action-confirm');
    expect(callsOf('CancelProvision')).toEqual([{ id: 7 }]);
    expect(has(w, 'action-dialog')).toBe(false);
    expect(w.get('[data-testid="pending-action-7"]').text()).toBe(ko.history.actions.pendingCancel);
    expect(w.get('[data-testid="cancel-7"]').attributes('disabled')).toBeDefined();

    // The runner stops at its next safe point: the row goes CANCELLED live and offers Retry.
    feeds[0].sink.next(change(7, 'CANCELLED', 13));
    await flushPromises();
    expect(w.get('[data-testid="history-row-7"]').attributes('data-status')).toBe('CANCELLED');
    expect(w.get('[data-testid="history-row-7"]').get('[data-testid="status-badge"]').attributes('data-tone')).toBe('slate');
    expect(has(w, 'pending-action-7')).toBe(false);
    expect(has(w, 'cancel-7')).toBe(false);
    expect(w.get('[data-testid="retry-7"]').attributes('disabled')).toBeUndefined();
  });

  it('retries after a confirmation: retryProvision, the row runs again as its next attempt', async () => {
    answers.RetryProvision = ({ id }) =>
      json({ data: { retryProvision: { id, serviceName: `svc-${id}`, status: 'PENDING', lastSeq: 14, attempt: 3, pendingAction: null, assignedIp: null, updatedAt: '2025-03-04T06:00:00.000Z' } } });
    const w = await mountHistory();
    await click(w, 'retry-4');
    expect(w.get('[data-testid="action-dialog"]').text()).toContain('#4를 다시 시도할까요?');
    // Attempt 2 was the last one: this is the third.
    expect(w.get('[data-testid="action-dialog"]').text()).toContain('3번째 시도');
    await click(w, 'action-confirm');
    expect(callsOf('RetryProvision')).toEqual([{ id: 4 }]);
    expect(has(w, 'action-dialog')).toBe(false);
    expect(w.get('[data-testid="history-row-4"]').attributes('data-status')).toBe('PENDING');
    expect(has(w, 'retry-4')).toBe(false);
    expect(has(w, 'cancel-4')).toBe(true);
  });

  it('shows a refusal in the dialog and leaves the row as it was: a pool without enough free hosts, a conflict', async () => {
    answers.RetryProvision = () => gqlError('CONFLICT', '3 hosts needed, 1 available', { needed: 3, available: 1 });
    answers.CancelProvision = () => gqlError('CONFLICT', 'Project #6 is COMPLETED; only PENDING or RUNNING projects can be cancelled');
    const w = await mountHistory();

    await click(w, 'retry-5');
    await click(w, 'action-confirm');
    expect(callsOf('RetryProvision')).toEqual([{ id: 5 }]);
    expect(w.get('[data-testid="action-error"]').text()).toBe('사용 가능한 호스트가 부족합니다: 3대 필요, 1대 사용 가능');
    expect(w.get('[data-testid="action-error"]').attributes('role')).toBe('alert');
    expect(has(w, 'action-dialog')).toBe(true);
    expect(w.get('[data-testid="history-row-5"]').attributes('data-status')).toBe('FAILED');
    i18n.global.locale.value = 'en';
    await flushPromises();
    expect(w.get('[data-testid="action-error"]').text()).toBe('Not enough free hosts: 3 needed, 1 available');
    i18n.global.locale.value = 'ko';
    await click(w, 'action-back');

    await click(w, 'cancel-6');
    await click(w, 'action-confirm');
    expect(w.get('[data-testid="action-error"]').text()).toBe(ko.errors.CONFLICT);
    expect(has(w, 'pending-action-6')).toBe(false);
  });
});

describe('an expanded history row', () => {
  it('shows the attempt of a retried run, and none for a first run', async () => {
    const w = await mountHistory();
    await click(w, 'expand-4');
    expect(w.get('[data-testid="details-4"]').get('[data-testid="details-attempt"]').text()).toBe('2번째 시도');
    await click(w, 'expand-3');
    expect(w.get('[data-testid="details-3"]').find('[data-testid="details-logs"]').exists()).toBe(true);
    expect(w.get('[data-testid="details-3"]').find('[data-testid="details-attempt"]').exists()).toBe(false);
  });

  it('follows a CANCELLED run no more (it is final), and a DELETING one live', async () => {
    const w = await mountHistory();
    await click(w, 'expand-4');
    await click(w, 'expand-8');
    const followed = feeds.slice(1).map((f) => f.variables);
    expect(followed).toEqual([{ projectId: 8, afterSeq: 10 }]);
    expect(w.get('[data-testid="details-8"]').find('[data-testid="details-following"]').exists()).toBe(true);
    expect(w.get('[data-testid="details-4"]').find('[data-testid="details-following"]').exists()).toBe(false);
  });
});
