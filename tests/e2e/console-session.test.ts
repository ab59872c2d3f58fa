/**
 * Signing in and out of the console in Chromium against the real server: the path from `/`
 * to /main_ui, the session kept across reloads, its timer, extend and logout, protected pages,
 * errors by code, sign-up, and sessions that end on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import { ko, openConsolePage, openSignIn, pathOf, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const STORAGE_KEY = 'hcmp.session';

describe.skipIf(!browserAvailable('console session'))('console sign-in and session, in Chromium', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await startConsole();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('goes from / through the AWS card and the sign-in modal to /main_ui, keeps the session on reload, and logs out to /configure', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);

    await page.getByTestId('card-aws').click();
    await page.waitForURL('**/configure');
    await expect.poll(() => page.getByTestId('page-title').textContent()).toContain(ko.configure.heroLead);
    await shot('configure');

    await openSignIn(page);
    await shot('configure-sign-in-modal');
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');

    await page.getByTestId('design-form').waitFor();
    expect(await page.getByTestId('page-title').textContent()).toBe('Management Console | Expert Mode');
    const timer = page.getByTestId('session-timer');
    expect(await timer.isVisible()).toBe(true);
    // SESSION_TTL_MINUTES defaults to 30: the timer counts down from 30:00.
    expect(await timer.textContent()).toMatch(/^\s*(29:[0-5]\d|30:00)\s*$/);
    expect(await page.getByTestId('session-user').textContent()).toContain('admin');
    expect(await page.getByTestId('side-icon-bar').isVisible()).toBe(true);
    expect(await page.locator('[data-testid="step-indicator"] [aria-current="step"]').textContent()).toContain('Configure & Provision');
    await shot('main-ui-signed-in');

    await page.reload();
    await page.getByTestId('design-form').waitFor();
    expect(pathOf(page)).toBe('/main_ui');
    expect(await page.getByTestId('session-timer').isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('session-user').textContent()).toContain('admin');

    await page.getByTestId('logout').click();
    await page.waitForURL('**/configure');
    expect(await page.getByTestId('session-notice').textContent()).toContain(ko.session.loggedOut);
    expect(await page.evaluate((key) => localStorage.getItem(key), STORAGE_KEY)).toBeNull();
    expect(await page.getByTestId('session-timer').count()).toBe(0);
    await shot('configure-logged-out');

    // The token is revoked on the server, not only forgotten by the page.
    await page.goto(`${harness.server.url}/main_ui`);
    await page.waitForURL(signInFor('/main_ui'));
    await finish();
  });

  it('sends a visitor without a session from a protected page to /configure?redirect= and back after signing in', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/history?status=FAILED`);
    await page.waitForURL(signInFor('/history?status=FAILED'));
    // Sent here by a protected page: the modal is already open, with the focus in it.
    await page.getByTestId('sign-in-modal').waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('sign-in-username');
    await shot('redirected-to-sign-in');

    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/history?status=FAILED');
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.pages.history);
    expect(await page.locator('[data-testid="step-indicator"] [aria-current="step"]').textContent()).toContain('Operations');
    await shot('history-after-sign-in');
    await finish();
  });

  it('shows the wrong-password error by its code and stays on /configure', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await page.getByTestId('create-project').click();
    await signInThroughModal(page, ADMIN.username, 'not-the-password');
    const error = page.getByTestId('sign-in-error');
    await error.waitFor();
    expect(await error.textContent()).toBe(ko.signIn.errors.badCredentials);
    expect(pathOf(page)).toBe('/configure');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    await shot('sign-in-wrong-password');
    await finish();
  });

  it('is usable from the keyboard: Escape closes the modal and the focus returns to the button', async () => {
    const { page, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await page.getByTestId('open-sign-in').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('sign-in-modal').waitFor();
    // Tab cycles inside the dialog: username → password → submit → close → username.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('sign-in-username');
    await page.keyboard.press('Escape');
    await page.getByTestId('sign-in-modal').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('open-sign-in');
    await finish();
  });

  it('requests an account: shows the pending approval message, a taken name, and refuses to sign in until approved', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await page.getByTestId('to-signup').click();
    await page.waitForURL('**/signup');
    await shot('signup');

    await page.getByTestId('signup-username').fill('x');
    await page.getByTestId('signup-password').fill('short');
    await page.getByTestId('signup-submit').click();
    expect(await page.getByText(ko.signup.errors.passwordRule).isVisible()).toBe(true);

    await page.getByTestId('signup-username').fill('new-user');
    await page.getByTestId('signup-full-name').fill('김하늘');
    await page.getByTestId('signup-password').fill('new-user-password');
    await page.getByTestId('signup-submit').click();
    const pending = page.getByTestId('signup-pending');
    await pending.waitFor();
    expect(await pending.textContent()).toContain(ko.signup.pendingTitle);
    expect(await pending.textContent()).toContain('new-user');
    await shot('signup-pending');

    await page.goto(`${harness.server.url}/signup`);
    await page.getByTestId('signup-username').fill('new-user');
    await page.getByTestId('signup-password').fill('another-password');
    await page.getByTestId('signup-submit').click();
    await page.getByText(ko.signup.errors.usernameTaken).waitFor();

    await page.goto(`${harness.server.url}/configure`);
    await openSignIn(page);
    await signInThroughModal(page, 'new-user', 'new-user-password');
    await page.getByTestId('sign-in-error').waitFor();
    expect(await page.getByTestId('sign-in-error').textContent()).toBe(ko.signIn.errors.notApproved);
    await finish();
  });

  it('extends the session: the modal opens prefilled, and a new token replaces the old one on the same page', async () => {
    const { page, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await openSignIn(page);
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');
    await page.getByRole('link', { name: ko.nav.monitoring }).click();
    await page.waitForURL('**/monitoring');
    const before = await page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? '{}').token, STORAGE_KEY);

    await page.getByTestId('session-extend').click();
    await page.getByTestId('sign-in-modal').waitFor();
    expect(await page.getByLabel('Account ID').inputValue()).toBe(ADMIN.username);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('sign-in-password');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByTestId('sign-in-modal').waitFor({ state: 'detached' });

    expect(pathOf(page)).toBe('/monitoring');
    const after = await page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? '{}').token, STORAGE_KEY);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    await finish();
  });

  it('returns to /configure with a message when the session expires on the page', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const token = await harness.server.login(ADMIN.username, ADMIN.password);
    await page.goto(`${harness.server.url}/configure`);
    // A session with two seconds left (the server's token lives longer; the console counts down
    // from the expiry it was given).
    await page.evaluate(({ key, value }) => localStorage.setItem(key, value), {
      key: STORAGE_KEY,
      value: JSON.stringify({ token, username: ADMIN.username, expiresAt: Date.now() + 2_000 }),
    });
    await page.goto(`${harness.server.url}/main_ui`);
    await page.getByTestId('session-timer').waitFor();
    await page.waitForURL(signInFor('/main_ui'), { timeout: 10_000 });
    expect(await page.getByTestId('session-notice').textContent()).toContain(ko.session.expired);
    // The sign-in opens by itself, says why, and only asks for the password again.
    await page.getByTestId('sign-in-notice').waitFor();
    expect(await page.getByTestId('sign-in-notice').textContent()).toBe(ko.session.expired);
    expect(await page.getByLabel('Account ID').inputValue()).toBe(ADMIN.username);
    await shot('configure-session-expired');
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL('**/main_ui');
    await page.getByTestId('session-timer').waitFor();
    await finish();
  });

  it('returns to /configure with a message when the server rejects the stored token', async () => {
    const { page, finish } = await openConsolePage(harness);
    const token = await harness.server.login(ADMIN.username, ADMIN.password);
    expect((await harness.server.request('POST', '/api/logout', { token })).status).toBe(200);
    await page.goto(`${harness.server.url}/configure`);
    await page.evaluate(({ key, value }) => localStorage.setItem(key, value), {
      key: STORAGE_KEY,
      value: JSON.stringify({ token, username: ADMIN.username, expiresAt: Date.now() + 30 * 60_000 }),
    });
    await page.goto(`${harness.server.url}/main_ui`);
    await page.waitForURL(signInFor('/main_ui'));
    await page.getByTestId('session-notice').waitFor();
    expect(await page.getByTestId('session-notice').textContent()).toContain(ko.session.rejected);
    expect(await page.evaluate((key) => localStorage.getItem(key), STORAGE_KEY)).toBeNull();
    // The rejected `me` call answers 401, which Chromium logs as a failed resource.
    await finish(['status of 401']);
  });

  it('shows a user the console without the admin-only Settings, and says /admin_users is for administrators', async () => {
    await harness.server.createUser('plain-user', 'plain-user-password');
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/admin_users`);
    await signInThroughModal(page, 'plain-user', 'plain-user-password');
    await page.waitForURL('**/admin_users');
    await page.getByTestId('admin-only').waitFor();
    expect(await page.getByRole('link', { name: ko.nav.settings }).count()).toBe(0);
    expect(await page.getByRole('link', { name: ko.nav.history }).count()).toBe(1);
    await shot('admin-users-as-user');
    await finish();
  });
});
