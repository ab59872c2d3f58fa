// @vitest-environment happy-dom
/** The history page's pieces: badge colours, spec text, the CSV export, and live changes merged by id. */
import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope } from 'vue';
import StatusBadge from '../../client/src/components/history/StatusBadge.vue';
import { useHistory } from '../../client/src/composables/useHistory';
import type { SubscriptionSink } from '../../client/src/graphql/subscriptions';
import type { ProjectChangesSubscription } from '../../client/src/graphql/generated/operations';
import { buildCsv, CSV_HEADER, mergeChange, specOf, statusTone, type HistoryRow, type ProjectChange, type SpecCatalog } from '../../client/src/utils/history';

const CATALOG: SpecCatalog = {
  traffic: { low: { vcpu: 1, memoryGb: 2 }, mid: { vcpu: 4, memoryGb: 8 }, high: { vcpu: 8, memoryGb: 16 } },
  instanceTiers: { 'm5.large': { vcpu: 2, memoryGb: 8 } },
  templateHosts: { single: 1, standard: 3 },
};

const row = (id: number, extra: Partial<HistoryRow> = {}): HistoryRow => ({
  id,
  serviceName: `svc-${id}`,
  status: 'COMPLETED',
  assignedIp: `10.0.0.${id}`,
  templateType: 'standard',
  owner: 'alice',
  infra: 'vsphere',
  config: { template: 'standard', traffic: 'mid', packages: ['nginx', 'redis'] },
  details: { infra: { type: 'vsphere', region: 'dc-seoul' } },
  lastSeq: 10,
  attempt: 1,
  pendingAction: null,
  createdAt: '2025-03-04T05:06:07.000Z',
  updatedAt: '2025-03-04T05:07:00.000Z',
  ...extra,
});
const change = (id: number, extra: Partial<ProjectChange> = {}): ProjectChange => ({
  id,
  serviceName: `svc-${id}`,
  status: 'RUNNING',
  assignedIp: null,
  owner: 'alice',
  infra: 'vsphere',
  lastSeq: 11,
  updatedAt: '2025-03-04T06:00:00.000Z',
  deleted: false,
  ...extra,
});
const NO_FILTER = { status: null, infra: null };

describe('status badge', () => {
  it.each([
    ['PROVISIONED', 'green'],
    ['RUNNING', 'green'],
    ['COMPLETED', 'green'],
    ['ERROR', 'red'],
    ['FAILED', 'red'],
    ['PENDING', 'grey'],
    ['CANCELLED', 'slate'],
    ['DELETING', 'amber'],
    ['DELETED', 'grey'],
  ])('shows %s in %s', (status, tone) => {
    expect(statusTone(status)).toBe(tone);
    const w = mount(StatusBadge, { props: { status } });
    expect(w.text()).toBe(status);
    expect(w.get('[data-testid="status-badge"]').classes()).toContain(`status-${tone}`);
  });
});

describe('spec', () => {
  it('sizes a template order per host from its traffic, with its packages; HA when the template has more than one host', () => {
    expect(specOf({ template: 'standard', traffic: 'mid', packages: ['nginx'] }, CATALOG)).toMatchObject({ kind: 'template', vcpu: 4, memoryGb: 8, packages: ['nginx'], nodes: 3, ha: true });
    expect(specOf({ template: 'single' }, CATALOG)).toMatchObject({ vcpu: 1, memoryGb: 2, packages: [], ha: false });
  });
  it('describes an AWS design by instance type and node count; HA is Multi-AZ', () => {
    expect(specOf({ instanceType: 'm5.large', nodeCount: 3, dbMultiAZ: true }, CATALOG)).toMatchObject({ kind: 'aws-design', instanceType: 'm5.large', nodes: 3, vcpu: 2, memoryGb: 8, ha: true });
    expect(specOf({ instanceType: 'm5.large', nodeCount: 2 }, CATALOG).ha).toBe(false);
  });
});

describe('CSV export', () => {
  it('starts with a BOM and the original header, one row per project, fields quoted where needed', () => {
    const csv = buildCsv(
      [
        row(7),
        row(6, { serviceName: 'design, "quoted"', infra: 'aws', config: { instanceType: 'm5.large', nodeCount: 2, region: 'ap-northeast-2', dbMultiAZ: true }, details: { infra: { type: 'aws' } } }),
      ],
      CATALOG,
    );
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(CSV_HEADER).toEqual(['ID', 'Service Name', 'Status', 'Created At', 'vCPU', 'Memory', 'HA', 'Packages', 'Target vCenter']);
    expect(lines[1]).toBe('7,svc-7,COMPLETED,2025-03-04T05:06:07.000Z,4,8,HA,"nginx, redis",vsphere / dc-seoul');
    expect(lines[2]).toBe('6,"design, ""quoted""",COMPLETED,2025-03-04T05:06:07.000Z,2,8,HA,,aws / ap-northeast-2');
    expect(lines).toHaveLength(3);
  });
});

describe('live changes merged by id', () => {
  it('updates a known row in place and ignores an older seq', () => {
    const rows = [row(3), row(2)];
    const updated = mergeChange(rows, change(2, { status: 'FAILED', lastSeq: 12 }), NO_FILTER, false);
    expect(updated.rows.map((r) => [r.id, r.status])).toEqual([[3, 'COMPLETED'], [2, 'FAILED']]);
    expect(updated.rows[1].config).toEqual(rows[1].config);
    expect(updated.needsLoad).toBeNull();
    expect(mergeChange(updated.rows, change(2, { status: 'RUNNING', lastSeq: 5 }), NO_FILTER, false).rows[1].status).toBe('FAILED');
  });
  it('inserts a new project at the top and asks for its full record', () => {
    const merged = mergeChange([row(3), row(2)], change(4, { status: 'PENDING', lastSeq: 1 }), NO_FILTER, true);
    expect(merged.rows.map((r) => r.id)).toEqual([4, 3, 2]);
    expect(merged.needsLoad).toBe(4);
  });
  it('removes a deleted row, and a row that no longer fits the status filter', () => {
    expect(mergeChange([row(3), row(2)], change(3, { deleted: true }), NO_FILTER, false).rows.map((r) => r.id)).toEqual([2]);
    expect(mergeChange([row(3), row(2)], change(3, { status: 'FAILED' }), { status: 'COMPLETED', infra: null }, false).rows.map((r) => r.id)).toEqual([2]);
    expect(mergeChange([row(3)], change(9, { infra: 'aws' }), { status: null, infra: 'vsphere' }, false).rows.map((r) => r.id)).toEqual([3]);
  });
  it('leaves an older project that is not loaded to "load more"', () => {
    expect(mergeChange([row(5), row(4)], change(1), NO_FILTER, true).rows.map((r) => r.id)).toEqual([5, 4]);
  });
  it('keeps a pending cancel while the run goes on, and drops it once the status leaves PENDING / RUNNING', () => {
    const asked = [row(3, { status: 'RUNNING', pendingAction: 'cancel', lastSeq: 11 })];
    const logLine = mergeChange(asked, change(3, { status: 'RUNNING', lastSeq: 12 }), NO_FILTER, false);
    expect(logLine.rows[0]).toMatchObject({ status: 'RUNNING', pendingAction: 'cancel' });
    const cancelled = mergeChange(logLine.rows, change(3, { status: 'CANCELLED', lastSeq: 14 }), NO_FILTER, false);
    expect(cancelled.rows[0]).toMatchObject({ status: 'CANCELLED', pendingAction: null });
    expect(cancelled.needsLoad).toBeNull();
  });
  it('loads a finished row again when it runs again (a retry made elsewhere: its attempt changed)', () => {
    const merged = mergeChange([row(3, { status: 'FAILED' })], change(3, { status: 'PENDING', lastSeq: 14 }), NO_FILTER, false);
    expect(merged.rows[0].status).toBe('PENDING');
    expect(merged.needsLoad).toBe(3);
  });
});

describe('useHistory', () => {
  const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('loads a page, pages on by cursor, and applies live changes: insert, update, delete', async () => {
    let sink: SubscriptionSink<ProjectChangesSubscription> | null = null;
    const unsubscribe = vi.fn();
    fetchMock.mockImplementation(async (_url, init) => {
      const { query, variables } = JSON.parse(String(init?.body));
      if (query.includes('query HistoryPage')) {
        return variables.after
          ? json({ data: { history: { nodes: [row(1)], pageInfo: { endCursor: 'c1', hasNextPage: false } } } })
          : json({ data: { history: { nodes: [row(3), row(2)], pageInfo: { endCursor: 'c2', hasNextPage: true } } } });
      }
      if (query.includes('query HistoryProject')) return json({ data: { project: { ...row(4, { status: 'PENDING', lastSeq: 1, assignedIp: null }), logs: [], errorMessage: null, resources: null } } });
      throw new Error(`unexpected ${query}`);
    });
    const scope = effectScope();
    const history = scope.run(() =>
      useHistory({
        pageSize: 2,
        subscribe: (s) => {
          sink = s;
          return unsubscribe;
        },
      }),
    )!;
    history.start();
    await flushPromises();
    expect(history.rows.value.map((r) => r.id)).toEqual([3, 2]);
    expect(history.hasNextPage.value).toBe(true);

    await history.loadMore();
    expect(history.rows.value.map((r) => r.id)).toEqual([3, 2, 1]);
    expect(JSON.parse(String(fetchMock.mock.calls[1][1]?.body)).variables).toMatchObject({ first: 2, after: 'c2' });

    sink!.next({ projectChanges: change(4, { status: 'PENDING', lastSeq: 1 }) });
    await flushPromises();
    expect(history.rows.value.map((r) => r.id)).toEqual([4, 3, 2, 1]);
    expect(history.rows.value[0].config).toEqual(row(4).config);

    sink!.next({ projectChanges: change(4, { status: 'COMPLETED', lastSeq: 9, assignedIp: '10.0.0.4' }) });
    sink!.next({ projectChanges: change(2, { deleted: true }) });
    expect(history.rows.value.map((r) => [r.id, r.status])).toEqual([[4, 'COMPLETED'], [3, 'COMPLETED'], [1, 'COMPLETED']]);
    expect(history.rows.value[0].assignedIp).toBe('10.0.0.4');

    scope.stop();
    expect(unsubscribe).toHaveBeenCalled();
  });

  it('marks a deleted project DELETING until its deletion arrives live (the teardown goes on on the server)', async () => {
    let sink: SubscriptionSink<ProjectChangesSubscription> | null = null;
    fetchMock.mockImplementation(async (_url, init) => {
      const { query } = JSON.parse(String(init?.body));
      if (query.includes('query HistoryPage')) return json({ data: { history: { nodes: [row(3), row(2)], pageInfo: { endCursor: 'c', hasNextPage: false } } } });
      if (query.includes('mutation DeleteProject')) return json({ data: { deleteProject: true } });
      throw new Error(`unexpected ${query}`);
    });
    const scope = effectScope();
    const history = scope.run(() => useHistory({ subscribe: (s) => ((sink = s), () => {}) }))!;
    history.start();
    await flushPromises();
    expect(await history.remove(3)).toBeNull();
    expect(history.rows.value.map((r) => [r.id, r.status])).toEqual([[3, 'DELETING'], [2, 'COMPLETED']]);
    expect(history.rows.value[0].pendingAction).toBe('delete');
    sink!.next({ projectChanges: change(3, { status: 'DELETING', lastSeq: 12 }) });
    expect(history.rows.value.map((r) => [r.id, r.status])).toEqual([[3, 'DELETING'], [2, 'COMPLETED']]);
    sink!.next({ projectChanges: change(3, { status: 'DELETING', lastSeq: 13, deleted: true }) });
    expect(history.rows.value.map((r) => r.id)).toEqual([2]);
    scope.stop();
  });
});
