// @vitest-environment happy-dom
/**
 * What a screen reader hears without looking: the throttled announcer (at most one polite
 * announcement every 2 s, summarizing what arrived meanwhile), the run overlay's progress and
 * outcome regions, and the session timer's warning, said once and not at every tick.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, effectScope, h } from 'vue';
import { createI18n } from 'vue-i18n';
import ProvisionRunOverlay from '../../client/src/components/run/ProvisionRunOverlay.vue';
import SessionTimer from '../../client/src/components/layout/SessionTimer.vue';
import { useProvisionRun, type ProvisionRun, type RunEvent, type SubscribeRun } from '../../client/src/composables/useProvisionRun';
import { useThrottledAnnouncer } from '../../client/src/composables/useThrottledAnnouncer';
import { saveSession } from '../../client/src/graphql/auth-token';
import type { SubscriptionSink } from '../../client/src/graphql/subscriptions';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';

const i18n = (locale: 'ko' | 'en' = 'ko') => createI18n({ legacy: false, locale, messages: { ko, en } });

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.useRealTimers();
});

describe('useThrottledAnnouncer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  function announcer() {
    const scope = effectScope();
    const a = scope.run(() => useThrottledAnnouncer<string>((items) => (items.length === 1 ? items[0] : `${items.length} new, last ${items[items.length - 1]}`), 2000))!;
    return { a, stop: () => scope.stop() };
  }

  it('says the first item at once, then gathers the rest into one summary per 2 s', () => {
    const { a, stop } = announcer();
    a.push('one');
    expect(a.message.value).toBe('one');

    // Fifty lines in the next second: nothing more is said until the interval ends.
    for (let i = 2; i <= 51; i++) {
      vi.advanceTimersByTime(20);
      a.push(`line ${i}`);
    }
    expect(a.message.value).toBe('one');
    vi.advanceTimersByTime(2000 - 50 * 20 - 1);
    expect(a.message.value).toBe('one');
    vi.advanceTimersByTime(1);
    expect(a.message.value).toBe('50 new, last line 51');

    // Quiet for a while: the next item is said at once again.
    vi.advanceTimersByTime(5000);
    a.push('late');
    expect(a.message.value).toBe('late');
    stop();
  });

  it('makes a repeated summary a different text so it is spoken again', () => {
    const { a, stop } = announcer();
    a.push('same');
    vi.advanceTimersByTime(2500);
    a.push('same');
    expect(a.message.value).toBe('same\u00a0');
    vi.advanceTimersByTime(2500);
    a.push('same');
    expect(a.message.value).toBe('same');
    stop();
  });

  it('drops what it gathered when cancelled, and stops its timer when its scope ends', () => {
    const { a, stop } = announcer();
    a.push('first');
    a.push('gathered');
    a.cancel();
    vi.advanceTimersByTime(3000);
    expect(a.message.value).toBe('first');

    a.push('next');
    expect(a.message.value).toBe('next');
    a.push('never said');
    stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(a.message.value).toBe('next');
  });
});

const PROJECT = 9;
const STEPS: Omit<RunEvent, 'projectId' | 'at'>[] = [
  { seq: 1, kind: 'log', status: 'PENDING', message: 'Allocating IP...', data: null },
  { seq: 2, kind: 'status', status: 'RUNNING', message: null, data: null },
  { seq: 3, kind: 'log', status: 'RUNNING', message: 'Creating Web tier...', data: null },
  { seq: 4, kind: 'log', status: 'RUNNING', message: 'Creating DB tier...', data: null },
  { seq: 5, kind: 'log', status: 'RUNNING', message: 'Configuring ALB...', data: null },
  { seq: 6, kind: 'status', status: 'COMPLETED', message: null, data: null },
];

describe('ProvisionRunOverlay announcements', () => {
  let sink: SubscriptionSink<{ provisionStatus: RunEvent }>;
  let run: ProvisionRun;
  const subscribe: SubscribeRun = (_projectId, _afterSeq, s) => {
    sink = s;
    return () => undefined;
  };
  const send = (seq: number, patch: Partial<RunEvent> = {}) => sink.next({ provisionStatus: { ...STEPS[seq - 1], projectId: PROJECT, at: '2025-01-01T00:00:00Z', ...patch } });

  function mountOverlay(locale: 'ko' | 'en' = 'en') {
    const Host = defineComponent(() => {
      run = useProvisionRun({ subscribe, retryDelayMs: 1 });
      return () => (run.state.open ? h(ProvisionRunOverlay, { run, onClose: () => run.dismiss() }) : h('p', 'closed'));
    });
    wrapper = mount(Host, { global: { plugins: [i18n(locale)] }, attachTo: document.body });
    return wrapper;
  }
  const progress = (w: VueWrapper) => w.get('[data-testid="run-progress-announcement"]');
  const outcome = (w: VueWrapper) => w.get('[data-testid="run-outcome-announcement"]');

  beforeEach(() => {
    sessionStorage.clear();
    vi.useFakeTimers();
  });

  it('reads the first line at once and the burst after it as one polite summary two seconds later', async () => {
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    await flushPromises();
    expect(progress(w).attributes('aria-live')).toBe('polite');
    expect(progress(w).text()).toBe('');

    send(1);
    await flushPromises();
    expect(progress(w).text()).toBe('Allocating IP...');

    for (const seq of [2, 3, 4, 5]) send(seq);
    await flushPromises();
    expect(progress(w).text()).toBe('Allocating IP...');
    vi.advanceTimersByTime(2000);
    await flushPromises();
    expect(progress(w).text()).toBe('4 new log lines, status Running. Latest: Configuring ALB...');
    expect(outcome(w).text()).toBe('');
  });

  it('announces the outcome assertively, in place of a summary still waiting', async () => {
    const w = mountOverlay('ko');
    run.start(PROJECT, 'shop');
    send(1);
    await flushPromises();
    for (const seq of [2, 3, 4, 5, 6]) send(seq);
    await flushPromises();
    expect(outcome(w).attributes('aria-live')).toBe('assertive');
    expect(outcome(w).text()).toBe(`${ko.run.success}. ${ko.run.successHint}`);
    vi.advanceTimersByTime(5000);
    await flushPromises();
    // The gathered lines are not read after the outcome.
    expect(progress(w).text()).toBe('');
  });

  it('announces a failure with its error', async () => {
    const w = mountOverlay();
    run.start(PROJECT, 'shop');
    send(1);
    sink.next({ provisionStatus: { seq: 2, kind: 'error', status: 'FAILED', message: 'DB tier timed out', data: null, projectId: PROJECT, at: '2025-01-01T00:00:00Z' } });
    await flushPromises();
    expect(outcome(w).text()).toContain(en.run.failed);
    expect(outcome(w).text()).toContain('DB tier timed out');
  });
});

describe('SessionTimer announcement', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T09:00:00Z'));
  });
  afterEach(() => saveSession(null));

  it('says the warning once when five minutes are left, not at every tick', async () => {
    saveSession({ token: 't', username: 'mona', expiresAt: Date.now() + 5 * 60_000 + 3_000 });
    wrapper = mount(SessionTimer, { global: { plugins: [i18n('en')] } });
    const region = wrapper.get('[data-testid="session-warning"]');
    expect(region.attributes('role')).toBe('status');
    expect(region.text()).toBe('');
    // The timer itself is not a live region that would speak every second.
    expect(wrapper.get('[data-testid="session-timer"]').attributes('aria-live')).toBeUndefined();

    const seen = new Set<string>();
    for (let s = 0; s < 90; s++) {
      vi.advanceTimersByTime(1000);
      await flushPromises();
      seen.add(region.text());
    }
    expect([...seen].filter(Boolean)).toEqual(['Your session ends in 5 min. Choose Extend to stay signed in.']);
    expect(wrapper.get('[data-testid="session-timer"]').classes()).toContain('warning');
  });

  it('clears the warning when the session is extended', async () => {
    saveSession({ token: 't', username: 'mona', expiresAt: Date.now() + 60_000 });
    wrapper = mount(SessionTimer, { global: { plugins: [i18n('ko')] } });
    vi.advanceTimersByTime(1000);
    await flushPromises();
    expect(wrapper.get('[data-testid="session-warning"]').text()).toContain('1분');
    saveSession({ token: 't2', username: 'mona', expiresAt: Date.now() + 60 * 60_000 });
    vi.advanceTimersByTime(1000);
    await flushPromises();
    expect(wrapper.get('[data-testid="session-warning"]').text()).toBe('');
  });
});
