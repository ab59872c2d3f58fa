// @vitest-environment happy-dom
/**
 * The console's side of the terminal: the socket speaks the server's protocol (token in the
 * first frame only, keystrokes binary, resize and renewal as text), every close code the server
 * uses is explained in Korean and English, and the Terminal buttons appear where a terminal can
 * open — running project hosts on /monitoring, a COMPLETED project's hosts in /history — and
 * open it in the shared dock state.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import { TERMINAL_CLOSE } from '../../server/services/terminal-access.js';
import HistoryDetails from '../../client/src/components/history/HistoryDetails.vue';
import ResourceTable from '../../client/src/components/monitoring/ResourceTable.vue';
import { useTerminals } from '../../client/src/composables/useTerminals';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import { closeMessageKey, TERMINAL_CLOSE_MESSAGES, TerminalSocket, terminalUrl } from '../../client/src/utils/terminal-socket';

class FakeSocket {
  static last: FakeSocket;
  binaryType: BinaryType = 'blob';
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string | Uint8Array) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  receive(data: string | ArrayBuffer) {
    this.onmessage?.({ data } as MessageEvent);
  }
  closeWith(code: number, reason: string) {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
}

const lookup = (messages: unknown, key: string) => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], messages);

describe('terminal socket', () => {
  it('sends the token in the first frame only, then keystrokes as binary frames and control messages as text', () => {
    const handlers = { ready: vi.fn(), data: vi.fn(), exit: vi.fn(), closed: vi.fn() };
    const url = terminalUrl(7, '10.1.0.5', { protocol: 'https:', host: 'cmp.example:8443' });
    expect(url).toBe('wss://cmp.example:8443/ws/terminal?project=7&host=10.1.0.5');
    const socket = new TerminalSocket({ url, token: 'secret-token', cols: 100, rows: 30, webSocketImpl: FakeSocket }, handlers);
    const fake = FakeSocket.last;
    expect(fake.url).not.toContain('secret-token');
    expect(fake.binaryType).toBe('arraybuffer');
    socket.send('ls');
    expect(fake.sent).toEqual([]);
    fake.open();
    expect(fake.sent).toEqual([JSON.stringify({ type: 'auth', token: 'secret-token', cols: 100, rows: 30 })]);
    fake.receive(JSON.stringify({ type: 'ready' }));
    expect(handlers.ready).toHaveBeenCalledOnce();
    socket.send('ls -l\r');
    socket.send(new Uint8Array([0x1b, 0x5b]));
    socket.resize(120, 40);
    socket.renew('renewed-token');
    expect(fake.sent.slice(1)).toEqual([
      new TextEncoder().encode('ls -l\r'),
      new Uint8Array([0x1b, 0x5b]),
      JSON.stringify({ type: 'resize', cols: 120, rows: 40 }),
      JSON.stringify({ type: 'auth', token: 'renewed-token' }),
    ]);
    fake.receive(new Uint8Array([104, 105]).buffer);
    expect(handlers.data).toHaveBeenCalledWith(new Uint8Array([104, 105]));
    fake.receive(JSON.stringify({ type: 'exit', code: 2 }));
    expect(handlers.exit).toHaveBeenCalledWith(2);
    fake.closeWith(1000, 'The shell exited with code 2');
    expect(handlers.closed).toHaveBeenCalledWith(1000, 'The shell exited with code 2');
  });

  it("explains every close code the server uses, in Korean and English; anything else is a dropped connection", () => {
    const serverCodes = Object.values(TERMINAL_CLOSE).sort();
    expect(Object.keys(TERMINAL_CLOSE_MESSAGES).map(Number).sort()).toEqual(serverCodes);
    for (const code of [...serverCodes, 1006, 4999]) {
      for (const messages of [ko, en]) expect(lookup(messages, closeMessageKey(code)), `${code}`).toEqual(expect.any(String));
    }
    expect(closeMessageKey(1006)).toBe('terminal.ended.dropped');
    expect(closeMessageKey(4403)).toBe('terminal.ended.forbidden');
    expect([ko.terminal.ended.idle, en.terminal.ended.idle]).toEqual(['입력이 없는 시간이 길어 세션이 종료되었습니다.', 'The session ended after a long time without input.']);
  });
});

describe('terminal buttons', () => {
  const i18n = () => createI18n({ legacy: false, locale: 'en', messages: { ko, en } });
  const row = (over: Record<string, unknown>) => ({
    kind: 'host', hostId: 1, vmName: 'WK-1', ipAddress: '10.7.0.1', infra: 'vsphere', projectId: 5, projectName: 'shop', owner: 'ann', status: 'Running',
    cpuUsage: 0, memoryUsage: 0, diskUsage: 0, hasMetrics: false, networkIn: null, networkOut: null, load1: null, uptimeSeconds: null, ...over,
  });
  afterEach(() => {
    const { terminals, close } = useTerminals();
    for (const t of terminals.value) close(t.key);
    vi.unstubAllGlobals();
  });

  it('on /monitoring: one per running host of a project, none for free hosts or derived rows; it opens the host in the dock', async () => {
    const rows = [
      row({}),
      row({ hostId: 2, vmName: 'WK-2', ipAddress: '10.7.0.2', projectId: null, projectName: '', status: 'Available' }),
      row({ hostId: 3, vmName: 'WK-3', ipAddress: '10.7.0.3', status: 'Provisioning' }),
      row({ kind: 'ssh', hostId: null, vmName: 'SSH-1', ipAddress: '10.7.0.1' }),
    ];
    const wrapper = mount(ResourceTable, { props: { rows, metricsShown: false, showOwner: false, charted: null }, global: { plugins: [i18n()] } });
    expect(wrapper.findAll('[data-testid^="terminal-"]').map((b) => b.attributes('data-testid'))).toEqual(['terminal-10.7.0.1']);
    const button = wrapper.get('[data-testid="terminal-10.7.0.1"]');
    expect([button.text(), button.attributes('aria-label')]).toEqual(['Terminal', 'Open a terminal to 10.7.0.1']);
    await button.trigger('click');
    await button.trigger('click');
    const { terminals, active } = useTerminals();
    expect(terminals.value.map((t) => [t.projectId, t.host, t.name])).toEqual([[5, '10.7.0.1', 'WK-1']]);
    expect(active.value).toBe(terminals.value[0].key);
  });

  it("in /history's expanded row: one per host of a COMPLETED project, none once it failed", async () => {
    const project = (status: string) => ({
      id: 9, serviceName: 'shop', status, assignedIp: '10.7.0.4', templateType: 'standard', owner: 'ann', infra: 'vsphere', config: {}, details: {}, lastSeq: 5, attempt: 1, pendingAction: null,
      createdAt: '2026-12-01T00:00:00Z', updatedAt: '2026-12-01T00:00:00Z', logs: ['Completed'], errorMessage: null,
      resources: { albIp: '10.7.0.4', webUrl: 'http://10.7.0.4/', dbVip: 'db.local', sshTargets: [{ host: '10.7.0.4', port: 22, user: 'root' }, { host: '10.7.0.5', port: 22, user: 'root' }] },
    });
    for (const [status, expected] of [['COMPLETED', ['terminal-10.7.0.4', 'terminal-10.7.0.5']], ['FAILED', []]] as const) {
      vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ data: { project: project(status) } }), { status: 200, headers: { 'content-type': 'application/json' } })));
      const wrapper = mount(HistoryDetails, { props: { projectId: 9 }, global: { plugins: [i18n()] } });
      await flushPromises();
      expect(wrapper.findAll('[data-testid^="terminal-"]').map((b) => b.attributes('data-testid'))).toEqual(expected);
      wrapper.unmount();
    }
  });
});
