// @vitest-environment happy-dom
/**
 * Cancel and retry in the run overlay, over a fake provisionStatus stream and fake mutations:
 * Cancel run asks first, calls cancelProvision, says it is cancelling until the stream brings
 * the CANCELLED status, and ends in "Deployment cancelled"; Retry calls retryProvision and goes
 * on in the same window from the last seq shown — the retry's first line (which still carries
 * CANCELLED) does not end it, and no seq is shown twice or left out. Refusals (a pool without
 * enough free hosts, a conflict) are shown in the window; a project deleted meanwhile says so.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import { createI18n } from 'vue-i18n';
import ProvisionRunOverlay from '../../client/src/components/run/ProvisionRunOverlay.vue';
import { RUN_STORAGE_KEY, useProvisionRun, type CancelRun, type ProvisionRun, type RetryRun, type RunEvent, type SubscribeRun } from '../../client/src/composables/useProvisionRun';
import { ApiError } from '../../client/src/graphql/client';
import type { ProjectStatus } from '../../client/src/graphql/generated/operations';
import type { SubscriptionSink } from '../../client/src/graphql/subscriptions';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';

const PROJECT = 7;
type Step = [kind: RunEvent['kind'], status: ProjectStatus, message?: string | null];
/** The events of project 7 as the server journals them (seq = index + 1). */
const FIRST_RUN: Step[] = [
  ['status', 'PENDING'],
  ['log', 'PENDING', 'Allocating IP...'],
  ['status', 'RUNNING'],
  ['log', 'RUNNING', 'Creating Web tier...'],
];
const CANCEL: Step[] = [
  ['log', 'RUNNING', 'Cancel requested by admin'],
  ['log', 'RUNNING', 'Cancelled; hosts returned to the pool'],
  ['status', 'CANCELLED'],
];
// What retryProvision journals (the first line is written before the status flips back to PENDING), then the new run.
const RETRY: Step[] = [
  ['log', 'CANCELLED', 'Retry #1 requested by admin'],
  ['status', 'PENDING'],
  ['log', 'PENDING', 'Allocating IP...'],
  ['status', 'RUNNING'],
  ['log', 'RUNNING', 'Creating Web tier...'],
  ['resources', 'RUNNING'],
  ['log', 'RUNNING', 'Completed'],
  ['status', 'COMPLETED'],
];
const ALL = [...FIRST_RUN, ...CANCEL, ...RETRY];

const event = (seq: number, steps: Step[] = ALL): { provisionStatus: RunEvent } => {
  const [kind, status, message = null] = steps[seq - 1];
  const data = kind === 'resources' ? { alb_ip: '10.99.0.9', web_url: 'https://shop.mock.example.com', db_vip: 'db', ssh_targets: [] } : null;
  return { provisionStatus: { projectId: PROJECT, seq, kind, status, message, data, at: '2025-01-01T00:00:00Z' } };
};

let opened: { afterSeq: number; sink: SubscriptionSink<{ provisionStatus: RunEvent }>; closed: boolean }[] = [];
const fakeSubscribe: SubscribeRun = (_projectId, afterSeq, sink) => {
  const entry = { afterSeq, sink, closed: false };
  opened.push(entry);
  return () => {
    entry.closed = true;
  };
};
const latest = () => opened[opened.length - 1];
const send = (...seqs: number[]) => seqs.forEach((seq) => latest().sink.next(event(seq)));

const cancelMock = vi.fn<CancelRun>();
const retryMock = vi.fn<RetryRun>();
const project = (extra: Partial<Awaited<ReturnType<RetryRun>>>) => ({
  id: PROJECT,
  serviceName: 'shop',
  status: 'RUNNING' as ProjectStatus,
  lastSeq: 0,
  attempt: 1,
  pendingAction: null,
  assignedIp: null,
  updatedAt: '2025-01-01T00:00:00Z',
  ...extra,
});

let wrapper: VueWrapper | null = null;
let run: ProvisionRun;
const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko, en } });

function mountOverlay() {
  const Host = defineComponent(() => {
    run = useProvisionRun({ subscribe: fakeSubscribe, cancel: cancelMock, retry: retryMock, retryDelayMs: 1 });
    return () => (run.state.open ? h(ProvisionRunOverlay, { run, onClose: () => run.dismiss() }) : h('p', 'closed'));
  });
  wrapper = mount(Host, { global: { plugins: [i18n] }, attachTo: document.body });
  return wrapper;
}

const seqs = (w: VueWrapper) => w.findAll('[data-testid="run-line"]').map((l) => Number(l.attributes('data-seq')));
const has = (w: VueWrapper, testId: string) => w.find(`[data-testid="${testId}"]`).exists();
const text = (w: VueWrapper, testId: string) => w.get(`[data-testid="${testId}"]`).text();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeEach(() => {
  opened = [];
  sessionStorage.clear();
  cancelMock.mockReset();
  retryMock.mockReset();
  i18n.global.locale.value = 'ko';
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

/** Starts project 7 and streams the first run up to RUNNING. */
async function startRunning(): Promise<VueWrapper> {
  const w = mountOverlay();
  run.start(PROJECT, 'shop');
  send(1, 2, 3, 4);
  await flushPromises();
  expect(seqs(w)).toEqual([1, 2, 3, 4]);
  return w;
}

/** From RUNNING, cancels through the button and its confirmation, and streams to CANCELLED. */
async function cancelToEnd(w: VueWrapper): Promise<void> {
  cancelMock.mockResolvedValue(project({ status: 'RUNNING', lastSeq: 5, pendingAction: 'cancel' }));
  await w.get('[data-testid="run-cancel"]').trigger('click');
  await w.get('[data-testid="run-cancel-yes"]').trigger('click');
  await flushPromises();
  send(5, 6, 7);
  await flushPromises();
}

describe('cancelling a run in the overlay', () => {
  it('asks first, calls cancelProvision, says it is cancelling, and ends in "Deployment cancelled" when the stream brings CANCELLED', async () => {
    const w = await startRunning();
    expect(text(w, 'run-cancel')).toBe(ko.run.cancel);

    // Asked first; "Keep running" leaves the run alone.
    await w.get('[data-testid="run-cancel"]').trigger('click');
    expect(text(w, 'run-cancel-confirm')).toContain(ko.run.cancelConfirm);
    expect(document.activeElement?.getAttribute('data-testid')).toBe('run-cancel-keep');
    await w.get('[data-testid="run-cancel-keep"]').trigger('click');
    await flushPromises();
    expect(has(w, 'run-cancel-confirm')).toBe(false);
    expect(cancelMock).not.toHaveBeenCalled();
    expect(document.activeElement?.getAttribute('data-testid')).toBe('run-cancel');
    // Escape also says no.
    await w.get('[data-testid="run-cancel"]').trigger('click');
    await w.get('[role="dialog"]').trigger('keydown', { key: 'Escape' });
    await flushPromises();
    expect(has(w, 'run-cancel-confirm')).toBe(false);
    expect(has(w, 'run-confirm')).toBe(false);
    expect(has(w, 'run-overlay')).toBe(true);

    // Confirmed: a running job stops at its next safe point, so the answer is still RUNNING with a pending cancel.
    cancelMock.mockResolvedValue(project({ status: 'RUNNING', lastSeq: 5, pendingAction: 'cancel' }));
    await w.get('[data-testid="run-cancel"]').trigger('click');
    await w.get('[data-testid="run-cancel-yes"]').trigger('click');
    await flushPromises();
    expect(cancelMock).toHaveBeenCalledTimes(1);
    expect(cancelMock).toHaveBeenCalledWith(PROJECT);
    expect(text(w, 'run-cancelling')).toBe(ko.run.cancelling);
    // The focus stays in the window.
    expect(document.activeElement?.getAttribute('data-testid')).toBe('run-log');
    expect(has(w, 'run-cancel')).toBe(false);
    expect(has(w, 'run-cancelled')).toBe(false);
    expect(latest().closed).toBe(false);

    // The stream: the request, the runner's stop (a line still RUNNING), then the final status.
    send(5, 6);
    await flushPromises();
    expect(has(w, 'run-cancelled')).toBe(false);
    expect(text(w, 'run-status')).toContain(ko.run.statuses.RUNNING);
    send(7, 7);
    await flushPromises();
    expect(seqs(w)).toEqual(range(1, 7));
    expect(text(w, 'run-status')).toContain(ko.run.statuses.CANCELLED);
    expect(text(w, 'run-cancelled')).toContain(ko.run.cancelled);
    expect(text(w, 'run-cancelled')).toContain(ko.run.cancelledHint);
    expect(has(w, 'run-cancelling')).toBe(false);
    expect(has(w, 'run-cancel')).toBe(false);
    expect(has(w, 'run-connection')).toBe(false);
    expect(has(w, 'run-success')).toBe(false);
    expect(has(w, 'run-failure')).toBe(false);
    // Final: the stream is let go, the focus moves to Retry, and the run is kept for a reload as CANCELLED.
    expect(latest().closed).toBe(true);
    expect(opened).toHaveLength(1);
    expect(document.activeElement?.getAttribute('data-testid')).toBe('run-retry');
    expect(JSON.parse(sessionStorage.getItem(RUN_STORAGE_KEY)!)).toMatchObject({ projectId: PROJECT, lastSeq: 7, status: 'CANCELLED', pendingAction: null });

    // A cancelled run is finished: Escape closes it at once.
    await w.get('[role="dialog"]').trigger('keydown', { key: 'Escape' });
    expect(has(w, 'run-overlay')).toBe(false);
  });

  it('has its own message in English', async () => {
    i18n.global.locale.value = 'en';
    const w = await startRunning();
    await cancelToEnd(w);
    expect(text(w, 'run-cancelled')).toContain('Deployment cancelled');
    expect(text(w, 'run-retry')).toBe('Retry');
  });

  it('shows why a cancel was refused, and lets the run go on', async () => {
    const w = await startRunning();
    cancelMock.mockRejectedValue(new ApiError('CONFLICT', 'Project #7 is COMPLETED; only PENDING or RUNNING projects can be cancelled'));
    await w.get('[data-testid="run-cancel"]').trigger('click');
    await w.get('[data-testid="run-cancel-yes"]').trigger('click');
    await flushPromises();
    expect(text(w, 'run-action-error')).toBe(ko.errors.CONFLICT);
    expect(has(w, 'run-cancelling')).toBe(false);
    expect(latest().closed).toBe(false);
  });
});

describe('retrying a run in the overlay', () => {
  it('calls retryProvision and goes on streaming the same project after the last seq shown: no duplicate, no gap, to Deployment Successful', async () => {
    const w = await startRunning();
    await cancelToEnd(w);
    expect(seqs(w)).toEqual(range(1, 7));

    retryMock.mockResolvedValue(project({ status: 'PENDING', lastSeq: 10, attempt: 2 }));
    await w.get('[data-testid="run-retry"]').trigger('click');
    await flushPromises();
    expect(retryMock).toHaveBeenCalledWith(PROJECT);
    // A new subscription, after the last seq shown.
    expect(opened).toHaveLength(2);
    expect(latest().afterSeq).toBe(7);
    expect(latest().closed).toBe(false);
    expect(has(w, 'run-cancelled')).toBe(false);
    expect(text(w, 'run-status')).toContain(ko.run.statuses.PENDING);
    expect(has(w, 'run-cancel')).toBe(true);
    expect(document.activeElement?.getAttribute('data-testid')).toBe('run-cancel');
    expect(run.state.attempt).toBe(2);

    // The retry's first line still carries CANCELLED: it must not end the run again.
    send(8);
    await flushPromises();
    expect(latest().closed).toBe(false);
    expect(has(w, 'run-cancelled')).toBe(false);
    expect(text(w, 'run-status')).toContain(ko.run.statuses.PENDING);

    // Replayed, repeated and out-of-order events are shown once, in order.
    send(7, 10, 9, 8, 11, 13, 12, 14, 14);
    await flushPromises();
    expect(seqs(w)).toEqual(range(1, 14));
    expect(text(w, 'run-status')).toContain(ko.run.statuses.RUNNING);
    send(15);
    await flushPromises();
    expect(seqs(w)).toEqual(range(1, 15));
    expect(w.findAll('[data-testid="run-line"]').filter((l) => l.text().includes('Creating Web tier...'))).toHaveLength(2);
    expect(text(w, 'run-success')).toContain(ko.run.success);
    expect(w.get('[data-testid="run-resources"]').text()).toContain('https://shop.mock.example.com');
    expect(latest().closed).toBe(true);
    expect(opened).toHaveLength(2);
  });

  it('picks a retried run up after a reload from its last seq', async () => {
    let w = await startRunning();
    await cancelToEnd(w);
    retryMock.mockResolvedValue(project({ status: 'PENDING', lastSeq: 10, attempt: 2 }));
    await w.get('[data-testid="run-retry"]').trigger('click');
    await flushPromises();
    send(8, 9, 10, 11);
    await flushPromises();

    w.unmount();
    opened = [];
    w = mountOverlay();
    expect(run.resume()).toBe(true);
    await flushPromises();
    expect(latest().afterSeq).toBe(11);
    expect(run.state.attempt).toBe(2);
    send(11, 12, 13, 14, 15);
    await flushPromises();
    expect(seqs(w)).toEqual(range(1, 15));
    expect(has(w, 'run-success')).toBe(true);
  });

  it('offers Retry on a failed run, and shows a pool without enough free hosts in the window', async () => {
    const failed: Step[] = [...FIRST_RUN, ['error', 'FAILED', 'mock failure at db']];
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    for (let seq = 1; seq <= failed.length; seq++) latest().sink.next(event(seq, failed));
    await flushPromises();
    expect(text(w, 'run-error')).toBe('mock failure at db');
    expect(has(w, 'run-cancel')).toBe(false);

    retryMock.mockRejectedValue(new ApiError('CONFLICT', '3 hosts needed, 1 available', [], null, null, { code: 'CONFLICT', needed: 3, available: 1 }));
    await w.get('[data-testid="run-retry"]').trigger('click');
    await flushPromises();
    expect(text(w, 'run-action-error')).toBe('사용 가능한 호스트가 부족합니다: 3대 필요, 1대 사용 가능');
    expect(text(w, 'run-status')).toContain(ko.run.statuses.FAILED);
    expect(opened).toHaveLength(1);

    i18n.global.locale.value = 'en';
    await flushPromises();
    expect(text(w, 'run-action-error')).toBe('Not enough free hosts: 3 needed, 1 available');
  });
});

describe('a run being deleted', () => {
  it('is still going while DELETING (no cancel), and says the project was deleted once it is gone', async () => {
    const deleting: Step[] = [...FIRST_RUN, ['log', 'RUNNING', 'Delete requested by admin'], ['status', 'DELETING'], ['log', 'DELETING', 'Removing VM web-1']];
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    for (let seq = 1; seq <= deleting.length; seq++) latest().sink.next(event(seq, deleting));
    await flushPromises();
    expect(text(w, 'run-status')).toContain(ko.run.statuses.DELETING);
    expect(has(w, 'run-cancel')).toBe(false);
    expect(has(w, 'run-retry')).toBe(false);
    expect(has(w, 'run-connection')).toBe(true);
    expect(latest().closed).toBe(false);

    // The project is removed: its stream ends, and reopening it finds nothing.
    latest().sink.complete();
    await new Promise((r) => setTimeout(r, 10));
    expect(latest().afterSeq).toBe(7);
    latest().sink.error(new ApiError('NOT_FOUND', 'Not Found'));
    await flushPromises();
    expect(text(w, 'run-deleted')).toContain(ko.run.deleted);
    expect(has(w, 'run-stream-error')).toBe(false);
  });
});
