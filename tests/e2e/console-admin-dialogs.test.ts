/**
 * The dialogs of /admin_users in Chromium against the real server — quota, password reset,
 * create user, role, reject a pending sign-up, disable — each used through the page, then its
 * effect checked on the server (GraphQL / REST: what the account may do now) and on the page.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import { ko, openConsolePage, openSignIn, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const password = (name: string) => `${name}-password-1`;

interface Account {
  username: string;
  fullName: string | null;
  role: 'user' | 'admin';
  status: string;
  quota: { hosts: number; vcpu: number; memoryGb: number; diskGb: number } | null;
}

describe.skipIf(!browserAvailable('console admin dialogs'))('the /admin_users dialogs, in Chromium', () => {
  let harness: ConsoleHarness;

  /** The account as the server has it now. */
  async function account(username: string): Promise<Account | undefined> {
    const res = await harness.server.gql<{ users: Account[] }>('{ users { username fullName role status quota { hosts vcpu memoryGb diskGb } } }', {}, harness.server.adminToken);
    expect(res.errors).toBeUndefined();
    return res.data!.users.find((u) => u.username === username);
  }

  const loginStatus = async (username: string, pw: string) => (await harness.server.request('POST', '/api/login', { body: { user_id: username, password: pw } })).status;

  /** Opens /admin_users as the admin, through the sign-in modal. */
  async function openAdminPage(page: Page): Promise<void> {
    await page.goto(`${harness.server.url}/admin_users`);
    await page.waitForURL(signInFor('/admin_users'));
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL((url) => url.pathname === '/admin_users');
    await page.getByTestId('users-table').waitFor();
  }

  const userRow = (page: Page, username: string) => page.getByTestId(`user-row-${username}`);

  beforeAll(async () => {
    harness = await startConsole();
    for (const name of ['quinn', 'paula', 'rita', 'dora']) await harness.server.createUser(name, password(name));
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('edits a quota: a bad number is refused in the dialog, the saved one limits what the user may order', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await openAdminPage(page);
    await page.getByTestId('quota-quinn').click();
    const dialog = page.getByTestId('quota-dialog');
    await dialog.waitFor();
    await page.getByTestId('quota-hosts').fill('-1');
    await page.getByTestId('quota-submit').click();
    await expect.poll(() => dialog.getByText(ko.adminUsers.quota.rule).count()).toBe(1);
    expect(await page.getByTestId('quota-hosts').getAttribute('aria-invalid')).toBe('true');

    await page.getByTestId('quota-hosts').fill('4');
    await page.getByTestId('quota-vcpu').fill('64');
    await page.getByTestId('quota-memoryGb').fill('256');
    await page.getByTestId('quota-diskGb').fill('4000');
    await shot('admin-dialog-quota');
    await page.getByTestId('quota-submit').click();
    await dialog.waitFor({ state: 'detached' });

    const shown = ko.adminUsers.users.quotaValue.replace('{hosts}', '4').replace('{vcpu}', '64').replace('{memory}', '256').replace('{disk}', '4000');
    await expect.poll(() => userRow(page, 'quinn').getByTestId('user-quota').textContent()).toBe(shown);
    expect((await account('quinn'))!.quota).toEqual({ hosts: 4, vcpu: 64, memoryGb: 256, diskGb: 4000 });
    // The limit holds: five hosts (enterprise) are too many, one (single) is not.
    const token = await harness.server.login('quinn', password('quinn'));
    const order = (template: string) => harness.server.request('POST', '/api/provision', { token, body: { serviceName: `quinn-${template}`, config: { template }, targetInfra: 'vsphere' } });
    expect((await order('enterprise')).status).toBeGreaterThanOrEqual(400);
    expect((await order('single')).status).toBe(200);
    await finish();
  });

  it('resets a password: too short is refused, then the new one signs in and the old one does not', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await openAdminPage(page);
    await page.getByTestId('reset-paula').click();
    const dialog = page.getByTestId('reset-dialog');
    await dialog.waitFor();
    await page.getByTestId('reset-password').fill('short');
    await page.getByTestId('reset-password').press('Enter');
    expect(await page.getByTestId('reset-password').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('reset-done').count()).toBe(0);

    await page.getByTestId('reset-password').fill('paula-new-password');
    await page.getByTestId('reset-password').press('Enter');
    await page.getByTestId('reset-done').waitFor();
    expect(await page.getByTestId('reset-done').textContent()).toBe(ko.adminUsers.reset.done);
    // The focus waits on Close.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('reset-close');
    await shot('admin-dialog-password-reset');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });

    expect(await loginStatus('paula', password('paula'))).toBe(401);
    expect(await loginStatus('paula', 'paula-new-password')).toBe(200);
    await finish();

    // Paula signs in on the console with the new password only.
    const paula = await openConsolePage(harness);
    await paula.page.goto(`${harness.server.url}/configure`);
    await openSignIn(paula.page);
    await signInThroughModal(paula.page, 'paula', password('paula'));
    await paula.page.getByTestId('sign-in-error').waitFor();
    expect(await paula.page.getByTestId('sign-in-error').textContent()).toBe(ko.signIn.errors.badCredentials);
    await signInThroughModal(paula.page, 'paula', 'paula-new-password');
    await paula.page.waitForURL('**/main_ui');
    await expect.poll(() => paula.page.getByTestId('session-user').textContent()).toContain('paula');
    await paula.finish();
  });

  it('creates a user: a taken name is refused in the dialog, the new account is approved and signs in', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await openAdminPage(page);
    await page.getByTestId('open-create-user').click();
    const dialog = page.getByTestId('create-user-dialog');
    await dialog.waitFor();
    await page.getByTestId('create-username').fill('quinn');
    await page.getByTestId('create-password').fill('another-password-1');
    await page.getByTestId('create-submit').click();
    await expect.poll(() => dialog.getByText(ko.adminUsers.errors.usernameTaken).count()).toBe(1);

    await page.getByTestId('create-username').fill('cora');
    await page.getByTestId('create-full-name').fill('김코라');
    await page.getByTestId('create-password').fill(password('cora'));
    await shot('admin-dialog-create-user');
    await page.getByTestId('create-submit').click();
    await dialog.waitFor({ state: 'detached' });

    const row = userRow(page, 'cora');
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('approved');
    expect(await row.textContent()).toContain('김코라');
    expect(await row.getByTestId('user-role').inputValue()).toBe('user');
    expect(await account('cora')).toMatchObject({ username: 'cora', fullName: '김코라', role: 'user', status: 'approved' });
    const login = await harness.server.request('POST', '/api/login', { body: { user_id: 'cora', password: password('cora') } });
    expect(login.status).toBe(200);
    expect(login.body.role).toBe('user');
    await finish();
  });

  it('changes a role: the user becomes an admin (and may list every account), then a user again', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await openAdminPage(page);
    const role = userRow(page, 'rita').getByTestId('user-role');
    expect(await role.inputValue()).toBe('user');
    const ritaToken = await harness.server.login('rita', password('rita'));
    const canListUsers = async () => !(await harness.server.gql('{ users { username } }', {}, ritaToken)).errors;
    expect(await canListUsers()).toBe(false);

    await role.selectOption('admin');
    await expect.poll(async () => (await account('rita'))?.role).toBe('admin');
    expect(await canListUsers()).toBe(true);
    expect((await harness.server.request('POST', '/api/login', { body: { user_id: 'rita', password: password('rita') } })).body.role).toBe('admin');
    expect(await page.getByTestId('user-error').count()).toBe(0);
    await shot('admin-dialog-role-admin');
    // The page shows what the server holds, after a reload too.
    await page.reload();
    await userRow(page, 'rita').waitFor();
    expect(await userRow(page, 'rita').getByTestId('user-role').inputValue()).toBe('admin');

    await userRow(page, 'rita').getByTestId('user-role').selectOption('user');
    await expect.poll(async () => (await account('rita'))?.role).toBe('user');
    expect(await canListUsers()).toBe(false);
    await finish();
  });

  it('rejects a pending sign-up after a confirmation (Escape cancels): the account cannot sign in', async () => {
    const signup = await harness.server.gql('mutation($input: SignupInput!) { signup(input: $input) { username status } }', { input: { username: 'penny', password: password('penny') } });
    expect(signup.data).toEqual({ signup: { username: 'penny', status: 'pending' } });
    const { page, shot, finish } = await openConsolePage(harness);
    await openAdminPage(page);
    const pending = page.getByTestId('pending-penny');
    await pending.waitFor();

    await page.getByTestId('reject-penny').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(ko.adminUsers.pending.rejectBody.replace('{name}', 'penny'));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await pending.count()).toBe(1);
    expect((await account('penny'))?.status).toBe('pending');

    await page.getByTestId('reject-penny').click();
    await dialog.waitFor();
    await shot('admin-dialog-reject');
    await page.getByTestId('confirm-ok').click();
    await dialog.waitFor({ state: 'detached' });
    await pending.waitFor({ state: 'detached' });
    await expect.poll(() => userRow(page, 'penny').getAttribute('data-status')).toBe('rejected');
    expect((await account('penny'))?.status).toBe('rejected');
    expect(await loginStatus('penny', password('penny'))).toBe(403);
    await finish();
  });

  it('disables an account after a confirmation: its token stops working and it cannot sign in again', async () => {
    const doraToken = await harness.server.login('dora', password('dora'));
    const me = () => harness.server.gql<{ me: { username: string } }>('{ me { username } }', {}, doraToken);
    expect((await me()).data?.me.username).toBe('dora');

    const { page, shot, finish } = await openConsolePage(harness);
    await openAdminPage(page);
    await page.getByTestId('disable-dora').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(ko.adminUsers.users.disableBody.replace('{name}', 'dora'));
    // Keyboard-usable: the focus starts on Cancel.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('confirm-cancel');
    await shot('admin-dialog-disable');
    await page.getByTestId('confirm-ok').click();
    await dialog.waitFor({ state: 'detached' });

    const row = userRow(page, 'dora');
    await expect.poll(() => row.getAttribute('data-status')).toBe('disabled');
    expect(await page.getByTestId('disable-dora').count()).toBe(0);
    expect((await account('dora'))?.status).toBe('disabled');
    expect((await me()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await loginStatus('dora', password('dora'))).toBe(403);

    // The status filter finds it among the disabled accounts.
    await page.getByTestId('users-filter-status').selectOption('disabled');
    await expect
      .poll(() => page.locator('[data-testid^="user-row-"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid'))))
      .toEqual(['user-row-dora']);
    await finish();
  });
});
