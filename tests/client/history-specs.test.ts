// @vitest-environment happy-dom
/**
 * The specs column of /history: a template order shows its size and packages; an AWS design
 * shows its instance type and nodes, then its data tier and edge — database engine (by the
 * catalog's label) with Multi-AZ or single AZ, Redis, WAF, CDN — in Korean and in English,
 * never the "None" of an order without packages.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import { resetCatalogCache } from '../../client/src/composables/useCatalog';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import { specOf, type HistoryRow, type SpecCatalog } from '../../client/src/utils/history';
import HistoryView from '../../client/src/views/HistoryView.vue';

vi.mock('../../client/src/composables/useSession', async () => {
  const { ref } = await import('vue');
  return { useSession: () => ({ username: ref('alice'), isAdmin: ref(false) }) };
});
vi.mock('../../client/src/graphql/subscriptions', () => ({
  createSubscriptionClient: () => ({ on: () => () => {}, dispose: async () => {} }),
  subscribe: () => () => {},
}));

const row = (id: number, infra: HistoryRow['infra'], config: Record<string, unknown>): HistoryRow => ({
  id,
  serviceName: `svc-${id}`,
  status: 'COMPLETED',
  assignedIp: `10.0.0.${id}`,
  templateType: infra === 'aws' ? 'aws-design' : 'standard',
  owner: 'alice',
  infra,
  config,
  details: {},
  lastSeq: 10,
  attempt: 1,
  pendingAction: null,
  createdAt: '2025-03-04T05:06:07.000Z',
  updatedAt: '2025-03-04T05:07:00.000Z',
});

const ROWS = [
  row(5, 'aws', { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', dbMultiAZ: true, dbSize: 100, redis: true, waf: true, cdn: true }),
  row(4, 'aws', { instanceType: 't3.micro', nodeCount: 1, dbEngine: 'mysql', dbMultiAZ: false, redis: false, waf: false, cdn: false }),
  // dbMultiAZ without an engine: provisioning ignores it, so does the summary.
  row(3, 'aws', { instanceType: 't3.micro', nodeCount: 2, dbMultiAZ: true, cdn: true }),
  row(2, 'vsphere', { template: 'standard', traffic: 'mid', packages: ['nginx', 'redis'] }),
  row(1, 'vsphere', { template: 'single', traffic: 'low', packages: [] }),
];

const CATALOG = {
  regions: {},
  instanceTiers: { 'm5.large': { label: 'General', vcpu: 2, memoryGb: 8, monthlyUsd: 70 }, 't3.micro': { label: 'Micro', vcpu: 2, memoryGb: 1, monthlyUsd: 8 } },
  dbEngines: { postgres: { label: 'RDS PostgreSQL 15' }, mysql: { label: 'RDS MySQL 8.0' } },
  environments: {},
  packages: [],
  traffic: { low: { vcpu: 1, memoryGb: 2 }, mid: { vcpu: 4, memoryGb: 8 } },
  templates: [],
  mockSteps: [],
};

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init?.body)).query)?.[1] ?? '';
const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko, en } });

beforeEach(() => {
  resetCatalogCache();
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      switch (operationOf(init)) {
        case 'HistoryPage':
          return json({ data: { history: { nodes: ROWS, pageInfo: { endCursor: 'c', hasNextPage: false } } } });
        case 'Catalog':
          return json({ data: { catalog: CATALOG } });
        case 'Templates':
          return json({ data: { templates: [{ name: 'standard', hostCount: 3 }, { name: 'single', hostCount: 1 }] } });
        default:
          return json({ data: null, errors: [{ message: 'unexpected', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      }
    }),
  );
});

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.unstubAllGlobals();
});

async function specsShown(locale: 'ko' | 'en'): Promise<Record<number, [string, string]>> {
  i18n.global.locale.value = locale;
  wrapper = mount(HistoryView, { global: { plugins: [i18n] }, attachTo: document.body });
  await flushPromises();
  const shown: Record<number, [string, string]> = {};
  for (const r of ROWS) {
    const cell = wrapper.get(`[data-testid="history-row-${r.id}"] [data-testid="cell-spec"]`);
    shown[r.id] = [cell.get('.spec-size').text(), cell.get('[data-testid="spec-detail"]').text()];
  }
  return shown;
}

describe('history specs column', () => {
  it('shows an AWS design’s database, Multi-AZ, cache and edge in English', async () => {
    expect(await specsShown('en')).toEqual({
      5: ['m5.large × 3', 'RDS PostgreSQL 15 (Multi-AZ) · Redis cache · WAF · CDN'],
      4: ['t3.micro × 1', 'RDS MySQL 8.0 (Single-AZ)'],
      3: ['t3.micro × 2', 'No database · CDN'],
      2: ['4 vCore / 8 GB', 'nginx, redis'],
      1: ['1 vCore / 2 GB', 'None'],
    });
  });

  it('shows the same summary in Korean', async () => {
    expect(await specsShown('ko')).toEqual({
      5: ['m5.large × 3', 'RDS PostgreSQL 15 (Multi-AZ) · Redis 캐시 · WAF · CDN'],
      4: ['t3.micro × 1', 'RDS MySQL 8.0 (단일 AZ)'],
      3: ['t3.micro × 2', '데이터베이스 없음 · CDN'],
      2: ['4 vCore / 8 GB', 'nginx, redis'],
      1: ['1 vCore / 2 GB', '없음'],
    });
  });

  it('keeps the full summary in the cell’s title when the column cuts it short', async () => {
    await specsShown('en');
    expect(wrapper!.get('[data-testid="history-row-5"] [data-testid="spec-detail"]').attributes('title')).toBe('RDS PostgreSQL 15 (Multi-AZ) · Redis cache · WAF · CDN');
  });
});

describe('design summary of an order', () => {
  const catalog: SpecCatalog = { traffic: {}, instanceTiers: {}, templateHosts: {}, dbEngines: { aurora: 'Aurora Serverless v2' } };

  it('reads the engine’s label from the catalog, or its key when the catalog does not know it', () => {
    expect(specOf({ instanceType: 'm5.large', dbEngine: 'aurora', dbMultiAZ: true }, catalog).design).toEqual({ database: 'Aurora Serverless v2', multiAz: true, redis: false, waf: false, cdn: false });
    expect(specOf({ instanceType: 'm5.large', dbEngine: 'oracle' }, catalog).design?.database).toBe('oracle');
  });

  it('has none for a template order', () => {
    expect(specOf({ template: 'standard', packages: [] }, catalog).design).toBeNull();
  });
});
