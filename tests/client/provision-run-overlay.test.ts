// @vitest-environment happy-dom
/**
 * The run overlay over a fake provisionStatus stream: events are shown in seq order exactly
 * once whatever order (and however often) they arrive, a dropped connection is reopened after
 * the last seq, and a reload picks the run up from sessionStorage without a gap or duplicate.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createI18n } from 'vue-i18n';
import ProvisionRunOverlay from '../../client/src/components/run/ProvisionRunOverlay.vue';
import { RUN_STORAGE_KEY, useProvisionRun, type ProvisionRun, type RunEvent, type SubscribeRun } from '../../client/src/composables/useProvisionRun';
import { ApiError } from '../../client/src/graphql/client';
import type { SubscriptionSink } from '../../client/src/graphql/subscriptions';
import ko from '../../client/src/i18n/ko';

const PROJECT = 7;
const STEPS: Omit<RunEvent, 'projectId' | 'at'>[] = [
  { seq: 1, kind: 'log', status: 'PENDING', message: 'Allocating IP...', data: null },
  { seq: 2, kind: 'status', status: 'RUNNING', message: null, data: null },
  { seq: 3, kind: 'log', status: 'RUNNING', message: 'Creating Web tier...', data: null },
  { seq: 4, kind: 'log', status: 'RUNNING', message: 'Creating DB tier...', data: null },
  { seq: 5, kind: 'resources', status: 'RUNNING', message: null, data: { alb_ip: '10.99.0.7', web_url: 'https://shop.mock.example.com', db_vip: 'db-shop.vip.mock.local', ssh_targets: [{ host: '10.99.0.7', port: 22, user: 'ubuntu' }] } },
  { seq: 6, kind: 'log', status: 'RUNNING', message: 'Completed', data: null },
  { seq: 7, kind: 'status', status: 'COMPLETED', message: null, data: null },
];
const event = (seq: number): { provisionStatus: RunEvent } => ({ provisionStatus: { ...STEPS[seq - 1], projectId: PROJECT, at: '2025-01-01T00:00:00Z' } });

/** Every subscription the run opened, with its afterSeq and its sink. */
let opened: { afterSeq: number; sink: SubscriptionSink<{ provisionStatus: RunEvent }>; closed: boolean }[] = [];
const fakeSubscribe: SubscribeRun = (_projectId, afterSeq, sink) => {
  const entry = { afterSeq, sink, closed: false };
  opened.push(entry);
  return () => {
    entry.closed = true;
  };
};
const latest = () => opened[opened.length - 1];

let wrapper: VueWrapper | null = null;
let run: ProvisionRun;

function mountOverlay() {
  const Host = defineComponent(() => {
    run = useProvisionRun({ subscribe: fakeSubscribe, retryDelayMs: 1 });
    return () => (run.state.open ? h(ProvisionRunOverlay, { run, onClose: () => run.dismiss() }) : h('p', 'closed'));
  });
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(Host, { global: { plugins: [i18n] }, attachTo: document.body });
  return wrapper;
}

const seqs = (w: VueWrapper) => w.findAll('[data-testid="run-line"]').map((l) => Number(l.attributes('data-seq')));
const texts = (w: VueWrapper) => w.findAll('[data-testid="run-line"]').map((l) => l.text());
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(() => {
  opened = [];
  sessionStorage.clear();
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

describe('ProvisionRunOverlay with useProvisionRun', () => {
  it('shows events in seq order exactly once, however they arrive, and ends in Deployment Successful', async () => {
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    await flushPromises();
    expect(opened).toHaveLength(1);
    expect(latest().afterSeq).toBe(0);
    expect(w.get('[data-testid="run-service"]').text()).toBe('shop (#7)');

    for (const seq of [1, 3, 2, 2, 1, 4, 6, 5, 3]) latest().sink.next(event(seq));
    await flushPromises();
    expect(seqs(w)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(texts(w)[0]).toContain('Allocating IP...');
    expect(texts(w)[1]).toContain('RUNNING');
    expect(texts(w)[4]).toContain(ko.run.resourcesLine);
    expect(w.get('[data-testid="run-status"]').text()).toContain(ko.run.statuses.RUNNING);
    expect(w.get('[data-testid="run-resources"]').text()).toContain('https://shop.mock.example.com');
    expect(w.find('[data-testid="run-success"]').exists()).toBe(false);

    latest().sink.next(event(7));
    latest().sink.next(event(7));
    await flushPromises();
    expect(seqs(w)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(w.get('[data-testid="run-success"]').text()).toContain('Deployment Successful');
    expect(latest().closed).toBe(true);
  });

  it('reopens a dropped stream after the last seq it showed, with no gap and no duplicate', async () => {
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    for (const seq of [1, 2, 3]) latest().sink.next(event(seq));
    latest().sink.error(new ApiError('NETWORK_ERROR', 'socket closed'));
    await flushPromises();
    expect(w.get('[data-testid="run-connection"]').text()).toBe(ko.run.connection.reconnecting);
    await wait(10);
    expect(opened).toHaveLength(2);
    expect(latest().afterSeq).toBe(3);
    // The server replays after 3; a late duplicate of 3 from anywhere is ignored.
    for (const seq of [3, 4, 5, 6, 7]) latest().sink.next(event(seq));
    await flushPromises();
    expect(seqs(w)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(texts(w).filter((t) => t.includes('Creating Web tier...'))).toHaveLength(1);

    // A stream that completes before the final status is reopened too.
    opened = [];
    run.start(PROJECT + 1, 'other');
    latest().sink.next({ provisionStatus: { ...event(1).provisionStatus, projectId: PROJECT + 1 } });
    latest().sink.complete();
    await wait(10);
    expect(latest().afterSeq).toBe(1);
  });

  it('resumes a run kept in sessionStorage after a reload, from its lastSeq', async () => {
    let w = mountOverlay();
    run.start(PROJECT, 'shop');
    for (const seq of [1, 2, 3, 4]) latest().sink.next(event(seq));
    await flushPromises();
    expect(JSON.parse(sessionStorage.getItem(RUN_STORAGE_KEY)!)).toMatchObject({ projectId: PROJECT, lastSeq: 4 });

    // "Reload": a new page picks the run up.
    w.unmount();
    opened = [];
    w = mountOverlay();
    expect(run.resume()).toBe(true);
    await flushPromises();
    expect(opened).toHaveLength(1);
    expect(latest().afterSeq).toBe(4);
    expect(seqs(w)).toEqual([1, 2, 3, 4]);
    for (const seq of [4, 5, 6, 7]) latest().sink.next(event(seq));
    await flushPromises();
    expect(seqs(w)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(w.find('[data-testid="run-success"]').exists()).toBe(true);
  });

  it('shows the error of a failed run, and Escape asks before closing a run that is still going', async () => {
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    for (const seq of [1, 2]) latest().sink.next(event(seq));
    await flushPromises();
    const dialog = w.get('[role="dialog"]');
    expect(dialog.attributes('aria-modal')).toBe('true');
    await dialog.trigger('keydown', { key: 'Escape' });
    expect(w.find('[data-testid="run-confirm"]').exists()).toBe(true);
    await dialog.trigger('keydown', { key: 'Escape' });
    expect(w.find('[data-testid="run-confirm"]').exists()).toBe(false);
    expect(w.find('[data-testid="run-overlay"]').exists()).toBe(true);

    latest().sink.next({ provisionStatus: { projectId: PROJECT, seq: 3, kind: 'error', status: 'FAILED', message: 'mock failure at db', data: null, at: '' } });
    await flushPromises();
    expect(w.get('[data-testid="run-error"]').text()).toBe('mock failure at db');
    expect(w.get('[data-testid="run-status"]').text()).toContain(ko.run.statuses.FAILED);
    await w.get('[role="dialog"]').trigger('keydown', { key: 'Escape' });
    expect(w.find('[data-testid="run-overlay"]').exists()).toBe(false);
    expect(sessionStorage.getItem(RUN_STORAGE_KEY)).toBeNull();
  });
});
