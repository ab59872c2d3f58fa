// @vitest-environment happy-dom
/**
 * The console's keyboard patterns (issue 19, item 2), in a DOM: the three tab lists follow the
 * WAI-ARIA tabs pattern (one Tab stop, arrows, Home and End select and focus, each tab controls
 * a labelled panel), the topology map's parts are one Tab stop walked with the arrows, and a
 * dialog takes the focus, keeps it and gives it back to its opener.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h, provide, ref, shallowRef } from 'vue';
import { createI18n } from 'vue-i18n';
import ModalDialog from '../../client/src/components/ModalDialog.vue';
import ConfirmDeleteDialog from '../../client/src/components/history/ConfirmDeleteDialog.vue';
import DesignPreviewTabs from '../../client/src/components/main-ui/DesignPreviewTabs.vue';
import TopologyMap from '../../client/src/components/main-ui/TopologyMap.vue';
import { DESIGN_CONTEXT, type DesignContext } from '../../client/src/components/main-ui/design-context';
import PreferencesMenu from '../../client/src/components/layout/PreferencesMenu.vue';
import TerminalDock from '../../client/src/components/terminal/TerminalDock.vue';
import { useFocusKeeper } from '../../client/src/composables/useFocusKeeper';
import { useTerminals } from '../../client/src/composables/useTerminals';
import en from '../../client/src/i18n/en';
import { i18n as consoleI18n } from '../../client/src/i18n';
import ko from '../../client/src/i18n/ko';
import { rovingIndex } from '../../client/src/utils/roving-focus';
import MonitoringView from '../../client/src/views/MonitoringView.vue';

vi.mock('../../client/src/composables/useSession', async () => {
  const { ref } = await import('vue');
  return { useSession: () => ({ isAdmin: ref(false), data: ref({ username: 'mona', role: 'user' }) }) };
});

const i18n = (locale: 'ko' | 'en' = 'ko') => createI18n({ legacy: false, locale, messages: { ko, en } });
let wrapper: VueWrapper | null = null;
const mounted = <T extends VueWrapper>(w: T): T => {
  wrapper = w;
  return w;
};

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  document.body.innerHTML = '';
  vi.unstubAllGlobals();
});

const press = async (el: Element, key: string, shiftKey = false) => {
  const event = new KeyboardEvent('keydown', { key, shiftKey, bubbles: true, cancelable: true });
  el.dispatchEvent(event);
  await flushPromises();
  return event;
};
const active = () => document.activeElement as HTMLElement | null;

/** Checks the tabs pattern on the tab list found in the document: returns the tab ids seen. */
async function expectTabsPattern(list: HTMLElement): Promise<string[]> {
  const tabs = () => Array.from(list.querySelectorAll<HTMLElement>('[role="tab"]'));
  const selected = () => tabs().filter((t) => t.getAttribute('aria-selected') === 'true');
  expect(list.getAttribute('role')).toBe('tablist');
  expect(list.getAttribute('aria-label')).toBeTruthy();
  const count = tabs().length;
  expect(count).toBeGreaterThan(1);

  const check = () => {
    // One selected tab, and it alone is in the Tab order.
    expect(selected()).toHaveLength(1);
    expect(tabs().filter((t) => t.tabIndex === 0)).toEqual(selected());
    expect(tabs().filter((t) => t.getAttribute('tabindex') === '-1')).toHaveLength(count - 1);
    // It controls a tab panel labelled by it.
    const panel = document.getElementById(selected()[0].getAttribute('aria-controls') ?? '');
    expect(panel?.getAttribute('role')).toBe('tabpanel');
    expect(panel?.getAttribute('aria-labelledby')).toBe(selected()[0].id);
  };

  check();
  const first = tabs()[0];
  first.focus();
  const seen = [first.id];
  // Right goes along and selects each tab in turn, then wraps to the first.
  for (let i = 1; i <= count; i++) {
    const event = await press(active()!, 'ArrowRight');
    expect(event.defaultPrevented).toBe(true);
    expect(active()).toBe(tabs()[i % count]);
    expect(active()!.getAttribute('aria-selected')).toBe('true');
    check();
    seen.push(active()!.id);
  }
  // Left from the first wraps to the last; Home and End jump.
  await press(active()!, 'ArrowLeft');
  expect(active()).toBe(tabs()[count - 1]);
  check();
  await press(active()!, 'Home');
  expect(active()).toBe(tabs()[0]);
  check();
  await press(active()!, 'End');
  expect(active()).toBe(tabs()[count - 1]);
  check();
  // Other keys are left alone.
  const other = await press(active()!, 'ArrowDown');
  expect(other.defaultPrevented).toBe(false);
  expect(active()).toBe(tabs()[count - 1]);
  return seen;
}

const TOPOLOGY = {
  region: 'ap-northeast-2',
  regionLabel: 'Seoul',
  vpcCidr: '10.0.0.0/16',
  waf: true,
  cdn: false,
  loadBalancer: { name: 'shop-alb', scheme: 'internet-facing', zones: ['ap-northeast-2a', 'ap-northeast-2c'] },
  zones: [
    { name: 'ap-northeast-2a', natGateway: true, publicSubnetCidr: '', privateSubnetCidr: '', appNodes: [{ name: 'app-1', instanceType: 't3.micro' }] },
    { name: 'ap-northeast-2c', natGateway: false, publicSubnetCidr: '', privateSubnetCidr: '', appNodes: [{ name: 'app-2', instanceType: 't3.micro' }] },
  ],
  database: { engine: 'postgres', label: 'RDS PostgreSQL', instanceClass: 'db.t3.medium', multiAz: true, primaryZone: 'ap-northeast-2a', replicaZone: 'ap-northeast-2c', storageGb: 50 },
  redis: { name: 'cache', zone: 'ap-northeast-2a', nodeType: 'cache.t3.micro' },
};

const preview = () => ({
  serviceName: 'shop',
  slug: 'shop',
  region: 'ap-northeast-2',
  nodeCount: 2,
  currency: 'USD',
  pricingNote: '',
  totalMonthlyUsd: 50,
  terraform: 'resource "aws_vpc" "main" {}',
  cloudFormation: 'Resources: {}',
  warnings: [],
  costLines: [{ key: 'compute', label: 'EC2', quantity: 2, unitMonthlyUsd: 25, monthlyUsd: 50 }],
  topology: TOPOLOGY,
});

describe('rovingIndex', () => {
  it('moves along a row, wraps at both ends and jumps with Home and End', () => {
    expect(rovingIndex('ArrowRight', 0, 3)).toBe(1);
    expect(rovingIndex('ArrowRight', 2, 3)).toBe(0);
    expect(rovingIndex('ArrowLeft', 0, 3)).toBe(2);
    expect(rovingIndex('Home', 2, 3)).toBe(0);
    expect(rovingIndex('End', 0, 3)).toBe(2);
    // A horizontal row leaves Up and Down to the page; a vertical one takes them instead.
    expect(rovingIndex('ArrowDown', 0, 3)).toBeNull();
    expect(rovingIndex('ArrowDown', 0, 3, 'vertical')).toBe(1);
    expect(rovingIndex('ArrowRight', 0, 3, 'vertical')).toBeNull();
    expect(rovingIndex('ArrowUp', 0, 3, 'both')).toBe(2);
    expect(rovingIndex('Enter', 0, 3, 'both')).toBeNull();
    expect(rovingIndex('ArrowRight', 0, 0)).toBeNull();
  });
});

describe('the tab lists follow the WAI-ARIA tabs pattern', () => {
  it('the design preview: Topology, Terraform, CloudFormation, Cost, each showing its panel', async () => {
    const context = { preview: shallowRef(preview()), error: ref(null), fetching: ref(false), refresh: () => undefined } as unknown as DesignContext;
    const Host = defineComponent(() => {
      provide(DESIGN_CONTEXT, context);
      return () => h(DesignPreviewTabs);
    });
    const w = mounted(mount(Host, { global: { plugins: [i18n()] }, attachTo: document.body }));
    const seen = await expectTabsPattern(w.get('[role="tablist"]').element as HTMLElement);
    expect(seen.map((id) => document.getElementById(id)!.getAttribute('data-testid'))).toEqual(['tab-topology', 'tab-terraform', 'tab-cloudFormation', 'tab-cost', 'tab-topology']);
    // The panel follows the keyboard: End shows the cost, Home the topology.
    await press(active()!, 'End');
    expect(w.find('[data-testid="cost-analysis"]').exists()).toBe(true);
    await press(active()!, 'Home');
    expect(w.find('[data-testid="topology"]').exists()).toBe(true);
  });

  it('the monitoring page: its six views', async () => {
    vi.stubGlobal('fetch', vi.fn(() => new Promise(() => undefined)));
    const w = mounted(
      mount(MonitoringView, {
        global: { plugins: [i18n('en')], stubs: { RouterLink: { template: '<a><slot /></a>' }, ResourceBrowser: true, MetricsPanel: true, LiveLogList: true, AlarmList: true } },
        attachTo: document.body,
      }),
    );
    const list = w.get('[role="tablist"]').element as HTMLElement;
    expect(list.getAttribute('aria-label')).toBe(en.monitoring.tabs.label);
    const seen = await expectTabsPattern(list);
    expect(seen).toHaveLength(7);
    // Left from Overview selects Alarms, whose panel is the alarm list.
    await press(w.get('[data-testid="tab-alarms"]').element, 'Home');
    await press(active()!, 'ArrowLeft');
    expect(active()!.getAttribute('data-testid')).toBe('tab-alarms');
    expect(w.find('[role="tabpanel"] alarm-list-stub').exists()).toBe(true);
  });

  it('the terminal dock: one tab per open terminal; Delete closes the focused one', async () => {
    const { open, terminals } = useTerminals();
    for (const host of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) open({ projectId: 1, host, name: 'web' });
    const w = mounted(mount(TerminalDock, { global: { plugins: [i18n()], stubs: { TerminalPane: { template: '<div class="pane-stub" />' } } }, attachTo: document.body }));
    await flushPromises();
    await expectTabsPattern(w.get('[role="tablist"]').element as HTMLElement);
    // The close buttons are the pointer's: out of the Tab order and hidden from screen readers, which hear Delete in the tab's description.
    for (const close of w.findAll('[data-testid^="terminal-close-"]')) {
      expect(close.attributes('tabindex')).toBe('-1');
      expect(close.attributes('aria-hidden')).toBe('true');
    }
    const tab = w.get('[data-testid="terminal-tab-10.0.0.2"]').element as HTMLElement;
    expect(document.getElementById(tab.getAttribute('aria-describedby')!)!.textContent).toBe(ko.terminal.closeHint);
    tab.focus();
    await press(tab, 'ArrowLeft');
    await press(active()!, 'ArrowRight');
    expect(active()).toBe(tab);
    await press(tab, 'Delete');
    expect(terminals.value.map((t) => t.host)).toEqual(['10.0.0.1', '10.0.0.3']);
    // The focus goes to the tab selected in its place, not to the page.
    expect(active()?.getAttribute('data-testid')).toBe('terminal-tab-10.0.0.3');
    expect(active()?.getAttribute('aria-selected')).toBe('true');
    // The dock's top edge is a focusable separator with its range: Up makes it taller, Down shorter.
    const grip = w.get('[data-testid="terminal-grip"]');
    expect(grip.attributes('role')).toBe('separator');
    expect(grip.attributes('tabindex')).toBe('0');
    const before = Number(grip.attributes('aria-valuenow'));
    expect(Number(grip.attributes('aria-valuemin'))).toBeLessThanOrEqual(before);
    expect(Number(grip.attributes('aria-valuemax'))).toBeGreaterThanOrEqual(before);
    await press(grip.element, 'ArrowDown');
    expect(Number(grip.attributes('aria-valuenow'))).toBe(before - 40);
    expect(grip.attributes('aria-valuetext')).toBe(ko.terminal.heightValue.replace('{px}', String(before - 40)));
    for (const t of [...terminals.value]) useTerminals().close(t.key);
  });
});

describe('the topology map', () => {
  const parts = (w: VueWrapper) => w.findAll<HTMLElement>('[data-node]').map((p) => p.element);

  it('is one Tab stop whose parts the arrows walk in reading order, each named for what it is and where', async () => {
    const w = mounted(mount(TopologyMap, { props: { topology: TOPOLOGY }, global: { plugins: [i18n('en')] }, attachTo: document.body }));
    const all = parts(w);
    expect(all.map((p) => p.getAttribute('aria-label'))).toEqual([
      'Internet',
      'WAF',
      'Application Load Balancer shop-alb',
      'NAT Gateway, in ap-northeast-2a',
      'App node app-1, t3.micro, in ap-northeast-2a',
      'RDS PostgreSQL (Primary), db.t3.medium · 50 GB, in ap-northeast-2a',
      'Redis, cache.t3.micro, in ap-northeast-2a',
      'App node app-2, t3.micro, in ap-northeast-2c',
      'RDS PostgreSQL (Standby), db.t3.medium, in ap-northeast-2c',
    ]);
    // Every part is a list item (a name is allowed there), and only the first is in the Tab order.
    expect(all.every((p) => p.tagName === 'LI' && p.closest('ul') !== null)).toBe(true);
    expect(all.map((p) => p.tabIndex)).toEqual([0, -1, -1, -1, -1, -1, -1, -1, -1]);
    // The map says how to move in it.
    const figure = w.get('figure').element;
    expect(document.getElementById(figure.getAttribute('aria-describedby')!)!.textContent).toBe(en.mainUi.topology.keys);

    all[0].focus();
    await press(all[0], 'ArrowDown');
    expect(active()).toBe(all[1]);
    await press(active()!, 'ArrowRight');
    expect(active()).toBe(all[2]);
    await press(active()!, 'ArrowUp');
    await press(active()!, 'ArrowLeft');
    expect(active()).toBe(all[0]);
    await press(active()!, 'ArrowUp');
    expect(active()).toBe(all[8]);
    await press(active()!, 'Home');
    expect(active()).toBe(all[0]);
    await press(active()!, 'End');
    expect(active()).toBe(all[8]);
    // The map keeps its place: the part last visited holds the one Tab stop.
    expect(parts(w).map((p) => p.tabIndex)).toEqual([-1, -1, -1, -1, -1, -1, -1, -1, 0]);
    // Other keys pass through (Tab leaves the map as usual).
    expect((await press(active()!, 'Tab')).defaultPrevented).toBe(false);
  });

  it('gives the Tab stop back to the first part when the focused one is no longer drawn', async () => {
    const w = mounted(mount(TopologyMap, { props: { topology: TOPOLOGY }, global: { plugins: [i18n()] }, attachTo: document.body }));
    const redis = parts(w).find((p) => p.dataset.testid === 'topo-redis')!;
    redis.focus();
    await flushPromises();
    expect(redis.tabIndex).toBe(0);
    await w.setProps({ topology: { ...TOPOLOGY, redis: null } });
    expect(parts(w).map((p) => p.tabIndex).filter((i) => i === 0)).toHaveLength(1);
    expect(parts(w)[0].tabIndex).toBe(0);
  });
});

describe('dialogs take the focus, keep it and give it back', () => {
  const Host = defineComponent({
    setup() {
      const open = ref(false);
      return () =>
        h('div', [
          h('button', { 'data-testid': 'opener', onClick: () => (open.value = true) }, 'Open'),
          open.value
            ? h(
                ModalDialog,
                { title: 'Rename', onClose: () => (open.value = false) },
                {
                  default: () => [
                    h('input', { 'data-testid': 'first', 'aria-label': 'Name' }),
                    h('button', { 'data-testid': 'middle', disabled: true }, 'Disabled'),
                    h('button', { 'data-testid': 'last' }, 'Save'),
                  ],
                },
              )
            : null,
        ]);
    },
  });

  it('ModalDialog: the focus goes to its first control, Tab and Shift+Tab wrap inside, Escape closes it and the opener has the focus again', async () => {
    const w = mounted(mount(Host, { attachTo: document.body }));
    const opener = w.get('[data-testid="opener"]').element as HTMLElement;
    opener.focus();
    await w.get('[data-testid="opener"]').trigger('click');
    await flushPromises();
    const dialog = w.get('[role="dialog"]');
    expect(dialog.attributes('aria-modal')).toBe('true');
    expect(document.getElementById(dialog.attributes('aria-labelledby')!)!.textContent).toBe('Rename');
    expect(active()?.dataset.testid).toBe('first');

    // Shift+Tab on the first control wraps to the last (the disabled button is skipped), Tab on the last to the first.
    expect((await press(active()!, 'Tab', true)).defaultPrevented).toBe(true);
    expect(active()?.dataset.testid).toBe('last');
    expect((await press(active()!, 'Tab')).defaultPrevented).toBe(true);
    expect(active()?.dataset.testid).toBe('first');
    // Focus that got out (a click on the page behind) is brought back by the next Tab.
    opener.focus();
    await press(dialog.element, 'Tab');
    expect(active()?.dataset.testid).toBe('first');

    await press(active()!, 'Escape');
    expect(w.find('[role="dialog"]').exists()).toBe(false);
    expect(active()).toBe(opener);
  });

  it('a dialog whose controls are still loading takes the focus itself, then Tab and Shift+Tab reach its controls', async () => {
    const loaded = ref(false);
    const Loading = defineComponent(() => () => h(ModalDialog, { title: 'Settings' }, { default: () => (loaded.value ? [h('input', { 'data-testid': 'field', 'aria-label': 'Field' }), h('button', { 'data-testid': 'save' }, 'Save')] : [h('p', 'Loading')]) }));
    const opener = document.createElement('button');
    document.body.append(opener);
    opener.focus();
    const w = mounted(mount(Loading, { attachTo: document.body }));
    await flushPromises();
    const dialog = w.get('[role="dialog"]').element as HTMLElement;
    expect(active()).toBe(dialog);
    loaded.value = true;
    await flushPromises();
    await press(dialog, 'Tab', true);
    expect(active()?.dataset.testid).toBe('save');
    dialog.focus();
    await press(dialog, 'Tab');
    expect(active()?.dataset.testid).toBe('field');
    w.unmount();
    wrapper = null;
    expect(active()).toBe(opener);
  });

  it('a busy dialog keeps the focus while its submit button is disabled; a refusal puts it on the invalid field, and Escape still closes', async () => {
    const busy = ref(false);
    const invalid = ref(false);
    const closed = vi.fn();
    const Form = defineComponent(() => () =>
      h(ModalDialog, { title: 'Create', busy: busy.value, onClose: closed }, {
        default: () => [
          h('input', { 'data-testid': 'name', 'aria-label': 'Name', 'aria-invalid': invalid.value ? 'true' : 'false' }),
          h('button', { 'data-testid': 'submit', disabled: busy.value }, 'Create'),
        ],
      }),
    );
    const w = mounted(mount(Form, { attachTo: document.body }));
    await flushPromises();
    const dialog = w.get('[role="dialog"]').element as HTMLElement;
    const submit = w.get('[data-testid="submit"]').element as HTMLElement;
    submit.focus();
    busy.value = true;
    await flushPromises();
    // The disabled button cannot hold the focus; the dialog does, so its keys still work.
    expect(active()).toBe(dialog);
    invalid.value = true;
    busy.value = false;
    await flushPromises();
    expect(active()?.dataset.testid).toBe('name');
    // A refusal without a field to blame gives the focus back to the button.
    invalid.value = false;
    submit.focus();
    busy.value = true;
    await flushPromises();
    busy.value = false;
    await flushPromises();
    expect(active()).toBe(submit);
    await press(active()!, 'Escape');
    expect(closed).toHaveBeenCalledTimes(1);
  });

  it('the delete dialog is an alert dialog that starts on Cancel, and Escape cancels', async () => {
    const opener = document.createElement('button');
    document.body.append(opener);
    opener.focus();
    const w = mounted(mount(ConfirmDeleteDialog, { props: { id: 7, name: 'shop', busy: false, error: null }, global: { plugins: [i18n()] }, attachTo: document.body }));
    await flushPromises();
    const dialog = w.get('[role="alertdialog"]');
    expect(dialog.attributes('aria-modal')).toBe('true');
    expect(document.getElementById(dialog.attributes('aria-describedby')!)!.textContent).toContain('shop');
    expect(active()?.dataset.testid).toBe('delete-cancel');
    await press(active()!, 'Tab', true);
    expect(active()?.dataset.testid).toBe('delete-confirm');
    await press(active()!, 'Escape');
    expect(w.emitted('cancel')).toHaveLength(1);
    w.unmount();
    wrapper = null;
    expect(active()).toBe(opener);
  });
});

describe('the focus keeper of the main content', () => {
  const Page = defineComponent({
    props: { shown: { type: Boolean, required: true } },
    setup(props) {
      const main = ref<HTMLElement | null>(null);
      useFocusKeeper(main);
      return () => h('main', { id: 'main', ref: main, tabindex: -1 }, [h('button', { 'data-testid': 'stays' }, 'Refresh'), props.shown ? h('button', { 'data-testid': 'goes' }, 'Disable') : null]);
    },
  });
  const settle = () => new Promise((r) => setTimeout(r, 0)).then(flushPromises);

  it('moves the focus to the main content when the focused control goes away, and leaves it alone otherwise', async () => {
    const w = mounted(mount(Page, { props: { shown: true }, attachTo: document.body }));
    (w.get('[data-testid="goes"]').element as HTMLElement).focus();
    await w.setProps({ shown: false });
    await settle();
    expect(active()?.id).toBe('main');

    // A control that stays keeps the focus when another goes.
    await w.setProps({ shown: true });
    (w.get('[data-testid="stays"]').element as HTMLElement).focus();
    await w.setProps({ shown: false });
    await settle();
    expect(active()?.dataset.testid).toBe('stays');

    // Focus placed elsewhere before the control went (a dialog giving it back) is not taken.
    await w.setProps({ shown: true });
    const elsewhere = document.createElement('button');
    document.body.append(elsewhere);
    (w.get('[data-testid="goes"]').element as HTMLElement).focus();
    elsewhere.focus();
    await w.setProps({ shown: false });
    await settle();
    expect(active()).toBe(elsewhere);
  });
});

describe('the preferences popover (language and theme)', () => {
  it('takes the focus to the chosen language, gives it back to its button on Escape, and closes when the focus moves on past it', async () => {
    const after = document.createElement('button');
    const w = mounted(mount(PreferencesMenu, { global: { plugins: [consoleI18n] }, attachTo: document.body }));
    document.body.append(after);
    const toggle = w.get('[data-testid="preferences-open"]');
    (toggle.element as HTMLElement).focus();
    await toggle.trigger('click');
    await flushPromises();
    const panel = w.get('[data-testid="preferences"]');
    expect(toggle.attributes('aria-expanded')).toBe('true');
    expect(toggle.attributes('aria-controls')).toBe(panel.attributes('id'));
    expect(active()?.getAttribute('aria-pressed')).toBe('true');
    expect(panel.element.contains(active())).toBe(true);

    await press(active()!, 'Escape');
    expect(w.find('[data-testid="preferences"]').exists()).toBe(false);
    expect(active()).toBe(toggle.element);
    expect(toggle.attributes('aria-expanded')).toBe('false');

    // Open again; the focus leaves for the next control on the page: the popover closes, the focus stays where it went.
    await toggle.trigger('click');
    await flushPromises();
    const inside = active()!;
    after.focus();
    inside.dispatchEvent(new FocusEvent('focusout', { bubbles: true, relatedTarget: after }));
    await flushPromises();
    expect(w.find('[data-testid="preferences"]').exists()).toBe(false);
    expect(active()).toBe(after);
  });
});

beforeEach(() => {
  document.body.innerHTML = '';
});
