/**
 * The whole console in one Chromium page against the real server (mock runner, slowed down so
 * that the run can be watched), as issue 4 tells it: `/` → AWS card → /configure → sign in →
 * design a stack on /main_ui and see every preview tab follow it → Provision Stack → the overlay
 * streams the run to "Deployment Successful" → View Dashboard (/monitoring lists its hosts) →
 * /history shows the project → the user logs out, an admin signs in and deletes it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN, waitFor } from '../helpers/server.js';
import { ko, openConsolePage, openSignIn, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const USER = { username: 'jules', password: 'jules-password-1' };
const SERVICE = 'journey-shop';

const textOf = async (page: Page, testId: string) => ((await page.getByTestId(testId).textContent()) ?? '').trim();
const codeText = (page: Page) => page.getByTestId('code').textContent().then((t) => t ?? '');
/** The seq numbers of the overlay's lines, in the order shown. */
const shownSeqs = (page: Page) => page.$$eval('[data-testid="run-line"]', (lines) => lines.map((l) => Number(l.getAttribute('data-seq'))));

describe.skipIf(!browserAvailable('console journey'))('the console journey of issue 4, in one Chromium page', () => {
  let harness: ConsoleHarness;
  let userToken: string;

  beforeAll(async () => {
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '250' } });
    userToken = await harness.server.createUser(USER.username, USER.password);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('goes from / to a provisioned stack, finds it in /monitoring and /history, and an admin deletes it', async () => {
    const { page, shot, finish } = await openConsolePage(harness);

    // 1. `/`: choose AWS.
    await page.goto(`${harness.server.url}/`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    await shot('journey-01-select-infra');
    await page.getByTestId('card-aws').click();

    // 2. /configure: sign in as a normal user, Enter submits.
    await page.waitForURL('**/configure');
    await expect.poll(() => page.getByTestId('page-title').textContent()).toContain(ko.configure.heroLead);
    await shot('journey-02-configure');
    await openSignIn(page);
    await shot('journey-03-sign-in');
    await signInThroughModal(page, USER.username, USER.password);

    // 3. /main_ui with the default design: two t3.micro nodes, MySQL, no Multi-AZ, no Redis.
    await page.waitForURL('**/main_ui');
    expect(await textOf(page, 'page-title')).toBe('Management Console | Expert Mode');
    await expect.poll(() => page.getByTestId('session-user').textContent()).toContain(USER.username);
    await expect.poll(() => page.getByTestId('topo-app-node').count()).toBe(2);
    expect(await page.getByTestId('topo-db-replica').count()).toBe(0);
    expect(await page.getByTestId('topo-redis').count()).toBe(0);
    expect(await textOf(page, 'topo-db-primary')).toContain('MySQL');
    await expect.poll(() => textOf(page, 'header-cost')).toMatch(/^\$[\d,]+\.\d\d$/);
    const defaultCost = await textOf(page, 'header-cost');
    await page.getByTestId('tab-terraform').click();
    await expect.poll(() => codeText(page)).toMatch(/desired_capacity\s*=\s*2\b/);
    expect(await codeText(page)).not.toContain('aws_elasticache_cluster');
    await shot('journey-04-main-ui-default');

    // 4. The design, with the Terraform tab open: its text follows as the form changes.
    await page.getByTestId('service-name').fill(SERVICE);
    await page.getByTestId('tier-m5.large').click();
    await page.getByTestId('node-count').fill('3');
    await page.getByTestId('db-engine').selectOption('postgres');
    await page.getByTestId('db-multi-az').check();
    await page.getByTestId('redis').check();
    await expect.poll(() => codeText(page)).toMatch(/desired_capacity\s*=\s*3\b/);
    await expect.poll(() => codeText(page)).toContain('aws_elasticache_cluster');
    const terraform = await codeText(page);
    expect(terraform).toMatch(/engine\s*=\s*"postgres"/);
    expect(terraform).toMatch(/multi_az\s*=\s*true/);
    expect(terraform).toMatch(/instance_type\s*=\s*"m5\.large"/);
    expect(terraform).toContain(SERVICE);
    await shot('journey-05-terraform');

    await page.getByTestId('tab-cloudFormation').click();
    await expect.poll(() => page.getByTestId('code').getAttribute('data-language')).toBe('yaml');
    const cloudFormation = await codeText(page);
    expect(cloudFormation).toMatch(/DesiredCapacity: "3"/);
    expect(cloudFormation).toMatch(/InstanceType: m5\.large/);
    expect(cloudFormation).toContain('AWS::ElastiCache::CacheCluster');
    expect(cloudFormation).toMatch(/Engine: postgres/);
    expect(cloudFormation).toMatch(/MultiAZ: true/);
    expect(cloudFormation).toContain(SERVICE);
    await shot('journey-06-cloudformation');

    await page.getByTestId('tab-cost').click();
    await page.getByTestId('cost-analysis').waitFor();
    const compute = page.getByTestId('cost-line-compute');
    expect(await compute.textContent()).toContain('m5.large');
    expect(await compute.locator('td').first().textContent()).toBe('3');
    expect(await page.getByTestId('cost-line-database').textContent()).toMatch(/PostgreSQL.*Multi-AZ/);
    expect(await page.getByTestId('cost-line-redis').count()).toBe(1);
    const designCost = await textOf(page, 'cost-total');
    expect(designCost).not.toBe(defaultCost);
    expect(await textOf(page, 'header-cost')).toBe(designCost);
    await shot('journey-07-cost');

    await page.getByTestId('tab-topology').click();
    await expect.poll(() => page.getByTestId('topo-app-node').count()).toBe(3);
    expect(await page.getByTestId('topo-db-replica').count()).toBe(1);
    expect(await page.getByTestId('topo-redis').count()).toBe(1);
    expect(await textOf(page, 'topo-db-primary')).toContain('PostgreSQL');
    await shot('journey-08-topology');

    // 5. Provision Stack: the overlay streams the run's events, one by one, to success.
    await page.getByTestId('provision-stack').click();
    await page.getByTestId('run-overlay').waitFor();
    await expect.poll(() => page.getByTestId('run-line').count()).toBeGreaterThan(0);
    // Streamed, not shown at the end: the first lines are there while the run still goes on.
    expect(await page.getByTestId('run-success').count()).toBe(0);
    const projectId = Number((await textOf(page, 'run-service')).match(/#(\d+)/)![1]);
    await shot('journey-09-run-streaming');
    await page.getByTestId('run-success').waitFor({ timeout: 30_000 });
    expect(await textOf(page, 'run-success')).toContain('Deployment Successful');
    const project = await harness.server.gql<{ project: { status: string; lastSeq: number; serviceName: string; owner: string; config: Record<string, unknown> } }>(
      'query($id: Int!) { project(id: $id) { status lastSeq serviceName owner config } }',
      { id: projectId },
      userToken,
    );
    expect(project.data!.project).toMatchObject({
      status: 'COMPLETED',
      serviceName: SERVICE,
      owner: USER.username,
      config: { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', dbMultiAZ: true, redis: true },
    });
    // Every event of the run, each once, in order.
    const seqs = await shownSeqs(page);
    expect(seqs).toEqual(Array.from({ length: project.data!.project.lastSeq }, (_, i) => i + 1));
    const lines = await page.locator('[data-testid="run-line"]').allTextContents();
    expect(lines.some((l) => l.includes('Creating Web tier...'))).toBe(true);
    expect(await page.getByTestId('run-resources').textContent()).toContain(`${SERVICE}.mock.example.com`);
    await shot('journey-10-run-success');

    // 6. View Dashboard → /monitoring lists the hosts the run took.
    const held = await harness.server.gql<{ resources: { nodes: { kind: string; ipAddress: string; projectId: number | null }[] } }>('{ resources(first: 500, kind: host) { nodes { kind ipAddress projectId } } }', {}, userToken);
    const hostIps = held.data!.resources.nodes.filter((r) => r.kind === 'host' && r.projectId === projectId).map((r) => r.ipAddress);
    expect(hostIps).toHaveLength(3);
    await page.getByTestId('view-dashboard').click();
    await page.waitForURL('**/monitoring');
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.monitoring.title);
    for (const ip of hostIps) {
      const hostRow = page.getByTestId(`row-host-${ip}`);
      await hostRow.waitFor();
      expect(await hostRow.textContent()).toContain(SERVICE);
    }
    await shot('journey-11-monitoring');

    // 7. /history, from the icon bar: the project, completed, with its address and design.
    await page.getByRole('link', { name: ko.nav.history }).click();
    await page.waitForURL('**/history');
    const row = page.getByTestId(`history-row-${projectId}`);
    await row.waitFor();
    expect(await row.getByTestId('cell-name').textContent()).toBe(SERVICE);
    expect(await row.getAttribute('data-status')).toBe('COMPLETED');
    expect(await row.getByTestId('cell-ip').textContent()).toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(await row.getByTestId('cell-spec').textContent()).toContain('m5.large × 3');
    // A user deletes nothing.
    expect(await page.locator('[data-testid^="delete-"]').count()).toBe(0);
    await shot('journey-12-history-user');

    // 8. The user logs out; an admin signs in on the same page and deletes the project.
    await page.getByTestId('logout').click();
    await page.waitForURL('**/configure');
    await page.goto(`${harness.server.url}/history`);
    await page.waitForURL(signInFor('/history'));
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL((url) => url.pathname === '/history');
    await page.getByTestId('admin-mode').waitFor();
    await row.waitFor();
    expect(await row.getByTestId('cell-owner').textContent()).toBe(USER.username);
    await page.getByTestId(`delete-${projectId}`).click();
    await page.getByTestId('delete-dialog').waitFor();
    expect(await page.getByTestId('delete-dialog').textContent()).toContain(SERVICE);
    await shot('journey-13-delete-dialog');
    await page.getByTestId('delete-confirm').click();
    await page.getByTestId('delete-dialog').waitFor({ state: 'detached' });

    // Deletion may tear down in the background (DELETING, then gone): wait until the server no
    // longer lists the project, and the page no longer shows it.
    await waitFor(
      async () => {
        const res = await harness.server.request('GET', '/api/history', { token: harness.server.adminToken });
        return !(res.body as { id: number }[]).some((p) => p.id === projectId);
      },
      15_000,
      `project ${projectId} to leave /api/history`,
    );
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
    // Its hosts went back to the pool.
    await waitFor(
      async () => {
        const res = await harness.server.gql<{ resources: { totalCount: number } }>('query($id: Int) { resources(first: 1, projectId: $id) { totalCount } }', { id: projectId }, userToken);
        return res.data!.resources.totalCount === 0;
      },
      15_000,
      'hosts to return to the pool',
    );
    expect(await row.count()).toBe(0);
    await shot('journey-14-history-deleted');
    await finish();
  });
});
