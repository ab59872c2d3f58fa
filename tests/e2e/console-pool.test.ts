/**
 * /admin_pool in Chromium against the real server: the admin reaches it from the icon bar, adds
 * a host through the dialog, drains it (the counts follow), checks it (no SSH credentials are
 * configured: the row says so), removes it after confirming, and the server's pool agrees at
 * each step; a normal user is refused and has no link to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const ADDRESS = '10.98.7.6';

describe.skipIf(!browserAvailable('console pool'))('console /admin_pool, in Chromium', () => {
  let harness: ConsoleHarness;

  const stored = async () => {
    const res = await harness.server.gql(`{ poolHosts(search: "${ADDRESS}") { nodes { vmName ipAddress infra status checkOk } } }`, {}, harness.server.adminToken);
    return res.data.poolHosts.nodes;
  };

  beforeAll(async () => {
    harness = await startConsole();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('adds a host, drains it, checks it and removes it', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/admin_users`);
    await page.waitForURL(signInFor('/admin_users'));
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL((url) => url.pathname === '/admin_users');
    // from the icon bar (the users page links to it too)
    await page.getByTestId('side-icon-bar').getByRole('link', { name: ko.nav.pool }).click();
    await page.waitForURL((url) => url.pathname === '/admin_pool');
    expect(await page.getByTestId('page-title').textContent()).toBe(ko.adminPool.title);
    await page.getByTestId('pool-row-10.99.0.1').waitFor();
    const awsDrained = page.getByTestId('pool-aws-drained').locator('dd');
    expect(await awsDrained.textContent()).toBe('0');

    // add one host
    await page.getByTestId('open-add-hosts').click();
    await page.getByTestId('add-vm-name').fill('e2e-host');
    await page.getByTestId('add-ip-address').fill(ADDRESS);
    await page.getByTestId('add-infra').selectOption('aws');
    await shot('admin-pool-add');
    await page.getByTestId('add-submit').click();
    await page.getByTestId('pool-added').waitFor();
    expect(await stored()).toEqual([{ vmName: 'e2e-host', ipAddress: ADDRESS, infra: 'aws', status: 'available', checkOk: null }]);

    // find it, drain it
    await page.getByTestId('pool-search').fill(ADDRESS);
    await page.getByTestId('pool-apply').click();
    const row = page.getByTestId(`pool-row-${ADDRESS}`);
    await row.waitFor();
    await expect.poll(() => page.locator('[data-testid^="pool-row-"]').count()).toBe(1);
    await page.getByTestId(`drain-${ADDRESS}`).click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('drained');
    await expect.poll(() => awsDrained.textContent()).toBe('1');
    expect((await stored())[0].status).toBe('drained');

    // check it: no SSH credentials are configured, and the row says so
    await page.getByTestId(`check-${ADDRESS}`).click();
    await expect.poll(() => row.getAttribute('data-check')).toBe('failed');
    expect(await row.getByTestId('pool-check-message').textContent()).toContain('no SSH credentials configured');
    await shot('admin-pool-drained');

    // remove it, confirmed
    await page.getByTestId(`remove-${ADDRESS}`).click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('confirm-ok').click();
    await row.waitFor({ state: 'detached' });
    await page.getByTestId('pool-empty').waitFor();
    await expect.poll(() => awsDrained.textContent()).toBe('0');
    expect(await stored()).toEqual([]);
    await finish();
  });

  it('refuses /admin_pool to a normal user, who has no link to it', async () => {
    await harness.server.createUser('pool-visitor', 'pool-visitor-password');
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/admin_pool`);
    await page.waitForURL(signInFor('/admin_pool'));
    await signInThroughModal(page, 'pool-visitor', 'pool-visitor-password');
    await page.waitForURL((url) => url.pathname === '/admin_pool');
    await page.getByTestId('admin-only').waitFor();
    expect(await page.getByTestId('pool-hosts').count()).toBe(0);
    expect(await page.getByRole('link', { name: ko.nav.pool }).count()).toBe(0);
    await shot('admin-pool-refused');
    await finish();
  });
});
