/**
 * /history in Chromium against the real server: newest first, live rows (a project started
 * through the API appears at the top and turns COMPLETED without a reload), filters and load
 * more, rows that expand to logs and resources, the admin's owners, delete and CSV export, and
 * a live feed that reopens on its own after its socket is cut.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN, waitFor, waitForFinalStatus } from '../helpers/server.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const DAVE = { username: 'dave', password: 'dave-password-1' };

describe.skipIf(!browserAvailable('console history'))('console provisioning history, in Chromium', () => {
  let harness: ConsoleHarness;
  let daveToken: string;
  /** Dave's projects, oldest first. */
  const daves: { id: number; name: string; infra: 'aws' | 'vsphere' }[] = [];

  async function order(token: string, serviceName: string, infra: 'aws' | 'vsphere'): Promise<number> {
    const body =
      infra === 'aws'
        ? { serviceName, config: { instanceType: 't3.micro', nodeCount: 2 }, targetInfra: 'aws' }
        : { serviceName, config: { template: 'single', traffic: 'mid', packages: ['nginx'] }, targetInfra: 'vsphere' };
    const res = await harness.server.request('POST', '/api/provision', { token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.project_id;
  }

  /** Opens /history (through the sign-in modal), then the page with `query`. */
  async function openHistory(page: Page, who: { username: string; password: string }, query = ''): Promise<void> {
    await page.goto(`${harness.server.url}/history`);
    await page.waitForURL(signInFor('/history'));
    await signInThroughModal(page, who.username, who.password);
    await page.waitForURL((url) => url.pathname === '/history');
    await page.getByTestId('history-view').waitFor();
    if (query) await page.goto(`${harness.server.url}/history${query}`);
    await page.getByTestId('history-table').waitFor();
    await page.getByTestId('history-loading').waitFor({ state: 'detached' });
  }

  const rowIds = async (page: Page) =>
    (await page.locator('tr[data-testid^="history-row-"]').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-testid')!.slice('history-row-'.length)))));

  beforeAll(async () => {
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '120' } });
    daveToken = await harness.server.createUser(DAVE.username, DAVE.password);
    await harness.server.createUser('erin');
    const plan: ['aws' | 'vsphere', string][] = [
      ['vsphere', 'dave-web-1'],
      ['aws', 'dave-design-1'],
      ['vsphere', 'dave-web-2'],
      ['aws', 'dave-design-2'],
      ['vsphere', 'dave-web-3'],
    ];
    for (const [infra, name] of plan) daves.push({ id: await order(daveToken, name, infra), name, infra });
    for (const p of daves) expect((await waitForFinalStatus(harness.server, p.id, daveToken)).status).toBe('COMPLETED');
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("shows a user's projects newest first, pages and filters them, and follows a new project live without owners, delete or export", async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await openHistory(page, DAVE, '?first=3');
    expect(await page.getByTestId('page-title').textContent()).toContain(ko.history.title);
    const newest = daves.map((p) => p.id).reverse();
    await expect.poll(() => rowIds(page)).toEqual(newest.slice(0, 3));

    // a normal user: no owner column, no delete, no export, no admin badge
    expect(await page.getByTestId('owner-column').count()).toBe(0);
    expect(await page.locator('[data-testid^="delete-"]').count()).toBe(0);
    expect(await page.getByTestId('export-csv').count()).toBe(0);
    expect(await page.getByTestId('admin-mode').count()).toBe(0);

    // badge, address, spec and a created time in the page's locale
    const top = page.getByTestId(`history-row-${newest[0]}`);
    expect(await top.getByTestId('status-badge').getAttribute('data-tone')).toBe('green');
    expect(await top.getByTestId('cell-ip').textContent()).toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(await top.getByTestId('cell-spec').textContent()).toMatch(/\d+ vCore \/ \d+ GB.*nginx/s);
    expect(await page.getByTestId(`history-row-${newest[1]}`).getByTestId('cell-spec').textContent()).toContain('t3.micro × 2');
    expect(await top.getByTestId('cell-created').textContent()).toMatch(/\d{4}\. ?\d{1,2}\. ?\d{1,2}\./);
    await shot('history-user-first-page');

    await page.getByTestId('load-more').click();
    await expect.poll(() => rowIds(page)).toEqual(newest);
    expect(await page.getByTestId('load-more').count()).toBe(0);

    await page.getByTestId('filter-infra').selectOption({ label: ko.history.infra.aws });
    const aws = daves.filter((p) => p.infra === 'aws').map((p) => p.id).reverse();
    await expect.poll(() => rowIds(page)).toEqual(aws);
    await page.getByTestId('filter-status').selectOption('FAILED');
    await page.getByTestId('history-empty').waitFor();
    await shot('history-user-filter-empty');
    await page.getByTestId('filter-status').selectOption({ label: ko.history.all });
    await page.getByTestId('filter-infra').selectOption({ label: ko.history.all });
    await expect.poll(() => rowIds(page)).toEqual(newest.slice(0, 3));

    // started through the API while the page is open: at the top, then COMPLETED, no reload
    await page.getByTestId('live-indicator').waitFor();
    const liveId = await order(daveToken, 'dave-live', 'vsphere');
    await expect.poll(() => rowIds(page).then((ids) => ids[0])).toBe(liveId);
    const liveRow = page.getByTestId(`history-row-${liveId}`);
    expect(await liveRow.getByTestId('cell-name').textContent()).toBe('dave-live');
    await expect.poll(() => liveRow.getAttribute('data-status'), { timeout: 20_000 }).toBe('COMPLETED');
    expect(await liveRow.getByTestId('cell-ip').textContent()).toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(await liveRow.getByTestId('cell-spec').textContent()).toContain('nginx');
    // an erin project never shows up here
    const erins = await order(await harness.server.login('erin', 'erin-password-1'), 'erin-secret', 'vsphere');
    await waitForFinalStatus(harness.server, erins, harness.server.adminToken);
    expect(await page.getByText('erin-secret').count()).toBe(0);

    // expand: logs and resources
    await page.getByTestId(`expand-${newest[0]}`).click();
    const details = page.getByTestId(`details-${newest[0]}`);
    await details.getByTestId('details-logs').waitFor();
    expect(await details.getByTestId('details-logs').textContent()).toContain('Allocating IP');
    expect(await details.getByTestId('details-resources').textContent()).toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(await page.getByTestId(`expand-${newest[0]}`).getAttribute('aria-expanded')).toBe('true');
    await shot('history-user-live-and-expanded');
    await finish();
  });

  it('lets an admin see owners, export CSV and delete with a keyboard-usable confirmation', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const victim = await order(daveToken, 'dave-to-delete', 'vsphere');
    await waitForFinalStatus(harness.server, victim, daveToken);
    const held = async () => {
      const res = await harness.server.gql('{ resources(first: 500, kind: host) { nodes { kind projectId } } }', {}, daveToken);
      return (res.data.resources.nodes as any[]).filter((r) => r.kind === 'host' && r.projectId === victim).length;
    };
    expect(await held()).toBeGreaterThan(0);

    await openHistory(page, ADMIN);
    await page.getByTestId('owner-column').waitFor();
    await page.getByTestId('admin-mode').waitFor();
    const row = page.getByTestId(`history-row-${victim}`);
    expect(await row.getByTestId('cell-owner').textContent()).toBe('dave');
    await shot('history-admin');

    // CSV: the loaded rows, BOM, original header
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe('ID,Service Name,Status,Created At,vCPU,Memory,HA,Packages,Target vCenter');
    const ids = await rowIds(page);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(ids);
    expect(lines.find((l) => l.startsWith(`${victim},`))).toMatch(new RegExp(`^${victim},dave-to-delete,COMPLETED,\\d{4}-\\d\\d-\\d\\dT[^,]+,\\d+,\\d+,single,nginx,vsphere`));
    expect(download.suggestedFilename()).toMatch(/^provisioning_history_\d{4}-\d\d-\d\d\.csv$/);

    // delete: Escape cancels, then Tab to Delete and Enter confirms
    await page.getByTestId(`delete-${victim}`).click();
    await page.getByTestId('delete-dialog').waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('delete-cancel');
    await page.keyboard.press('Escape');
    await page.getByTestId('delete-dialog').waitFor({ state: 'detached' });
    expect(await row.count()).toBe(1);

    await page.getByTestId(`delete-${victim}`).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('delete-dialog').waitFor();
    await shot('history-admin-delete-dialog');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('delete-confirm');
    await page.keyboard.press('Enter');
    await page.getByTestId('delete-dialog').waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    await waitFor(async () => (await held()) === 0, 5_000, 'hosts to be freed');
    const gone = await harness.server.gql('query($id: Int!) { project(id: $id) { id } }', { id: victim }, harness.server.adminToken);
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await finish();
  });

  it('reopens the live feed on its own after its socket is cut, and shows what changed meanwhile without Refresh', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    // The page's first-page loads (HistoryPage), counted from the browser's side.
    let pageLoads = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql' && request.method() === 'POST' && (request.postData() ?? '').includes('query HistoryPage')) pageLoads += 1;
    });
    // The server's WebSocket upgrades, to cut them (a dropped network) and to refuse new ones for a while.
    const sockets = new Set<Duplex>();
    let refuse = false;
    let refused = 0;
    const onUpgrade = (request: IncomingMessage, socket: Duplex) => {
      if (!request.url?.startsWith('/graphql')) return;
      if (refuse) {
        refused += 1;
        socket.destroy();
      } else sockets.add(socket);
    };
    const http = harness.server.app.http.server;
    http.on('upgrade', onUpgrade);
    try {
      await openHistory(page, DAVE);
      await page.getByTestId('live-indicator').waitFor();
      expect(sockets.size).toBeGreaterThan(0);
      const loadsBefore = pageLoads;

      // Cut: the page says it is reconnecting, and its tries fail while the server refuses them.
      refuse = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await page.getByTestId('live-reconnecting').waitFor();
      expect(await page.getByTestId('live-reconnecting').textContent()).toContain(ko.history.reconnecting);
      expect(await page.getByTestId('live-indicator').count()).toBe(0);
      await waitFor(() => refused > 0, 10_000, 'a reconnection try');

      // Meanwhile a project is started and finishes: none of its changes can reach the page.
      const missed = await order(daveToken, 'dave-while-down', 'vsphere');
      await waitForFinalStatus(harness.server, missed, daveToken);
      expect(await page.getByTestId(`history-row-${missed}`).count()).toBe(0);
      await shot('history-reconnecting');

      // The server accepts again: the feed reopens by itself and the first page is loaded again.
      refuse = false;
      await page.getByTestId('live-indicator').waitFor({ timeout: 15_000 });
      const row = page.getByTestId(`history-row-${missed}`);
      await row.waitFor();
      expect(await row.getAttribute('data-status')).toBe('COMPLETED');
      expect(await rowIds(page).then((ids) => ids[0])).toBe(missed);
      expect(pageLoads).toBe(loadsBefore + 1);

      // And the reopened feed carries what happens next, with no other load of the page.
      const later = await order(daveToken, 'dave-after-reconnect', 'vsphere');
      await expect.poll(() => rowIds(page).then((ids) => ids[0])).toBe(later);
      await expect.poll(() => page.getByTestId(`history-row-${later}`).getAttribute('data-status'), { timeout: 20_000 }).toBe('COMPLETED');
      expect(pageLoads).toBe(loadsBefore + 1);
      await shot('history-reconnected');
    } finally {
      http.off('upgrade', onUpgrade);
    }
    // Chromium reports each refused try as a failed WebSocket connection.
    await finish(['WebSocket connection to']);
  });
});
