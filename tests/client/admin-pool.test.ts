// @vitest-environment happy-dom
/**
 * /admin_pool in a DOM with the API mocked: the hosts with their state, key and last check, the
 * counts per infrastructure; filters, search and pages; drain / undrain, remove and key reset
 * (confirmed), reachability checks per host and for the selection; adding one host or a pasted
 * list, with the server's problems shown per field or per line by the issue's type — and errors
 * told by code and extensions, never by the server's message.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import ko from '../../client/src/i18n/ko';
import AdminPoolView from '../../client/src/views/AdminPoolView.vue';
import { parseHostList } from '../../client/src/utils/pool-hosts';
import { describedText, expectErrorTied, expectFieldsLabelled } from '../helpers/a11y-dom';

const session = vi.hoisted(() => ({ isAdmin: null as null | { value: boolean }, data: null as null | { value: unknown } }));
vi.mock('../../client/src/composables/useSession', async () => {
  const { ref: vueRef } = await import('vue');
  session.isAdmin = vueRef(true);
  session.data = vueRef<unknown>({ username: 'admin', role: 'admin' });
  return { useSession: () => ({ isAdmin: session.isAdmin, data: session.data }) };
});

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const gqlError = (code: string, extra: Record<string, unknown> = {}) => json({ errors: [{ message: 'server words that must not be shown', extensions: { code, ...extra } }], data: null });

const host = (id: number, over: Record<string, unknown> = {}) => ({
  id,
  vmName: `WK-${id}`,
  ipAddress: `10.1.0.${id}`,
  infra: 'vsphere',
  status: 'available',
  projectId: null,
  owner: null,
  drainRequested: false,
  hostKeySet: false,
  hostKeyFingerprints: [],
  checkedAt: null,
  checkOk: null,
  checkMessage: null,
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});
const HOSTS = [
  host(1),
  host(2, { status: 'assigned', projectId: 42, owner: 'dave', drainRequested: true, hostKeySet: true, hostKeyFingerprints: ['ssh-ed25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'] }),
  host(3, { status: 'drained', checkedAt: '2026-01-02T03:04:05.000Z', checkOk: false, checkMessage: 'connect to host 10.1.0.3 port 22: Connection timed out' }),
];
const SUMMARY = [
  { infra: 'aws', total: 0, available: 0, provisioning: 0, assigned: 0, drained: 0 },
  { infra: 'vsphere', total: 3, available: 1, provisioning: 0, assigned: 1, drained: 1 },
];
const page = (nodes: unknown[], hasNextPage = false, totalCount = nodes.length) => ({
  data: { poolHosts: { totalCount, nodes, pageInfo: { hasNextPage, endCursor: nodes.length ? `cursor-${(nodes.at(-1) as { id: number }).id}` : null } } },
});

const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
let overrides: Record<string, Response[]> = {};
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init?.body)).query)?.[1] ?? '';
const callsOf = (name: string) => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === name).map(([, init]) => JSON.parse(String(init?.body)).variables);
const once = (name: string, response: Response) => (overrides[name] ??= []).push(response);

function answer(name: string, variables: Record<string, any>): Response {
  const queued = overrides[name]?.shift();
  if (queued) return queued;
  switch (name) {
    case 'WorkloadPool':
      return json({ data: { workloadPool: SUMMARY } });
    case 'PoolHosts':
      return json(page(HOSTS, false, 3));
    case 'DrainPoolHost':
      return json({ data: { drainPoolHost: { ...HOSTS.find((h) => h.id === variables.id), status: 'drained' } } });
    case 'UndrainPoolHost':
      return json({ data: { undrainPoolHost: { ...HOSTS.find((h) => h.id === variables.id), status: 'available', drainRequested: false } } });
    case 'RemovePoolHost':
      return json({ data: { removePoolHost: HOSTS.find((h) => h.id === variables.id) } });
    case 'ResetPoolHostKey':
      return json({ data: { resetPoolHostKey: { ...HOSTS.find((h) => h.id === variables.id), hostKeySet: false, hostKeyFingerprints: [] } } });
    case 'CheckPoolHosts':
      return json({
        data: {
          checkPoolHosts: variables.ids.map((id: number) =>
            id === 1
              ? { ...HOSTS[0], checkedAt: '2026-02-03T04:05:06.000Z', checkOk: true, checkMessage: 'ok; host key recorded', hostKeySet: true, hostKeyFingerprints: ['ssh-ed25519 SHA256:zzz'] }
              : { ...HOSTS.find((h) => h.id === id), checkedAt: '2026-02-03T04:05:06.000Z', checkOk: false, checkMessage: 'no answer within 10 s' },
          ),
        },
      });
    case 'AddPoolHosts':
      return json({ data: { addPoolHosts: variables.hosts.map((h: any, i: number) => host(10 + i, h)) } });
    default:
      return json({ data: null, errors: [{ message: 'unexpected', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  }
}

let wrapper: VueWrapper | null = null;
async function mountPage(): Promise<VueWrapper> {
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(AdminPoolView, { global: { plugins: [i18n], stubs: { RouterLink: { template: '<a><slot /></a>' } } }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}
const row = (w: VueWrapper, ip: string) => w.get(`[data-testid="pool-row-${ip}"]`);

beforeEach(() => {
  overrides = {};
  session.isAdmin!.value = true;
  session.data!.value = { username: 'admin', role: 'admin' };
  fetchMock.mockReset();
  fetchMock.mockImplementation(async (_input, init) => answer(operationOf(init), JSON.parse(String(init?.body)).variables ?? {}));
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.unstubAllGlobals();
});

describe('/admin_pool', () => {
  it('shows each host with its state, project, key and last check, and the counts per infrastructure with the drained ones', async () => {
    const w = await mountPage();
    expect(w.get('[data-testid="page-title"]').text()).toBe(ko.adminPool.title);
    expect(w.get('[data-testid="pool-vsphere-drained"]').text()).toContain('1');
    expect(w.get('[data-testid="pool-count"]').text()).toBe('3 / 3대');
    expect(row(w, '10.1.0.1').attributes('data-check')).toBe('never');
    expect(row(w, '10.1.0.1').get('[data-testid="pool-check"]').text()).toBe(ko.adminPool.table.never);
    const held = row(w, '10.1.0.2');
    expect(held.text()).toContain('#42 (dave)');
    expect(held.get('[data-testid="drain-pending"]').text()).toBe(ko.adminPool.table.drainPending);
    expect(held.get('[data-testid="pool-host-key"]').text()).toContain(ko.adminPool.table.keySet);
    expect(held.get('[data-testid="pool-host-key"]').attributes('title')).toContain('SHA256:abcdefghij');
    // a held host with a requested drain offers undrain (withdraw), a free one drain
    expect(held.find('[data-testid="undrain-10.1.0.2"]').exists()).toBe(true);
    expect(row(w, '10.1.0.1').find('[data-testid="drain-10.1.0.1"]').exists()).toBe(true);
    const failed = row(w, '10.1.0.3');
    expect(failed.get('[data-testid="pool-check-result"]').text()).toBe(ko.adminPool.table.failed);
    expect(failed.get('[data-testid="pool-check-message"]').text()).toBe('connect to host 10.1.0.3 port 22: Connection timed out');
    expect(failed.find('time').attributes('datetime')).toBe('2026-01-02T03:04:05.000Z');
    // only a host with a recorded key can have it reset
    expect(w.findAll('[data-testid^="reset-key-"]').map((b) => b.attributes('data-testid'))).toEqual(['reset-key-10.1.0.2']);
  });

  it('refuses the page to a signed-in user who is not an admin, and asks the server nothing', async () => {
    session.isAdmin!.value = false;
    session.data!.value = { username: 'dave', role: 'user' };
    const w = await mountPage();
    expect(w.get('[data-testid="admin-only"]').text()).toBe(ko.access.adminOnly);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('sends the filters and the search, and loads the next page after the last cursor', async () => {
    once('PoolHosts', json(page(HOSTS, false, 3)));
    once('PoolHosts', json(page(HOSTS, false, 3)));
    once('PoolHosts', json(page([HOSTS[0]], true, 2)));
    once('PoolHosts', json(page([HOSTS[2]], false, 2)));
    const w = await mountPage();
    await w.get('[data-testid="pool-filter-infra"]').setValue('vsphere');
    await flushPromises();
    await w.get('[data-testid="pool-search"]').setValue(' WK- ');
    await w.get('[data-testid="pool-apply"]').trigger('submit');
    await flushPromises();
    const calls = callsOf('PoolHosts');
    expect(calls[0]).toEqual({ first: 50, after: null, infra: null, status: null, search: null });
    expect(calls[1]).toEqual({ first: 50, after: null, infra: 'vsphere', status: null, search: null });
    expect(calls[2]).toEqual({ first: 50, after: null, infra: 'vsphere', status: null, search: 'WK-' });
    expect(w.get('[data-testid="pool-count"]').text()).toBe('1 / 2대');
    await w.get('[data-testid="pool-load-more"]').trigger('click');
    await flushPromises();
    expect(callsOf('PoolHosts')[3]).toMatchObject({ after: 'cursor-1', infra: 'vsphere', search: 'WK-' });
    expect(w.findAll('[data-testid^="pool-row-"]').map((r) => r.attributes('data-testid'))).toEqual(['pool-row-10.1.0.1', 'pool-row-10.1.0.3']);
    expect(w.find('[data-testid="pool-load-more"]').exists()).toBe(false);
  });

  it('drains and undrains a host, replacing its row and refreshing the counts', async () => {
    const w = await mountPage();
    const summaries = callsOf('WorkloadPool').length;
    await w.get('[data-testid="drain-10.1.0.1"]').trigger('click');
    await flushPromises();
    expect(callsOf('DrainPoolHost')).toEqual([{ id: 1 }]);
    expect(row(w, '10.1.0.1').attributes('data-status')).toBe('drained');
    expect(callsOf('WorkloadPool').length).toBe(summaries + 1);
    await w.get('[data-testid="undrain-10.1.0.3"]').trigger('click');
    await flushPromises();
    expect(callsOf('UndrainPoolHost')).toEqual([{ id: 3 }]);
    expect(row(w, '10.1.0.3').attributes('data-status')).toBe('available');

    once('DrainPoolHost', gqlError('NOT_FOUND'));
    await w.get('[data-testid="drain-10.1.0.3"]').trigger('click');
    await flushPromises();
    expect(row(w, '10.1.0.3').get('[data-testid="pool-row-error"]').text()).toBe(ko.adminPool.errors.notFound);
  });

  it("removes a host only after confirmation; a held host's refusal names its project from the error's extensions", async () => {
    const w = await mountPage();
    await w.get('[data-testid="remove-10.1.0.2"]').trigger('click');
    expect(callsOf('RemovePoolHost')).toHaveLength(0);
    expect(w.get('[data-testid="confirm-dialog"]').text()).toContain('WK-2 (10.1.0.2)');
    once('RemovePoolHost', gqlError('CONFLICT', { projectId: 42 }));
    await w.get('[data-testid="confirm-ok"]').trigger('click');
    await flushPromises();
    expect(w.get('[data-testid="confirm-error"]').text()).toBe(ko.adminPool.errors.held.replace('{project}', '42'));
    expect(w.text()).not.toContain('server words');
    await w.get('[data-testid="confirm-cancel"]').trigger('click');
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false);

    await w.get('[data-testid="remove-10.1.0.1"]').trigger('click');
    await w.get('[data-testid="confirm-ok"]').trigger('click');
    await flushPromises();
    expect(callsOf('RemovePoolHost')).toEqual([{ id: 2 }, { id: 1 }]);
    expect(w.find('[data-testid="pool-row-10.1.0.1"]').exists()).toBe(false);
    expect(w.get('[data-testid="pool-count"]').text()).toBe('2 / 2대');
  });

  it("resets a host's recorded key only after confirmation", async () => {
    const w = await mountPage();
    await w.get('[data-testid="reset-key-10.1.0.2"]').trigger('click');
    expect(w.get('[data-testid="confirm-dialog"]').text()).toContain(ko.adminPool.confirm.resetKeyTitle);
    await w.get('[data-testid="confirm-ok"]').trigger('click');
    await flushPromises();
    expect(callsOf('ResetPoolHostKey')).toEqual([{ id: 2 }]);
    expect(row(w, '10.1.0.2').get('[data-testid="pool-host-key"]').text()).toBe(ko.adminPool.table.keyNotSet);
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false);
  });

  it('checks one host, and the selected ones together, showing ok or failed with the message and the time', async () => {
    const w = await mountPage();
    expect(w.get('[data-testid="check-selected"]').attributes('disabled')).toBeDefined();
    await w.get('[data-testid="check-10.1.0.3"]').trigger('click');
    await flushPromises();
    expect(callsOf('CheckPoolHosts')).toEqual([{ ids: [3] }]);
    expect(row(w, '10.1.0.3').get('[data-testid="pool-check-message"]').text()).toBe('no answer within 10 s');

    const boxes = w.findAll('[data-testid="pool-select"]');
    await boxes[0].setValue(true);
    await boxes[2].setValue(true);
    expect(w.get('[data-testid="check-selected"]').text()).toBe(ko.adminPool.actions.checkSelected.replace('{count}', '2'));
    await w.get('[data-testid="check-selected"]').trigger('click');
    await flushPromises();
    expect(callsOf('CheckPoolHosts')[1]).toEqual({ ids: [1, 3] });
    expect(row(w, '10.1.0.1').attributes('data-check')).toBe('ok');
    expect(row(w, '10.1.0.1').get('[data-testid="pool-check-result"]').text()).toBe(ko.adminPool.table.ok);
    expect(row(w, '10.1.0.1').get('[data-testid="pool-check-message"]').text()).toBe('ok; host key recorded');
    expect(row(w, '10.1.0.1').find('time').attributes('datetime')).toBe('2026-02-03T04:05:06.000Z');
    expect(row(w, '10.1.0.3').attributes('data-check')).toBe('failed');

    await w.get('[data-testid="pool-select-all"]').setValue(true);
    expect(w.get('[data-testid="check-selected"]').text()).toBe(ko.adminPool.actions.checkSelected.replace('{count}', '3'));
  });
});

describe('adding hosts', () => {
  it('reads a pasted list a host a line, skipping blank lines and comments, with the default infrastructure where none is given', () => {
    const list = parseHostList('# pool\nweb-1 10.0.0.1\n\nweb-2, 10.0.0.2, AWS\ndb-1\t10.0.0.3\tmoon\n', 'vsphere');
    expect(list.hosts).toEqual([
      { vmName: 'web-1', ipAddress: '10.0.0.1', infra: 'vsphere' },
      { vmName: 'web-2', ipAddress: '10.0.0.2', infra: 'aws' },
      { vmName: 'db-1', ipAddress: '10.0.0.3', infra: 'moon' },
    ]);
    expect(list.lines).toEqual([2, 4, 5]);
  });

  it('adds a pasted list; when the server refuses it, every problem is shown with its line, by the issue type', async () => {
    const w = await mountPage();
    await w.get('[data-testid="open-add-hosts"]').trigger('click');
    await w.get('[data-testid="add-mode-list"]').setValue(true);
    await w.get('[data-testid="add-list"]').setValue('web-1 10.0.0.1\n# comment\nweb-2 10.0.0.300 aws\n\nweb-3 10.1.0.1');
    expect(w.get('[data-testid="add-parsed"]').text()).toBe(ko.adminPool.add.parsed.replace('{count}', '3'));
    once('AddPoolHosts', gqlError('BAD_USER_INPUT', {
      issues: [
        { loc: ['body', 'hosts', 1, 'ip_address'], msg: 'server words', type: 'value_error' },
        { loc: ['body', 'hosts', 2, 'ip_address'], msg: 'server words', type: 'value_error.exists' },
      ],
    }));
    await w.get('[data-testid="add-hosts-dialog"] form').trigger('submit');
    await flushPromises();
    expect(callsOf('AddPoolHosts')[0].hosts).toEqual([
      { vmName: 'web-1', ipAddress: '10.0.0.1', infra: 'vsphere' },
      { vmName: 'web-2', ipAddress: '10.0.0.300', infra: 'aws' },
      { vmName: 'web-3', ipAddress: '10.1.0.1', infra: 'vsphere' },
    ]);
    expect(w.get('[data-testid="add-error"]').text()).toBe(ko.adminPool.add.problems);
    const line = (n: number, problem: string) => ko.adminPool.add.line.replace('{line}', String(n)).replace('{problem}', problem);
    expect(w.findAll('[data-testid="add-problems"] li').map((li) => li.text())).toEqual([line(3, ko.adminPool.issues.ipAddress), line(5, ko.adminPool.issues.exists)]);
    // The list's problems are its description, for a screen reader.
    expect(w.get('[data-testid="add-list"]').attributes('aria-invalid')).toBe('true');
    expect(describedText(w.get('[data-testid="add-list"]').element)).toContain(line(5, ko.adminPool.issues.exists));
    expect(w.text()).not.toContain('server words');

    await w.get('[data-testid="add-list"]').setValue('web-1 10.0.0.1\nweb-2 10.0.0.2 aws');
    await w.get('[data-testid="add-hosts-dialog"] form').trigger('submit');
    await flushPromises();
    expect(w.find('[data-testid="add-hosts-dialog"]').exists()).toBe(false);
    expect(w.get('[data-testid="pool-added"]').text()).toBe(ko.adminPool.add.added.replace('{count}', '2'));
    expect(callsOf('PoolHosts')).toHaveLength(2);
  });

  it('says how many problems the server left out of a long refusal, after the first 50 it lists', async () => {
    const w = await mountPage();
    await w.get('[data-testid="open-add-hosts"]').trigger('click');
    await w.get('[data-testid="add-mode-list"]').setValue(true);
    await w.get('[data-testid="add-list"]').setValue(Array.from({ length: 60 }, (_, i) => `web-${i} 10.0.0.300`).join('\n'));
    once('AddPoolHosts', gqlError('BAD_USER_INPUT', {
      issues: [
        ...Array.from({ length: 50 }, (_, i) => ({ loc: ['body', 'hosts', i, 'ip_address'], msg: 'server words', type: 'value_error' })),
        { loc: ['body'], msg: '… and 10 more problems', type: 'too_many_errors', ctx: { more: 10 } },
      ],
    }));
    await w.get('[data-testid="add-hosts-dialog"] form').trigger('submit');
    await flushPromises();
    const problems = w.findAll('[data-testid="add-problems"] li').map((li) => li.text());
    expect(problems).toHaveLength(51);
    expect(problems[49]).toBe(ko.adminPool.add.line.replace('{line}', '50').replace('{problem}', ko.adminPool.issues.ipAddress));
    expect(problems[50]).toBe(ko.adminPool.issues.more.replace('{n}', '10'));
  });

  it('adds one host, showing the problems of a refused one on its fields', async () => {
    const w = await mountPage();
    await w.get('[data-testid="open-add-hosts"]').trigger('click');
    await w.get('[data-testid="add-vm-name"]').setValue('bad name');
    await w.get('[data-testid="add-ip-address"]').setValue('10.0.0.1');
    await w.get('[data-testid="add-infra"]').setValue('aws');
    once('AddPoolHosts', gqlError('BAD_USER_INPUT', { issues: [{ loc: ['body', 'hosts', 0, 'vm_name'], msg: 'server words', type: 'string_pattern_mismatch' }] }));
    await w.get('[data-testid="add-hosts-dialog"] form').trigger('submit');
    await flushPromises();
    expect(callsOf('AddPoolHosts')[0]).toEqual({ hosts: [{ vmName: 'bad name', ipAddress: '10.0.0.1', infra: 'aws' }] });
    expect(w.get('[data-testid="add-vm-name"]').attributes('aria-invalid')).toBe('true');
    expect(w.get('[data-testid="add-ip-address"]').attributes('aria-invalid')).toBe('false');
    expect(w.text()).toContain(ko.adminPool.issues.vmName);
    expectErrorTied(w.get('[data-testid="add-vm-name"]').element, ko.adminPool.issues.vmName);
    expect(w.get('[data-testid="add-ip-address"]').attributes('aria-describedby')).toBeUndefined();
    expectFieldsLabelled(w.get('[data-testid="add-hosts-dialog"]').element);

    await w.get('[data-testid="add-vm-name"]').setValue('good-name');
    await w.get('[data-testid="add-hosts-dialog"] form').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid="pool-added"]').text()).toBe(ko.adminPool.add.added.replace('{count}', '1'));
  });

  it('sends nothing for an empty list', async () => {
    const w = await mountPage();
    await w.get('[data-testid="open-add-hosts"]').trigger('click');
    await w.get('[data-testid="add-mode-list"]').setValue(true);
    await w.get('[data-testid="add-list"]').setValue('\n# only a comment\n');
    await w.get('[data-testid="add-hosts-dialog"] form').trigger('submit');
    await flushPromises();
    expect(callsOf('AddPoolHosts')).toHaveLength(0);
    expect(w.get('[data-testid="add-error"]').text()).toBe(ko.adminPool.add.nothing);
  });
});
