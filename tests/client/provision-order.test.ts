// @vitest-environment happy-dom
/**
 * Ordering without ordering twice: an idempotency key per submit intent — the same key while
 * the same order is sent again (after a network error, a refusal), a new one after a success
 * or once the form changed, and a double submit sends one request — and the answer of a
 * workload pool without enough free hosts (CONFLICT with extensions.needed / available) shown
 * next to the submit button of /private-console, the form keeping its values.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope } from 'vue';
import { createI18n } from 'vue-i18n';
import { createMemoryHistory, createRouter } from 'vue-router';
import { resetCatalogCache } from '../../client/src/composables/useCatalog';
import { useProvisionOrder } from '../../client/src/composables/useProvisionOrder';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import { createSubmitKeys, newIdempotencyKey } from '../../client/src/utils/idempotency';
import PrivateConsoleView from '../../client/src/views/PrivateConsoleView.vue';

/** No live stream in these tests: the run overlay's subscription goes nowhere. */
vi.mock('../../client/src/graphql/subscriptions', () => ({
  createSubscriptionClient: () => ({ on: () => () => {}, dispose: async () => {} }),
  subscribe: () => () => {},
}));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('idempotency keys per submit intent', () => {
  it('keeps the key while the same body is submitted again, and makes a new one after a success or for another body', () => {
    let n = 0;
    const keys = createSubmitKeys(() => `k${++n}`);
    const order = { serviceName: 'shop', config: { template: 'single', packages: ['nginx'] } };
    expect(keys.keyFor(order)).toBe('k1');
    // Sent again (a network error, a refusal): the same intent, whatever the key order of the object.
    expect(keys.keyFor({ config: { packages: ['nginx'], template: 'single' }, serviceName: 'shop' })).toBe('k1');
    // The form changed: a new intent.
    expect(keys.keyFor({ ...order, serviceName: 'shop-2' })).toBe('k2');
    expect(keys.keyFor({ ...order, serviceName: 'shop-2' })).toBe('k2');
    // Back to the first body is a change too.
    expect(keys.keyFor(order)).toBe('k3');
    // After a success the same form is a new order.
    keys.succeeded();
    expect(keys.keyFor(order)).toBe('k4');
  });

  it('makes random UUIDs, also where crypto.randomUUID is missing (a page over plain http)', () => {
    const a = newIdempotencyKey();
    expect(a).toMatch(UUID);
    expect(newIdempotencyKey()).not.toBe(a);
    const randomUUID = crypto.randomUUID;
    try {
      Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true });
      expect(newIdempotencyKey()).toMatch(UUID);
    } finally {
      Object.defineProperty(crypto, 'randomUUID', { value: randomUUID, configurable: true });
    }
  });
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const gqlError = (code: string, message: string, extra: Record<string, unknown> = {}) => json({ data: null, errors: [{ message, extensions: { code, ...extra } }] });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
const bodyOf = (init?: RequestInit) => JSON.parse(String(init?.body));
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(bodyOf(init).query)?.[1] ?? '';
const provisionCalls = () => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === 'Provision').map(([, init]) => bodyOf(init).variables);
const poolLoads = () => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === 'WorkloadPool').length;

/** What the next Provision requests answer, in turn. */
let provisionAnswers: (() => Promise<Response>)[] = [];
let nextId = 40;
const accepted = (variables: any) => json({ data: { provision: { id: ++nextId, serviceName: variables.input.serviceName, status: 'PENDING', lastSeq: 2, attempt: 1 } } });

beforeEach(() => {
  provisionAnswers = [];
  sessionStorage.clear();
  resetCatalogCache();
  fetchMock.mockReset();
  fetchMock.mockImplementation(async (_input, init) => {
    switch (operationOf(init)) {
      case 'Catalog':
        return json({ data: { catalog: { regions: {}, instanceTiers: {}, dbEngines: {}, environments: { dev: 'Development', stg: 'Staging' }, packages: ['nginx', 'redis'], traffic: { low: { vcpu: 1, memoryGb: 2 } } } } });
      case 'Templates':
        return json({ data: { templates: [{ name: 'single', label: 'Single', hostCount: 1, roles: ['web'] }, { name: 'standard', label: 'Standard', hostCount: 3, roles: ['lb', 'web', 'db'] }] } });
      case 'WorkloadPool':
        return json({ data: { workloadPool: [{ infra: 'vsphere', total: 2, available: 1, provisioning: 1, assigned: 0 }] } });
      case 'Provision': {
        const next = provisionAnswers.shift();
        return next ? next() : accepted(bodyOf(init).variables);
      }
      default:
        return gqlError('INTERNAL_SERVER_ERROR', 'unexpected');
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

describe('useProvisionOrder', () => {
  it('sends one request for a double submit, reuses the key after a network error, and takes a new one after a success', async () => {
    const scope = effectScope();
    let n = 0;
    const order = scope.run(() => useProvisionOrder({ newKey: () => `key-${++n}` }))!;
    const input = { serviceName: 'shop', config: { template: 'single' }, targetInfra: { type: 'vsphere' } };

    provisionAnswers.push(() => Promise.reject(new TypeError('Failed to fetch')));
    const [a, b] = await Promise.all([order.submit(input), order.submit(input)]);
    expect(a).toBeNull();
    expect(b).toBeNull();
    expect(order.error.value?.code).toBe('NETWORK_ERROR');
    expect(provisionCalls()).toHaveLength(1);

    const answer = await order.submit(input);
    expect(answer?.provision.id).toBeGreaterThan(40);
    expect(provisionCalls().map((v) => v.idempotencyKey)).toEqual(['key-1', 'key-1']);

    await order.submit(input);
    expect(provisionCalls().map((v) => v.idempotencyKey)).toEqual(['key-1', 'key-1', 'key-2']);
    expect(provisionCalls()[0].input).toEqual(input);
    scope.stop();
  });
});

describe('/private-console ordering', () => {
  async function mountConsole(locale: 'ko' | 'en' = 'ko'): Promise<VueWrapper> {
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:any(.*)*', component: { render: () => null } }] });
    await router.push('/private-console');
    const i18n = createI18n({ legacy: false, locale, messages: { ko, en } });
    wrapper = mount(PrivateConsoleView, { global: { plugins: [i18n, router] }, attachTo: document.body });
    await flushPromises();
    return wrapper;
  }
  const submit = async (w: VueWrapper) => {
    await w.get('form').trigger('submit');
    await flushPromises();
  };

  it('keeps the idempotency key while the same order is sent again, and takes a new one once the form changed or went through', async () => {
    const w = await mountConsole();
    await w.get('[data-testid="service-name"]').setValue('intranet');

    provisionAnswers.push(() => Promise.reject(new TypeError('Failed to fetch')));
    // A double submit: one request.
    await w.get('form').trigger('submit');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(provisionCalls()).toHaveLength(1);
    expect(w.get('[data-testid="provision-error"]').text()).toBe(ko.errors.NETWORK_ERROR);

    // Sent again after the network error: the same key.
    provisionAnswers.push(() => Promise.resolve(gqlError('SERVICE_UNAVAILABLE', 'maintenance')));
    await submit(w);
    // The form changed: a new key.
    await w.get('[data-testid="service-name"]').setValue('intranet-2');
    await submit(w);
    const keys = provisionCalls().map((v) => v.idempotencyKey as string);
    expect(keys).toHaveLength(3);
    keys.forEach((k) => expect(k).toMatch(UUID));
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(provisionCalls()[2].input).toMatchObject({ serviceName: 'intranet-2', config: { template: 'single', packages: [], environment: 'dev', traffic: 'low' }, targetInfra: { type: 'vsphere' } });
    expect(w.get('[data-testid="run-overlay"]').exists()).toBe(true);

    // After the success, the same form is a new order with a new key.
    await w.get('[data-testid="run-close"]').trigger('click');
    await w.find('[data-testid="run-close-anyway"]').trigger('click');
    await flushPromises();
    await submit(w);
    const after = provisionCalls().map((v) => v.idempotencyKey as string);
    expect(after).toHaveLength(4);
    expect(new Set(after.slice(2)).size).toBe(2);
  });

  it('says how many hosts were needed and are free when the pool is short, next to the submit button, and keeps the form', async () => {
    const w = await mountConsole();
    await w.get('[data-testid="template-standard"]').trigger('click');
    await w.get('[data-testid="package-redis"]').trigger('click');
    await w.get('[data-testid="service-name"]').setValue('big-app');
    const loadsBefore = poolLoads();

    provisionAnswers.push(() => Promise.resolve(gqlError('CONFLICT', '3 hosts needed, 1 available', { needed: 3, available: 1 })));
    await submit(w);
    const error = w.get('[data-testid="provision-error"]');
    expect(error.text()).toBe('사용 가능한 호스트가 부족합니다: 3대 필요, 1대 사용 가능');
    expect(error.attributes('role')).toBe('alert');
    // Next to the submit button.
    expect(error.element.nextElementSibling?.querySelector('[data-testid="provision-submit"]')).not.toBeNull();
    expect(w.find('[data-testid="run-overlay"]').exists()).toBe(false);
    // The form keeps its values, and the pool count is asked again.
    expect((w.get('[data-testid="service-name"]').element as HTMLInputElement).value).toBe('big-app');
    expect(provisionCalls()[0].input.config).toMatchObject({ template: 'standard', packages: ['redis'] });
    expect(poolLoads()).toBe(loadsBefore + 1);

    // Sent again unchanged: the same key (nothing was ordered).
    provisionAnswers.push(() => Promise.resolve(gqlError('CONFLICT', '3 hosts needed, 1 available', { needed: 3, available: 1 })));
    await submit(w);
    expect(provisionCalls()[1].idempotencyKey).toBe(provisionCalls()[0].idempotencyKey);
  });

  it('says it in English too, and a conflict without counts stays the generic text', async () => {
    const w = await mountConsole('en');
    await w.get('[data-testid="service-name"]').setValue('big-app');
    provisionAnswers.push(() => Promise.resolve(gqlError('CONFLICT', '3 hosts needed, 1 available', { needed: 3, available: 1 })));
    await submit(w);
    expect(w.get('[data-testid="provision-error"]').text()).toBe('Not enough free hosts: 3 needed, 1 available');
    provisionAnswers.push(() => Promise.resolve(gqlError('CONFLICT', 'something else')));
    await submit(w);
    expect(w.get('[data-testid="provision-error"]').text()).toBe(en.errors.CONFLICT);
  });
});
