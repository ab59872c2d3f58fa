/**
 * The console's terminal in Chromium against a real host: a fleet host (a network namespace
 * with its own sshd) is the pool, the mock runner completes one-host orders on it, and the
 * server logs in as root with the fleet's key. From /monitoring the user opens a terminal on
 * their host, types a command and sees its output; the terminal follows its pane when the dock
 * grows; xterm.js is fetched only once a terminal opens. From /history's expanded row the same
 * host opens again; the pane says why a session ended, in Korean and in English.
 *
 * Needs root (the fleet host) and Chromium: skipped with a message elsewhere (CI has both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Fleet } from '../../scripts/fleet/lib.js';
import en from '../../client/src/i18n/en.js';
import { browserAvailable } from '../helpers/browser.js';
import { removeFleet, testFleet } from '../helpers/fleet.js';
import { shouldRunAsRoot } from '../helpers/root.js';
import { waitForFinalStatus } from '../helpers/server.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const SUITE = 'console terminal to a fleet host';
const runSuite = browserAvailable(SUITE) && shouldRunAsRoot(SUITE);
const USER = { username: 'tara', password: 'tara-password-1' };

/** The text xterm.js shows (its DOM renderer's rows). */
const screenText = (page: Page, host: string) => page.getByTestId(`terminal-pane-${host}`).locator('.xterm-rows').innerText();

async function typeLine(page: Page, host: string, line: string): Promise<void> {
  await page.getByTestId(`terminal-pane-${host}`).locator('.xterm-screen').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

describe.skipIf(!runSuite)(SUITE, () => {
  let fleet: Fleet;
  let harness: ConsoleHarness;
  let token: string;
  let host: string;
  let projectId: number;

  beforeAll(async () => {
    fleet = await testFleet(1);
    host = fleet.hosts[0].address;
    harness = await startConsole({ env: { WORKLOAD_POOL_FILE: fleet.poolFile, SSH_USER: 'root', SSH_PRIVATE_KEY_FILE: fleet.keyFile, MOCK_STEP_DELAY_MS: '50' } });
    token = await harness.server.createUser(USER.username, USER.password);
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
    removeFleet(fleet);
  }, 60_000);

  async function order(serviceName: string): Promise<number> {
    const created = await harness.server.request('POST', '/api/provision', { token, body: { serviceName, config: { template: 'single' }, targetInfra: 'vsphere' } });
    expect(created.status).toBe(200);
    expect((await waitForFinalStatus(harness.server, created.body.project_id, token)).status).toBe('COMPLETED');
    return created.body.project_id;
  }

  it('opens a terminal from /monitoring, runs a command and shows its output; the screen follows the pane; a teardown ends it, said in Korean', async () => {
    projectId = await order('terminal-shop');
    const { page, shot, finish } = await openConsolePage(harness);
    const terminalChunks: string[] = [];
    page.on('request', (request) => {
      if (/\/assets\/TerminalDock-[^/]+\.js$/.test(new URL(request.url()).pathname)) terminalChunks.push(request.url());
    });
    await page.goto(`${harness.server.url}/monitoring`);
    await page.waitForURL(signInFor('/monitoring'));
    await signInThroughModal(page, USER.username, USER.password);
    await page.waitForURL('**/monitoring');

    const button = page.getByTestId(`row-host-${host}`).getByTestId(`terminal-${host}`);
    await button.waitFor();
    expect(await button.textContent()).toContain(ko.terminal.open);
    expect(terminalChunks).toEqual([]);
    await button.click();
    const pane = page.getByTestId(`terminal-pane-${host}`);
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
    expect(terminalChunks).toHaveLength(1);
    expect(await page.getByTestId(`terminal-tab-${host}`).textContent()).toContain(`${fleet.hosts[0].name} (${host})`);

    await typeLine(page, host, 'echo "hello from $(hostname -I | tr -d " ")": $((6*7))');
    await expect.poll(() => screenText(page, host), { timeout: 10_000 }).toContain(`hello from ${host}: 42`);
    await shot('terminal-monitoring');

    // The pane grows (maximized): xterm fits the new size and the server's pseudo-terminal follows.
    await typeLine(page, host, 'stty size');
    const sizeOf = async () => {
      const sizes = [...(await screenText(page, host)).matchAll(/^(\d+) (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
      return sizes.at(-1);
    };
    await expect.poll(sizeOf).toBeDefined();
    const [rowsBefore, colsBefore] = (await sizeOf())!;
    await page.getByTestId('terminal-maximize').click();
    await typeLine(page, host, 'clear; stty size');
    await expect.poll(async () => (await sizeOf())?.[0] ?? 0).toBeGreaterThan(rowsBefore);
    expect((await sizeOf())![1]).toBe(colsBefore);
    await shot('terminal-maximized');
    await page.getByTestId('terminal-maximize').click();

    // The project's teardown starts: the session ends and the pane says why.
    expect((await harness.server.request('DELETE', `/api/provision/${projectId}`, { token })).status).toBe(200);
    const ended = page.getByTestId('terminal-ended');
    await ended.waitFor({ timeout: 10_000 });
    expect(await ended.getAttribute('data-code')).toBe('4409');
    expect(await page.getByTestId('terminal-ended-text').textContent()).toBe(ko.terminal.ended.notCompleted);
    await shot('terminal-ended-teardown');
    await page.getByTestId(`terminal-close-${host}`).click();
    expect(await page.getByTestId('terminal-dock').count()).toBe(0);
    await finish();
  }, 120_000);

  it("opens the host from /history's expanded row, in English, and says how the shell exited", async () => {
    // The previous project's teardown gives the host back first.
    await expect.poll(async () => ((await harness.server.request('GET', '/api/history', { token })).body as unknown[]).length, { timeout: 20_000 }).toBe(0);
    const id = await order('terminal-history');
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/history`);
    await page.waitForURL(signInFor('/history'));
    await signInThroughModal(page, USER.username, USER.password);
    await page.waitForURL('**/history');
    await page.getByTestId('locale-en').click();
    await page.getByTestId(`expand-${id}`).click();
    const button = page.getByTestId(`details-${id}`).getByTestId(`terminal-${host}`);
    await button.waitFor();
    expect(await button.textContent()).toContain(en.terminal.open);
    await button.click();
    const pane = page.getByTestId(`terminal-pane-${host}`);
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
    await typeLine(page, host, 'echo history-$((2+3))');
    await expect.poll(() => screenText(page, host)).toContain('history-5');
    await typeLine(page, host, 'exit 5');
    await page.getByTestId('terminal-ended').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('terminal-ended-text').textContent()).toBe('The shell exited (exit code 5).');
    await shot('terminal-history-exited');

    // Connecting again opens a new session on the same pane.
    await page.getByTestId('terminal-reconnect').click();
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
    await finish();
  }, 120_000);
});
