// @vitest-environment happy-dom
/**
 * Statuses that do not rely on colour (WCAG 1.4.1): every tone of a project's status badge
 * carries the status in words, the live feed's states say what they are (the dot is
 * decoration, hidden from screen readers), alarms name their kind and severity in text, and
 * the step indicator marks the current step with aria-current.
 */
import { mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createI18n } from 'vue-i18n';
import LiveStatus from '../../client/src/components/history/LiveStatus.vue';
import StatusBadge from '../../client/src/components/history/StatusBadge.vue';
import StepIndicator from '../../client/src/components/layout/StepIndicator.vue';
import AlarmList from '../../client/src/components/monitoring/AlarmList.vue';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import type { Alarm } from '../../client/src/utils/monitoring';

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});
const mountWith = (component: unknown, props: Record<string, unknown>, locale: 'ko' | 'en' = 'en') => {
  wrapper = mount(component as never, { props, global: { plugins: [createI18n({ legacy: false, locale, messages: { ko, en } })] } });
  return wrapper;
};

/** The text a screen reader reads: everything not hidden with aria-hidden. */
function spoken(el: Element): string {
  const parts: string[] = [];
  const walk = (node: Node) => {
    if (node.nodeType === 3) parts.push(node.textContent ?? '');
    else if (node.nodeType === 1 && (node as Element).getAttribute('aria-hidden') !== 'true') node.childNodes.forEach(walk);
  };
  walk(el);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

describe('statuses in words', () => {
  it('gives every tone of the status badge its status as text', () => {
    const tones = new Set<string>();
    for (const status of ['COMPLETED', 'RUNNING', 'FAILED', 'CANCELLED', 'DELETING', 'PENDING']) {
      const w = mountWith(StatusBadge, { status });
      const badge = w.get('[data-testid="status-badge"]');
      expect(spoken(badge.element)).toBe(status);
      tones.add(badge.attributes('data-tone')!);
      w.unmount();
      wrapper = null;
    }
    // Five colours, and each one also has its word.
    expect([...tones].sort()).toEqual(['amber', 'green', 'grey', 'red', 'slate']);
  });

  it('says the live feed’s state in words, the dot only decoration', () => {
    expect(spoken(mountWith(LiveStatus, { state: 'live' }).element)).toBe(en.history.live);
    wrapper!.unmount();
    const reconnecting = mountWith(LiveStatus, { state: 'reconnecting' });
    expect(reconnecting.get('[data-testid="live-reconnecting"]').attributes('role')).toBe('status');
    expect(spoken(reconnecting.element)).toBe(en.history.reconnecting);
    wrapper!.unmount();
    expect(spoken(mountWith(LiveStatus, { state: 'closed' }).element)).toBe(en.history.liveOff);
  });

  it('names each alarm’s kind and severity in text', () => {
    const alarms: Alarm[] = [
      { kind: 'failedRun', key: 'f', projectId: 1, serviceName: 'shop', message: 'db timed out', at: '2026-01-01T00:00:00Z' },
      { kind: 'hostAlert', key: 'a', name: 'HighCpu', severity: 'warning', vmName: 'vm-1', ipAddress: '10.0.0.1', since: null, summary: 'CPU above 90%' },
      { kind: 'unreachableHost', key: 'u', vmName: 'vm-2', ipAddress: '10.0.0.2', projectName: 'shop' },
    ];
    const w = mountWith(AlarmList, { alarms });
    const items = w.findAll('[data-testid="alarm-list"] li').map((li) => spoken(li.element));
    expect(items[0]).toContain('Provisioning of shop failed');
    expect(items[1]).toContain('warning');
    expect(items[1]).toContain('HighCpu on vm-1 (10.0.0.1)');
    expect(items[2]).toContain('vm-2 (10.0.0.2) unreachable');
  });

  it('marks the current step with aria-current, inside a named navigation landmark', () => {
    const w = mountWith(StepIndicator, { current: 2 }, 'ko');
    expect(w.element.tagName).toBe('NAV');
    expect(w.attributes('aria-label')).toBe(ko.steps.label);
    const current = w.findAll('[aria-current="step"]');
    expect(current).toHaveLength(1);
    expect(current[0].text()).toContain(ko.steps.configure);
  });
});
