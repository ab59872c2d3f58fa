/**
 * /admin_users in Chromium against the real server: a sign-up waits for approval, the admin
 * approves it, the new user sees only their own projects; the settings modal (re-entered admin
 * password, wrong password refused) changes the notice `/` shows; a normal user is refused.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN, waitForFinalStatus } from '../helpers/server.js';
import { ko, openConsolePage, openSignIn, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const NEWBIE = { username: 'newbie', password: 'newbie-password-1' };

describe.skipIf(!browserAvailable('console admin'))('console /admin_users, in Chromium', () => {
  let harness: ConsoleHarness;

  async function order(token: string, serviceName: string): Promise<number> {
    const body = { serviceName, config: { template: 'single', traffic: 'mid', packages: ['nginx'] }, targetInfra: 'vsphere' };
    const res = await harness.server.request('POST', '/api/provision', { token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.project_id;
  }

  /** Opens `path` (a protected page) through the sign-in modal. */
  async function openAs(page: Page, who: { username: string; password: string }, path: string): Promise<void> {
    await page.goto(`${harness.server.url}${path}`);
    await page.waitForURL(signInFor(path));
    await signInThroughModal(page, who.username, who.password);
    await page.waitForURL((url) => url.pathname === path);
  }

  const rowIds = async (page: Page) =>
    page.locator('tr[data-testid^="history-row-"]').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-testid')!.slice('history-row-'.length))));

  beforeAll(async () => {
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '40' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('signs up a user who cannot sign in until the admin approves them, then sees only their own projects', async () => {
    // 1. sign-up, then the pending account is refused at sign-in
    const visitor = await openConsolePage(harness);
    await visitor.page.goto(`${harness.server.url}/signup`);
    await visitor.page.getByTestId('signup-username').fill(NEWBIE.username);
    await visitor.page.getByTestId('signup-password').fill(NEWBIE.password);
    await visitor.page.getByTestId('signup-submit').click();
    await visitor.page.getByTestId('signup-pending').waitFor();
    await visitor.page.goto(`${harness.server.url}/configure`);
    await openSignIn(visitor.page);
    await signInThroughModal(visitor.page, NEWBIE.username, NEWBIE.password);
    await visitor.page.getByTestId('sign-in-error').waitFor();
    expect(await visitor.page.getByTestId('sign-in-error').textContent()).toBe(ko.signIn.errors.notApproved);
    await visitor.shot('admin-journey-pending-sign-in');
    await visitor.finish();

    // 2. the admin approves them in /admin_users
    const admin = await openConsolePage(harness);
    await openAs(admin.page, ADMIN, '/admin_users');
    await admin.page.getByTestId('admin-users-view').waitFor();
    expect(await admin.page.getByTestId('page-title').textContent()).toBe(ko.adminUsers.title);
    await admin.page.getByTestId('stat-total').waitFor();
    const pendingRow = admin.page.getByTestId(`pending-${NEWBIE.username}`);
    await pendingRow.waitFor();
    expect(await admin.page.getByTestId(`user-row-${NEWBIE.username}`).getAttribute('data-status')).toBe('pending');
    await admin.shot('admin-users-pending');
    await admin.page.getByTestId(`approve-${NEWBIE.username}`).click();
    await pendingRow.waitFor({ state: 'detached' });
    await admin.page.getByTestId('pending-empty').waitFor();
    await expect.poll(() => admin.page.getByTestId(`user-row-${NEWBIE.username}`).getAttribute('data-status')).toBe('approved');
    // the audit log, filtered by action, shows the sign-up
    await admin.page.getByTestId('audit-action').fill('signup');
    await admin.page.getByTestId('audit-apply').click();
    await expect.poll(() => admin.page.locator('[data-testid^="audit-row-"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')))).toEqual(['signup']);
    await admin.shot('admin-users-approved');
    await admin.finish();

    // 3. one project of theirs and one of another user's, through the API
    const newbieToken = await harness.server.login(NEWBIE.username, NEWBIE.password);
    const otherToken = await harness.server.createUser('other-owner');
    const mine = await order(newbieToken, 'newbie-web');
    const theirs = await order(otherToken, 'other-web');
    await waitForFinalStatus(harness.server, mine, newbieToken);
    await waitForFinalStatus(harness.server, theirs, otherToken);

    // 4. the new user signs in and sees only their project
    const user = await openConsolePage(harness);
    await openAs(user.page, NEWBIE, '/history');
    await user.page.getByTestId('history-table').waitFor();
    await expect.poll(() => rowIds(user.page)).toEqual([mine]);
    expect(await user.page.getByText('other-web').count()).toBe(0);
    await user.shot('admin-journey-new-user-history');
    await user.finish();

    // 5. the admin deletes the new user's project from /history
    const again = await openConsolePage(harness);
    await openAs(again.page, ADMIN, '/history');
    await again.page.getByTestId('history-table').waitFor();
    await expect.poll(() => rowIds(again.page)).toEqual([theirs, mine]);
    await again.page.getByTestId(`delete-${mine}`).click();
    await again.page.getByTestId('delete-confirm').click();
    await again.page.getByTestId(`history-row-${mine}`).waitFor({ state: 'detached' });
    await again.finish();
  });

  it('changes the system notice through the settings modal with the admin password, and refuses a wrong one', async () => {
    const notice = `admin-notice-${Date.now()}`;
    const { page, shot, finish } = await openConsolePage(harness);
    await openAs(page, ADMIN, '/admin_users');
    // the icon bar's Settings opens the modal
    await page.getByRole('link', { name: ko.nav.settings }).click();
    const modal = page.getByTestId('settings-modal');
    await modal.waitFor();
    await page.getByTestId('settings-system-notice').waitFor();
    // secrets are never prefilled
    expect(await page.getByTestId('settings-vcenter-password').inputValue()).toBe('');
    expect(await page.getByTestId('settings-vcenter-password-badge').textContent()).toBe(ko.adminUsers.settings.secretNotSet);
    await page.getByTestId('settings-system-notice').fill(notice);

    await page.getByTestId('settings-admin-password').fill('not-the-password');
    await page.getByTestId('settings-save').click();
    await expect.poll(() => page.getByTestId('settings-password-hint').textContent()).toBe(ko.adminUsers.errors.wrongPassword);
    await shot('admin-settings-wrong-password');

    await page.getByTestId('settings-vcenter-password').fill('vc-secret-1');
    await page.getByTestId('settings-admin-password').fill(ADMIN.password);
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-saved').waitFor();
    expect(await page.getByTestId('settings-vcenter-password-badge').textContent()).toBe(ko.adminUsers.settings.secretSet);
    expect(await page.getByTestId('settings-vcenter-password').inputValue()).toBe('');
    await shot('admin-settings-saved');
    await page.keyboard.press('Escape');
    await modal.waitFor({ state: 'detached' });

    const stored = await harness.server.gql('{ adminSettings { systemNotice vcenterPasswordSet } }', {}, harness.server.adminToken);
    expect(stored.data.adminSettings).toEqual({ systemNotice: notice, vcenterPasswordSet: true });

    await page.goto(`${harness.server.url}/`);
    await page.getByTestId('notice-system').waitFor();
    expect(await page.getByTestId('notice-system').textContent()).toContain(notice);
    await finish();
    await harness.server.gql(
      'mutation($pw: String!) { updateAdminSettings(input: { systemNotice: "" }, adminPassword: $pw) { systemNotice } }',
      { pw: ADMIN.password },
      harness.server.adminToken,
    );
  });

  it('refuses /admin_users to a normal user', async () => {
    await harness.server.createUser('plain-admin-visitor', 'plain-visitor-password');
    const { page, shot, finish } = await openConsolePage(harness);
    await openAs(page, { username: 'plain-admin-visitor', password: 'plain-visitor-password' }, '/admin_users');
    await page.getByTestId('admin-only').waitFor();
    expect(await page.getByTestId('pending-users').count()).toBe(0);
    expect(await page.getByRole('link', { name: ko.nav.settings }).count()).toBe(0);
    await shot('admin-users-refused');
    await finish();
  });
});
