/**
 * The console's whole journey with the keyboard alone (issue 19, item 2): `/` → AWS card →
 * /configure → sign in → design on /main_ui → Provision Stack → the run overlay to success →
 * /history → expand the row → an admin deletes it through its dialog. Only page.keyboard is
 * used on the page (Tab, Shift+Tab, Enter, Space, arrows, Escape, typed text); every step checks
 * where the focus is, that it enters each dialog, stays there and comes back to its opener.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN, waitFor } from '../helpers/server.js';
import { THEME_STORAGE_KEY } from '../../client/src/utils/theme.js';
import { ko, openConsolePage, startConsole, type ConsoleHarness } from './console-harness.js';

const USER = { username: 'kbd-user', password: 'kbd-password-1' };
const SERVICE = 'kbd-shop';

/** What has the focus: enough to say where it is and to match it. */
interface Focused {
  tag: string;
  type: string | null;
  checked: boolean;
  testId: string | null;
  id: string;
  role: string | null;
  name: string;
  inDialog: string | null;
  outlineStyle: string;
  outlineWidth: number;
  expanded: string | null;
  selected: string | null;
}

const focused = (page: Page): Promise<Focused> =>
  page.evaluate(() => {
    const el = (document.activeElement ?? document.body) as HTMLElement;
    const dialog = el.closest('[role="dialog"], [role="alertdialog"]');
    const style = getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute('type'),
      checked: (el as HTMLInputElement).checked === true,
      testId: el.getAttribute('data-testid'),
      id: el.id,
      role: el.getAttribute('role'),
      name: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim(),
      inDialog: dialog ? (dialog.getAttribute('data-testid') ?? dialog.closest('[data-testid]')?.getAttribute('data-testid') ?? 'dialog') : null,
      outlineStyle: style.outlineStyle,
      outlineWidth: parseFloat(style.outlineWidth) || 0,
      expanded: el.getAttribute('aria-expanded'),
      selected: el.getAttribute('aria-selected'),
    };
  });

/**
 * Presses Tab (Shift+Tab with `back`) until the focused element matches, at most `limit` times;
 * returns how many presses it took. Fails with the path it went through.
 */
async function tabTo(page: Page, matches: (f: Focused) => boolean, { back = false, limit = 60 } = {}): Promise<number> {
  const path: string[] = [];
  for (let presses = 1; presses <= limit; presses++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const now = await focused(page);
    if (matches(now)) return presses;
    path.push(now.testId ?? `${now.tag}${now.id ? `#${now.id}` : ''}:${now.name.slice(0, 24)}`);
  }
  throw new Error(`focus never reached the target; went through: ${path.join(' → ')}`);
}
/** Polls patiently: the machine running the browser suites may be busy. */
const poll = <T>(value: () => T | Promise<T>) => expect.poll(value, { timeout: 15_000 });
const byTestId = (testId: string) => (f: Focused) => f.testId === testId;

/**
 * What is wrong with the focus indicator of the focused element, or null: it needs an outline
 * (neither none nor zero wide) that no clipping ancestor (overflow other than visible) cuts off,
 * or, for a field, the border-and-shadow ring fields draw instead. A visually hidden control
 * (a radio in a card) is shown by the label around it.
 */
const ringProblem = (page: Page): Promise<string | null> =>
  page.evaluate(() => {
    let el = document.activeElement as HTMLElement;
    const own = el.getBoundingClientRect();
    if (own.width <= 1 && own.height <= 1) el = el.closest('label') ?? el;
    const style = getComputedStyle(el);
    const width = parseFloat(style.outlineWidth) || 0;
    if (style.outlineStyle === 'none' || width === 0) {
      const isField = el.matches('input, select, textarea');
      return isField && style.boxShadow !== 'none' ? null : 'no outline';
    }
    // The ring against what is behind it (WCAG 2.4.11/1.4.11: 3:1): the element's own background
    // for a ring drawn inside it, else the first opaque background around it.
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) =>
      [r, g, b].map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4)).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const inside = (parseFloat(style.outlineOffset) || 0) + width <= 0;
    let behind: number[] | null = null;
    for (let a: HTMLElement | null = inside ? el : el.parentElement; a && !behind; a = a.parentElement) {
      const bg = rgb(getComputedStyle(a).backgroundColor);
      if (bg.length >= 3 && (bg[3] ?? 1) >= 0.99) behind = bg;
    }
    behind ??= rgb(getComputedStyle(document.documentElement).backgroundColor).length >= 3 ? rgb(getComputedStyle(document.documentElement).backgroundColor) : [255, 255, 255];
    const [l1, l2] = [luminance(rgb(style.outlineColor)), luminance(behind)].sort((x, y) => y - x);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    if (ratio < 3) return `ring ${style.outlineColor} on rgb(${behind.slice(0, 3).join(', ')}) is ${ratio.toFixed(2)}:1`;
    const reach = Math.max(0, (parseFloat(style.outlineOffset) || 0) + width);
    const box = el.getBoundingClientRect();
    const ring = { left: box.left - reach, top: box.top - reach, right: box.right + reach, bottom: box.bottom + reach };
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const clip = a.getBoundingClientRect();
      if (ring.left < clip.left - 0.5 || ring.top < clip.top - 0.5 || ring.right > clip.right + 0.5 || ring.bottom > clip.bottom + 0.5) {
        return `clipped by ${a.tagName.toLowerCase()}.${String(a.className).split(' ')[0]}`;
      }
    }
    return null;
  });

/** The focus ring is drawn, and drawn whole (see ringProblem). */
async function expectFocusRing(page: Page): Promise<void> {
  const now = await focused(page);
  expect(now.outlineStyle).not.toBe('none');
  expect(now.outlineWidth).toBeGreaterThan(0);
  expect(await ringProblem(page), `the ring of ${now.testId ?? now.tag}`).toBeNull();
}

/** Presses Tab `count` times and checks the focus stays in the dialog named by test id, each stop with its whole ring. */
async function expectTabStaysIn(page: Page, dialog: string, count: number, key = 'Tab'): Promise<void> {
  for (let i = 0; i < count; i++) {
    await page.keyboard.press(key);
    const now = await focused(page);
    expect(now.inDialog, `after ${i + 1} × ${key}`).toBe(dialog);
    expect(await ringProblem(page), `the ring of ${now.testId ?? now.tag} "${now.name.slice(0, 30)}" in ${dialog}`).toBeNull();
  }
}

/** Signs in through the sign-in dialog opened from /configure, typing in each field reached by Tab. */
async function signIn(page: Page, username: string, password: string): Promise<void> {
  await tabTo(page, byTestId('open-sign-in'));
  await page.keyboard.press('Enter');
  await page.getByTestId('sign-in-modal').waitFor();
  // The dialog takes the focus: Account ID first.
  await poll(async () => (await focused(page)).inDialog).toBe('sign-in-modal');
  expect((await focused(page)).tag).toBe('input');
  await page.keyboard.type(username);
  await tabTo(page, (f) => f.tag === 'input' && f.inDialog === 'sign-in-modal', { limit: 3 });
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
}

describe.skipIf(!browserAvailable('keyboard journey'))('the console journey with the keyboard only', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '400' } });
    await harness.server.createUser(USER.username, USER.password);
    // The client may be rebuilt first, slowly on a busy machine.
  }, 240_000);
  afterAll(async () => {
    await harness?.close();
  });

  it('chooses AWS, signs in, designs, provisions, finds the project in /history and deletes it, by keyboard', async () => {
    const { page, shot, finish } = await openConsolePage(harness);

    // 1. `/`: the first Tab shows the skip link; Enter moves the focus to the main content.
    await page.goto(`${harness.server.url}/`);
    await poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    await page.keyboard.press('Tab');
    const skip = await focused(page);
    expect(skip.tag).toBe('a');
    expect(skip.name).toBe(ko.app.skipToContent);
    const skipBox = await page.evaluate(() => document.activeElement!.getBoundingClientRect().top);
    expect(skipBox).toBeGreaterThanOrEqual(0);
    await expectFocusRing(page);
    await page.keyboard.press('Enter');
    expect((await focused(page)).id).toBe('main');
    // From the main content, the next Tab reaches the first infra card; Space opens it.
    await tabTo(page, byTestId('card-aws'), { limit: 10 });
    await expectFocusRing(page);
    await page.keyboard.press('Space');
    await page.waitForURL('**/configure');

    // 2. /configure: a new page puts the focus on its main content.
    await poll(async () => (await focused(page)).id).toBe('main');
    // The sign-in dialog: the focus goes in, Tab and Shift+Tab stay in, Escape returns it to its opener.
    await tabTo(page, byTestId('open-sign-in'));
    await page.keyboard.press('Enter');
    await page.getByTestId('sign-in-modal').waitFor();
    await poll(async () => (await focused(page)).inDialog).toBe('sign-in-modal');
    await expectTabStaysIn(page, 'sign-in-modal', 8);
    await expectTabStaysIn(page, 'sign-in-modal', 8, 'Shift+Tab');
    await page.keyboard.press('Escape');
    await page.getByTestId('sign-in-modal').waitFor({ state: 'detached' });
    expect((await focused(page)).testId).toBe('open-sign-in');
    // Shift+Tab then Tab comes back to the same button; sign in from there.
    await page.keyboard.press('Shift+Tab');
    await signIn(page, USER.username, USER.password);

    // 3. /main_ui: design by keyboard.
    await page.waitForURL('**/main_ui');
    await poll(() => page.getByTestId('session-user').textContent()).toContain(USER.username);
    await poll(() => page.getByTestId('topo-app-node').count()).toBe(2);
    await poll(async () => (await focused(page)).id).toBe('main');
    // The service's name, typed into the field reached by Tab.
    await tabTo(page, byTestId('service-name'), { limit: 40 });
    await page.keyboard.type(SERVICE);
    await poll(() => page.getByTestId('service-name').inputValue()).toBe(SERVICE);
    // The instance tier: a radio group; arrows move the choice.
    await tabTo(page, (f) => f.type === 'radio', { limit: 10 });
    expect((await focused(page)).checked).toBe(true);
    const firstTier = await page.evaluate(() => (document.activeElement as HTMLInputElement).value);
    // The radio itself is hidden: its card shows the ring.
    const tierOutline = await page.getByTestId(`tier-${firstTier}`).evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(tierOutline).not.toBe('none');
    await page.keyboard.press('ArrowDown');
    const nextTier = await page.evaluate(() => (document.activeElement as HTMLInputElement).value);
    expect(nextTier).not.toBe(firstTier);
    await poll(() => page.getByTestId(`tier-${nextTier}`).getAttribute('class')).toContain('selected');
    await tabTo(page, byTestId('node-count'), { limit: 20 });
    await page.keyboard.press('ArrowUp');
    await poll(() => page.getByTestId('node-count').inputValue()).toBe('3');
    await poll(() => page.getByTestId('topo-app-node').count()).toBe(3);
    await tabTo(page, byTestId('db-engine'), { limit: 20 });
    await page.keyboard.press('ArrowDown');
    await poll(() => page.getByTestId('db-engine').inputValue()).not.toBe('mysql');
    await tabTo(page, byTestId('redis'), { limit: 10 });
    await page.keyboard.press('Space');
    await poll(() => page.getByTestId('topo-redis').count()).toBe(1);

    // The preview's tabs: one stop in the Tab order, arrows move and select, Home and End jump.
    const selectedTab = await tabTo(page, (f) => f.role === 'tab', { limit: 30 });
    expect(selectedTab).toBeGreaterThan(0);
    expect((await focused(page)).testId).toBe('tab-topology');
    expect((await focused(page)).selected).toBe('true');
    await expectFocusRing(page);
    await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toMatchObject({ testId: 'tab-terraform', selected: 'true' });
    await poll(() => page.getByTestId('code').getAttribute('data-language')).toBe('hcl');
    await poll(() => page.getByTestId('code').textContent()).toContain('aws_elasticache_cluster');
    await page.keyboard.press('End');
    expect(await focused(page)).toMatchObject({ testId: 'tab-cost', selected: 'true' });
    await page.getByTestId('cost-analysis').waitFor();
    await page.keyboard.press('Home');
    expect(await focused(page)).toMatchObject({ testId: 'tab-topology', selected: 'true' });
    // The topology map: one Tab stop, then the arrows go from node to node, each named.
    await tabTo(page, (f) => f.testId?.startsWith('topo-') ?? false, { limit: 5 });
    const firstNode = await focused(page);
    await expectFocusRing(page);
    await page.keyboard.press('ArrowDown');
    const secondNode = await focused(page);
    expect(secondNode.testId?.startsWith('topo-')).toBe(true);
    expect(secondNode.name).not.toBe(firstNode.name);
    await page.keyboard.press('End');
    const lastPart = await page.locator('[data-testid="topology"] [data-node]').last().getAttribute('aria-label');
    expect((await focused(page)).name).toBe(lastPart);
    await page.keyboard.press('Home');
    expect((await focused(page)).name).toBe(firstNode.name);

    // 4. Provision Stack, reached backwards from the form; its focus ring shows.
    await tabTo(page, byTestId('provision-stack'), { back: true });
    await expectFocusRing(page);
    await shot('keyboard-provision-focus');
    await page.keyboard.press('Enter');
    await page.getByTestId('run-overlay').waitFor();
    await poll(async () => (await focused(page)).inDialog).toBe('run-overlay');
    // While it runs: Cancel asks first; Escape keeps the run going and puts the focus back on Cancel.
    await tabTo(page, byTestId('run-cancel'), { limit: 6 });
    await expectFocusRing(page);
    await page.keyboard.press('Enter');
    await page.getByTestId('run-cancel-confirm').waitFor();
    expect((await focused(page)).testId).toBe('run-cancel-keep');
    await page.keyboard.press('Escape');
    await page.getByTestId('run-cancel-confirm').waitFor({ state: 'detached' });
    expect((await focused(page)).testId).toBe('run-cancel');
    await expectTabStaysIn(page, 'run-overlay', 6);
    // The run ends well; the focus moves to what comes next.
    await page.getByTestId('run-success').waitFor({ timeout: 40_000 });
    await poll(async () => (await focused(page)).testId).toBe('view-dashboard');
    await expectTabStaysIn(page, 'run-overlay', 5, 'Shift+Tab');
    // Escape closes the finished run; the focus returns to Provision Stack.
    await page.keyboard.press('Escape');
    await page.getByTestId('run-overlay').waitFor({ state: 'detached' });
    expect((await focused(page)).testId).toBe('provision-stack');

    // 5. /history from the icon bar, backwards from the page.
    await tabTo(page, (f) => f.tag === 'a' && f.name === ko.nav.history, { back: true });
    await page.keyboard.press('Enter');
    await page.waitForURL('**/history');
    await poll(async () => (await focused(page)).id).toBe('main');
    const projectId = Number(await page.locator('[data-testid^="history-row-"]').first().getAttribute('data-testid').then((t) => t!.replace('history-row-', '')));
    await tabTo(page, byTestId(`expand-${projectId}`));
    expect((await focused(page)).expanded).toBe('false');
    await page.keyboard.press('Enter');
    await poll(async () => (await focused(page)).expanded).toBe('true');
    await poll(() => page.locator('.details-row').count()).toBe(1);
    await page.keyboard.press('Space');
    await poll(async () => (await focused(page)).expanded).toBe('false');
    await poll(() => page.locator('.details-row').count()).toBe(0);
    await page.keyboard.press('Space');
    await poll(async () => (await focused(page)).expanded).toBe('true');
    // A user deletes nothing: no delete button to reach.
    expect(await page.locator('[data-testid^="delete-"]').count()).toBe(0);

    // 6. Sign out (from the header) and back in as the admin, all by keyboard.
    await tabTo(page, byTestId('logout'), { back: true });
    await page.keyboard.press('Enter');
    await page.waitForURL('**/configure');
    await signIn(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');
    await page.getByTestId('admin-mode').waitFor().catch(() => undefined);
    await poll(async () => (await focused(page)).id).toBe('main');
    await tabTo(page, (f) => f.tag === 'a' && f.name === ko.nav.history, { back: true });
    await page.keyboard.press('Enter');
    await page.waitForURL('**/history');
    await page.getByTestId(`history-row-${projectId}`).waitFor();

    // 7. Delete through its dialog: the focus goes in (on Cancel), stays in, Escape gives it back.
    await tabTo(page, byTestId(`delete-${projectId}`));
    await page.keyboard.press('Enter');
    await page.getByTestId('delete-dialog').waitFor();
    expect(await focused(page)).toMatchObject({ testId: 'delete-cancel', inDialog: 'delete-dialog' });
    await page.keyboard.press('Tab');
    expect((await focused(page)).testId).toBe('delete-confirm');
    await page.keyboard.press('Tab');
    expect((await focused(page)).testId).toBe('delete-cancel');
    await page.keyboard.press('Shift+Tab');
    expect((await focused(page)).testId).toBe('delete-confirm');
    await expectFocusRing(page);
    await shot('keyboard-delete-dialog-focus');
    await page.keyboard.press('Escape');
    await page.getByTestId('delete-dialog').waitFor({ state: 'detached' });
    expect((await focused(page)).testId).toBe(`delete-${projectId}`);
    await page.keyboard.press('Enter');
    await page.getByTestId('delete-dialog').waitFor();
    await page.keyboard.press('Tab');
    expect((await focused(page)).testId).toBe('delete-confirm');
    await page.keyboard.press('Enter');
    await page.getByTestId('delete-dialog').waitFor({ state: 'detached' });

    // The project goes, from the server and from the page.
    await waitFor(
      async () => {
        const res = await harness.server.request('GET', '/api/history', { token: harness.server.adminToken });
        return !(res.body as { id: number }[]).some((p) => p.id === projectId);
      },
      15_000,
      `project ${projectId} to leave /api/history`,
    );
    await poll(() => page.getByTestId(`history-row-${projectId}`).count()).toBe(0);
    // The focus is not lost with the row: it stays on the page's content.
    expect(await page.evaluate(() => document.activeElement !== document.body && document.getElementById('main')!.contains(document.activeElement))).toBe(true);
    await finish();
  });

  it('shows a whole focus ring, 3:1 against what is behind it, on every stop of the Tab order of every page, signed out and signed in as the admin, light and dark', async () => {
    const { page, finish } = await openConsolePage(harness);
    const problems: string[] = [];
    /** Tabs from the top of the page through at most `limit` stops (or once round), checking each. */
    async function sweep(path: string, limit = 45): Promise<void> {
      await page.goto(`${harness.server.url}${path}`);
      await page.getByTestId('page-title').waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const seen = new Set<string>();
      let checked = 0;
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab');
        const now = await focused(page);
        if (now.tag === 'body' || now.tag === 'html') continue;
        const key = await page.evaluate(() => {
          const el = document.activeElement!;
          return `${el.tagName}|${el.getAttribute('data-testid') ?? ''}|${el.id}|${Array.from(el.parentElement?.children ?? []).indexOf(el)}|${(el.textContent ?? '').slice(0, 30)}|${el.getBoundingClientRect().top + window.scrollY}`;
        });
        if (seen.has(key)) break;
        seen.add(key);
        checked++;
        const problem = await ringProblem(page);
        if (problem) problems.push(`${path}: ${now.testId ?? `${now.tag}${now.id ? `#${now.id}` : ''}`} "${now.name.slice(0, 40)}": ${problem}`);
      }
      console.log(`focus ring on ${path}: ${checked} stops checked`);
      expect(checked, `${path} has stops`).toBeGreaterThan(2);
    }
    for (const path of ['/', '/configure', '/signup']) await sweep(path);
    await page.goto(`${harness.server.url}/configure`);
    await tabTo(page, byTestId('open-sign-in'));
    await page.keyboard.press('Enter');
    await page.getByTestId('sign-in-modal').waitFor();
    await poll(async () => (await focused(page)).inDialog).toBe('sign-in-modal');
    await page.keyboard.type(ADMIN.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/main_ui');
    for (const path of ['/main_ui', '/private-console', '/history', '/monitoring', '/admin_users', '/admin_pool', '/no-such-page']) await sweep(path);
    // And in the dark theme.
    await page.evaluate((key) => localStorage.setItem(key, 'dark'), THEME_STORAGE_KEY);
    for (const path of ['/main_ui', '/private-console', '/history', '/monitoring', '/admin_users', '/admin_pool']) await sweep(path);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(problems).toEqual([]);
    await finish();
  });

  it('opens every admin dialog, the language switch and the preferences by keyboard, and each gives the focus back', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    // A protected page asks for the sign-in first; its dialog opens with the focus in it.
    await page.goto(`${harness.server.url}/admin_users`);
    await page.getByTestId('sign-in-modal').waitFor();
    await poll(async () => (await focused(page)).inDialog).toBe('sign-in-modal');
    await page.keyboard.type(ADMIN.username);
    await tabTo(page, (f) => f.tag === 'input' && f.inDialog === 'sign-in-modal', { limit: 3 });
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/admin_users');
    await page.getByTestId(`user-row-${USER.username}`).waitFor();

    /** Opens a dialog from its opener by keyboard, checks the focus goes in and stays, and that Escape gives it back. */
    async function roundTrip(opener: string, dialog: string, key: 'Enter' | 'Space' = 'Enter'): Promise<void> {
      await tabTo(page, byTestId(opener), { limit: 120 });
      await expectFocusRing(page);
      await page.keyboard.press(key);
      await page.getByTestId(dialog).waitFor();
      await poll(async () => (await focused(page)).inDialog).toBe(dialog);
      expect(await page.getByTestId(dialog).getAttribute('aria-modal')).toBe('true');
      await expectTabStaysIn(page, dialog, 12);
      await expectTabStaysIn(page, dialog, 12, 'Shift+Tab');
      await page.keyboard.press('Escape');
      await page.getByTestId(dialog).waitFor({ state: 'detached' });
      expect((await focused(page)).testId, `focus back on ${opener}`).toBe(opener);
    }

    await roundTrip('open-settings', 'settings-modal');
    await roundTrip('open-create-user', 'create-user-dialog', 'Space');
    await roundTrip(`quota-${USER.username}`, 'quota-dialog');
    await roundTrip(`reset-${USER.username}`, 'reset-dialog');
    await roundTrip(`disable-${USER.username}`, 'confirm-dialog');
    // Disabling for real: the Disable button goes with the focus; the focus stays on the page's content, not the document.
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-dialog').waitFor();
    await tabTo(page, byTestId('confirm-ok'), { limit: 3 });
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    await page.getByTestId(`disable-${USER.username}`).waitFor({ state: 'detached' });
    await poll(() => page.evaluate(() => document.getElementById('main')!.contains(document.activeElement))).toBe(true);
    await tabTo(page, byTestId(`reset-${USER.username}`), { limit: 120 });

    // The workload pool, from the icon bar: its Add hosts dialog.
    await tabTo(page, (f) => f.tag === 'a' && f.name === ko.nav.pool, { back: true, limit: 120 });
    await expectFocusRing(page);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/admin_pool');
    await roundTrip('open-add-hosts', 'add-hosts-dialog');

    // The language switch in the header: English by Enter.
    await tabTo(page, byTestId('locale-en'), { back: true, limit: 120 });
    await expectFocusRing(page);
    await page.keyboard.press('Enter');
    await poll(() => page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect((await focused(page)).testId).toBe('locale-en');
    // The preferences: the focus goes to the chosen language; Tab reaches the dark theme; Escape returns to the gear.
    await tabTo(page, byTestId('preferences-open'), { limit: 3 });
    await page.keyboard.press('Enter');
    await page.getByTestId('preferences').waitFor();
    expect((await focused(page)).testId).toBe('preferences-locale-en');
    await tabTo(page, byTestId('theme-dark'), { limit: 4 });
    await page.keyboard.press('Space');
    await poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await expectFocusRing(page);
    await shot('keyboard-preferences-dark');
    await page.keyboard.press('Escape');
    await page.getByTestId('preferences').waitFor({ state: 'detached' });
    expect((await focused(page)).testId).toBe('preferences-open');
    // In the dark theme the ring still shows on a dialog's control.
    await roundTrip('open-add-hosts', 'add-hosts-dialog');
    await finish();
  });
});
