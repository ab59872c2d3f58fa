// @vitest-environment happy-dom
/**
 * The /main_ui design form and its preview in a DOM, with the API mocked: the service name is
 * checked as it is typed, the preview (topology, cost) follows the form after the debounce,
 * and the server's BAD_USER_INPUT issues are shown next to their fields.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h, provide } from 'vue';
import { createI18n } from 'vue-i18n';
import DesignForm from '../../client/src/components/main-ui/DesignForm.vue';
import DesignPreviewTabs from '../../client/src/components/main-ui/DesignPreviewTabs.vue';
import { DESIGN_CONTEXT } from '../../client/src/components/main-ui/design-context';
import { DEBOUNCE_MS, useAwsDesign } from '../../client/src/composables/useAwsDesign';
import { resetCatalogCache } from '../../client/src/composables/useCatalog';
import ko from '../../client/src/i18n/ko';
import { expectErrorTied, expectFieldsLabelled } from '../helpers/a11y-dom';

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

const CATALOG = {
  instanceTiers: {
    't3.micro': { label: 'Starter', monthlyUsd: 25, vcpu: 2, memoryGb: 1 },
    'm5.large': { label: 'Standard', monthlyUsd: 90, vcpu: 2, memoryGb: 8 },
    'c5.xlarge': { label: 'Performance', monthlyUsd: 170, vcpu: 4, memoryGb: 8 },
  },
  dbEngines: { mysql: { label: 'RDS MySQL 8.0' }, postgres: { label: 'RDS PostgreSQL 15' }, aurora: { label: 'Aurora Serverless v2' } },
  regions: { 'ap-northeast-2': 'Asia Pacific (Seoul)', 'us-east-1': 'US East (N. Virginia)' },
  environments: { dev: 'Development', stg: 'Staging', prod: 'Production' },
  packages: [],
  traffic: {},
};

/** A stand-in for the server's preview: enough of the model to see it follow the design. */
function fakePreview(config: Record<string, any>) {
  const zones = ['a', 'b'].map((s) => `ap-northeast-2${s}`);
  const price = (CATALOG.instanceTiers as any)[config.instanceType].monthlyUsd;
  const costLines = [{ key: 'compute', label: 'EC2', quantity: config.nodeCount, unitMonthlyUsd: price, monthlyUsd: price * config.nodeCount }];
  if (config.redis) costLines.push({ key: 'redis', label: 'Redis', quantity: 1, unitMonthlyUsd: 15, monthlyUsd: 15 });
  return {
    serviceName: 'my-service', slug: 'my-service', region: config.region, nodeCount: config.nodeCount, currency: 'USD', pricingNote: 'estimates',
    totalMonthlyUsd: costLines.reduce((s, l) => s + l.monthlyUsd, 0),
    terraform: `desired_capacity = ${config.nodeCount}`, cloudFormation: 'Resources: {}', warnings: [], costLines,
    topology: {
      region: config.region, regionLabel: 'Seoul', vpcCidr: '10.0.0.0/16', waf: false, cdn: false,
      loadBalancer: { name: 'my-service-alb', scheme: 'internet-facing', zones },
      zones: zones.map((name, z) => ({
        name, natGateway: true, publicSubnetCidr: '', privateSubnetCidr: '',
        appNodes: Array.from({ length: config.nodeCount }, (_, i) => i).filter((i) => i % 2 === z).map((i) => ({ name: `app-${i + 1}`, instanceType: config.instanceType })),
      })),
      database: { engine: config.dbEngine, label: config.dbEngine, instanceClass: 'db.t3.medium', multiAz: config.dbMultiAZ, primaryZone: zones[0], replicaZone: config.dbMultiAZ ? zones[1] : null, storageGb: config.dbSize },
      redis: config.redis ? { name: 'cache', zone: zones[0], nodeType: 'cache.t3.micro' } : null,
    },
  };
}

const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
const previewCalls = () => fetchMock.mock.calls.map((c) => JSON.parse(String(c[1]?.body))).filter((b) => b.query.includes('designPreview'));
let wrapper: VueWrapper | null = null;

function mountDesigner() {
  const Host = defineComponent(() => {
    provide(DESIGN_CONTEXT, useAwsDesign(() => 25));
    return () => h('div', [h(DesignForm), h(DesignPreviewTabs)]);
  });
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(Host, { global: { plugins: [i18n] }, attachTo: document.body });
  return wrapper;
}

const settle = async () => {
  await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 30));
  await flushPromises();
};

beforeEach(() => {
  resetCatalogCache();
  fetchMock.mockReset();
  fetchMock.mockImplementation(async (_url, init) => {
    const body = JSON.parse(String(init?.body));
    if (body.query.includes('catalog')) return json({ data: { catalog: CATALOG } });
    const config = body.variables.config;
    if (config.dbSize !== null && (config.dbSize < 20 || config.dbSize > 1000)) {
      return json({ data: null, errors: [{ message: 'bad', extensions: { code: 'BAD_USER_INPUT', issues: [{ loc: ['body', 'config', 'dbSize'], msg: 'Input should be a whole number from 20 to 1000', type: 'int_range' }] } }] });
    }
    return json({ data: { designPreview: fakePreview(config) } });
  });
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.unstubAllGlobals();
});

describe('the /main_ui designer', () => {
  it('checks the service identifier as it is typed, with the server rule', async () => {
    const w = mountDesigner();
    await settle();
    const input = w.get('[data-testid="service-name"]');
    expect(w.find('[data-testid="service-name-error"]').exists()).toBe(false);

    for (const [value, message] of [
      ['Shop', ko.mainUi.nameErrors.pattern],
      ['shop-', ko.mainUi.nameErrors.pattern],
      ['shop_front', ko.mainUi.nameErrors.pattern],
      ['a'.repeat(64), ko.mainUi.nameErrors.tooLong],
    ]) {
      await input.setValue(value);
      expect(w.get('[data-testid="service-name-error"]').text()).toBe(message);
      expect(input.attributes('aria-invalid')).toBe('true');
      expectErrorTied(input.element, message);
    }
    await input.setValue('shop-front-2');
    expect(w.find('[data-testid="service-name-error"]').exists()).toBe(false);
    expect(input.attributes('aria-invalid')).toBe('false');

    // Empty is an error once the field is left.
    await input.setValue('');
    expect(w.find('[data-testid="service-name-error"]').exists()).toBe(false);
    await input.trigger('blur');
    expect(w.get('[data-testid="service-name-error"]').text()).toBe(ko.mainUi.nameErrors.required);

    // An invalid name is never sent; a valid one is.
    await settle();
    expect(previewCalls().at(-1).variables.serviceName).toBeNull();
    await input.setValue('shop-front');
    await settle();
    expect(previewCalls().at(-1).variables.serviceName).toBe('shop-front');
  });

  it('redraws the topology and the cost when the form changes, after one debounced call', async () => {
    const w = mountDesigner();
    await settle();
    expect(w.findAll('[data-testid="topo-app-node"]')).toHaveLength(2);
    expect(w.find('[data-testid="topo-db-replica"]').exists()).toBe(false);
    expect(w.find('[data-testid="topo-redis"]').exists()).toBe(false);
    const callsBefore = previewCalls().length;

    await w.get('[data-testid="tier-m5.large"] input').setValue(true);
    await w.get('[data-testid="node-count"]').setValue('3');
    await w.get('[data-testid="db-multi-az"]').setValue(true);
    await w.get('[data-testid="redis"]').setValue(true);
    await settle();
    // Four changes in a row: one call.
    expect(previewCalls().length).toBe(callsBefore + 1);
    expect(previewCalls().at(-1).variables.config).toMatchObject({ instanceType: 'm5.large', instanceCost: 25, nodeCount: 3, dbMultiAZ: true, redis: true });
    expect(w.findAll('[data-testid="topo-app-node"]')).toHaveLength(3);
    expect(w.find('[data-testid="topo-db-replica"]').exists()).toBe(true);
    expect(w.find('[data-testid="topo-redis"]').exists()).toBe(true);

    await w.get('[data-testid="tab-cost"]').trigger('click');
    expect(w.get('[data-testid="cost-total"]').text()).toBe('$285.00');
    await w.get('[data-testid="node-count"]').setValue('4');
    await settle();
    expect(w.get('[data-testid="cost-total"]').text()).toBe('$375.00');

    await w.get('[data-testid="tab-terraform"]').trigger('click');
    expect(w.get('[data-testid="code"]').text()).toContain('desired_capacity = 4');
  });

  it('shows the server’s BAD_USER_INPUT issue next to its field, and clears it when fixed', async () => {
    const w = mountDesigner();
    await settle();
    await w.get('[data-testid="db-size"]').setValue('5000');
    await settle();
    expect(w.get('[data-testid="error-dbSize"]').text()).toBe(ko.mainUi.fieldErrors.dbSize);
    expect(w.get('[data-testid="db-size"]').attributes('aria-invalid')).toBe('true');
    expect(w.get('[data-testid="preview-error"]').text()).toBe(ko.mainUi.preview.invalid);
    expectErrorTied(w.get('[data-testid="db-size"]').element, ko.mainUi.fieldErrors.dbSize);
    expect(w.get('[data-testid="node-count"]').attributes('aria-invalid')).toBe('false');
    // Every field of the designer has a name (radios and check boxes by their wrapping label).
    expect(expectFieldsLabelled(w.element)).toBeGreaterThan(8);

    await w.get('[data-testid="db-size"]').setValue('100');
    await settle();
    expect(w.find('[data-testid="error-dbSize"]').exists()).toBe(false);
    expect(w.find('[data-testid="preview-error"]').exists()).toBe(false);
  });
});
