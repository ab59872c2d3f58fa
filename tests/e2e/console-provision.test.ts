/**
 * Designing and provisioning in Chromium against the real server (mock runner, slowed down so
 * that a run can be watched): the /main_ui design and its live preview, Provision Stack and the
 * run overlay to "Deployment Successful", a failing run, a reload in the middle of a run, and
 * a vSphere template order from /private-console.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import { ko, openConsolePage, openSignIn, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const RUN_KEY = 'hcmp.run';

async function signInTo(harness: ConsoleHarness, page: Page, path: string): Promise<void> {
  await page.goto(`${harness.server.url}/configure?redirect=${encodeURIComponent(path)}`);
  await signInThroughModal(page, ADMIN.username, ADMIN.password);
  await page.waitForURL(`**${path}`);
}

/** The seq numbers of the overlay's lines, in the order shown. */
const shownSeqs = (page: Page) => page.$$eval('[data-testid="run-line"]', (lines) => lines.map((l) => Number(l.getAttribute('data-seq'))));

async function lastSeqOf(harness: ConsoleHarness, projectId: number): Promise<number> {
  const res = await harness.server.gql<{ project: { lastSeq: number; status: string } }>('query($id: Int!) { project(id: $id) { lastSeq status } }', { id: projectId }, harness.server.adminToken);
  return res.data!.project.lastSeq;
}

const textOf = async (page: Page, testId: string) => ((await page.getByTestId(testId).textContent()) ?? '').trim();

describe.skipIf(!browserAvailable('console provisioning'))('designing and provisioning, in Chromium', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '150' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('designs a stack whose preview follows the form, provisions it and streams the run to Deployment Successful, then View Dashboard', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await openSignIn(page);
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');
    expect(await textOf(page, 'page-title')).toBe('Management Console | Expert Mode');
    await page.getByTestId('topology').waitFor();

    // Typing an invalid name shows the rule at once; fixing it clears it.
    await page.getByTestId('service-name').fill('Shop_Front');
    expect(await textOf(page, 'service-name-error')).toBe(ko.mainUi.nameErrors.pattern);
    await page.getByTestId('service-name').fill('shop-front');
    expect(await page.getByTestId('service-name-error').count()).toBe(0);

    await page.getByTestId('tier-m5.large').click();
    await page.getByTestId('node-count').fill('3');
    await page.getByTestId('db-engine').selectOption('postgres');
    await page.getByTestId('db-multi-az').check();
    await page.getByTestId('redis').check();

    // The preview follows the form as it settles: wait for each part, not only the first.
    await expect.poll(() => page.getByTestId('topo-app-node').count()).toBe(3);
    await expect.poll(() => page.getByTestId('topo-db-replica').count()).toBe(1);
    await expect.poll(() => page.getByTestId('topo-redis').count()).toBe(1);
    expect(await textOf(page, 'topo-db-primary')).toContain('PostgreSQL');
    await shot('main-ui-topology');

    await page.getByTestId('tab-terraform').click();
    await expect.poll(() => page.getByTestId('code').textContent()).toMatch(/desired_capacity\s*=\s*3/);
    expect(await page.locator('[data-testid="code"] .tok-keyword').count()).toBeGreaterThan(0);
    await shot('main-ui-terraform');

    await page.getByTestId('tab-cloudFormation').click();
    await expect.poll(() => page.getByTestId('code').getAttribute('data-language')).toBe('yaml');
    expect(await page.getByTestId('code').textContent()).toContain('AWS::ElastiCache::CacheCluster');
    expect(await page.getByTestId('code').textContent()).toContain('shop-front');

    await page.getByTestId('tab-cost').click();
    await page.getByTestId('cost-analysis').waitFor();
    await expect.poll(() => page.getByTestId('cost-line-redis').count()).toBe(1);
    const total = await textOf(page, 'cost-total');
    expect(total).toMatch(/^\$[\d,]+\.\d\d$/);
    expect(await textOf(page, 'header-cost')).toBe(total);
    // One more node: the cost follows, in the table and in the header alike.
    await page.getByTestId('node-count').fill('4');
    await expect.poll(() => textOf(page, 'cost-total')).not.toBe(total);
    await expect.poll(async () => (await textOf(page, 'header-cost')) === (await textOf(page, 'cost-total'))).toBe(true);
    await page.getByTestId('node-count').fill('3');
    await expect.poll(() => textOf(page, 'cost-total')).toBe(total);
    await shot('main-ui-cost');

    await page.getByTestId('provision-stack').click();
    await page.getByTestId('run-overlay').waitFor();
    await expect.poll(() => page.getByTestId('run-line').count()).toBeGreaterThan(0);
    await shot('run-overlay-streaming');
    await page.getByTestId('run-success').waitFor({ timeout: 20_000 });
    expect(await textOf(page, 'run-success')).toContain('Deployment Successful');
    const lines = await page.locator('[data-testid="run-line"]').allTextContents();
    expect(lines.some((l) => l.includes('Creating Web tier...'))).toBe(true);
    expect(lines.some((l) => l.includes('Completed'))).toBe(true);
    const seqs = await shownSeqs(page);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(await page.getByTestId('run-resources').textContent()).toContain('shop-front.mock.example.com');
    await shot('run-overlay-success');

    await page.getByTestId('view-dashboard').click();
    await page.waitForURL('**/monitoring');
    expect(await page.evaluate((key) => sessionStorage.getItem(key), RUN_KEY)).toBeNull();
    await finish();
  });

  it('shows the error of a failing run, picked up from sessionStorage', async () => {
    // A failing run is started through the API (config.mockFailAt is a test seam the UI does
    // not offer) and handed to the page the way a reload hands it over: { projectId, lastSeq: 0 }.
    const res = await harness.server.gql<{ provision: { id: number } }>(
      'mutation($input: ProvisionInput!) { provision(input: $input) { id } }',
      { input: { serviceName: 'doomed-app', config: { instanceType: 't3.micro', nodeCount: 1, dbEngine: 'mysql', mockFailAt: 'db' }, targetInfra: {} } },
      harness.server.adminToken,
    );
    const projectId = res.data!.provision.id;
    const { page, shot, finish } = await openConsolePage(harness);
    await signInTo(harness, page, '/main_ui');
    await page.evaluate(([key, id]) => sessionStorage.setItem(key as string, JSON.stringify({ projectId: id, serviceName: 'doomed-app', lastSeq: 0, lines: [], status: 'PENDING', resources: null, error: null })), [RUN_KEY, projectId]);
    await page.reload();
    await page.getByTestId('run-overlay').waitFor();
    await page.getByTestId('run-failure').waitFor({ timeout: 20_000 });
    expect(await textOf(page, 'run-status')).toContain(ko.run.statuses.FAILED);
    expect((await textOf(page, 'run-error')).length).toBeGreaterThan(0);
    expect(await page.getByTestId('run-success').count()).toBe(0);
    expect(await shownSeqs(page)).toHaveLength(await lastSeqOf(harness, projectId));
    await shot('run-overlay-failed');

    // Finished: Escape closes it and the run is forgotten.
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('run-overlay').count()).toBe(0);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), RUN_KEY)).toBeNull();
    await finish();
  });

  it('continues a run after a reload in the middle of it, without a gap or a duplicate line', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await signInTo(harness, page, '/main_ui');
    await page.getByTestId('service-name').fill('reload-app');
    await page.getByTestId('provision-stack').click();
    await page.getByTestId('run-overlay').waitFor();
    // Escape while running asks first, and keeps the run.
    await page.keyboard.press('Escape');
    await page.getByTestId('run-confirm').waitFor();
    await page.getByTestId('run-keep-watching').click();
    await expect.poll(() => page.getByTestId('run-line').count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('run-success').count()).toBe(0);
    // Both read in one turn of the page: the run goes on, and a line arriving between two reads
    // would make them disagree (seen in CI once the server answered faster).
    const { before, stored } = await page.evaluate((key) => {
      const lines = [...document.querySelectorAll('[data-testid="run-line"]')].map((l) => Number(l.getAttribute('data-seq')));
      return { before: lines, stored: JSON.parse(sessionStorage.getItem(key) ?? 'null') as { lastSeq: number; projectId: number } };
    }, RUN_KEY);
    expect(stored.lastSeq).toBe(before[before.length - 1]);

    await page.reload();
    await page.getByTestId('run-overlay').waitFor();
    await page.getByTestId('run-success').waitFor({ timeout: 20_000 });
    const after = await shownSeqs(page);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toEqual(after.map((_, i) => i + 1));
    expect(after).toHaveLength(await lastSeqOf(harness, stored.projectId));
    const texts = await page.locator('[data-testid="run-line"]').allTextContents();
    expect(texts.filter((t) => t.includes('Creating Web tier...'))).toHaveLength(1);
    await shot('run-overlay-after-reload');
    await finish();
  });

  it('orders a standard vSphere template with two packages from /private-console and streams it to success', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await signInTo(harness, page, '/private-console');
    expect(await textOf(page, 'page-title')).toBe(ko.privateConsole.title);
    await page.getByTestId('template-standard').waitFor();
    expect(await textOf(page, 'template-standard')).toContain('LB');
    expect(await page.getByTestId('free-hosts').textContent()).toMatch(/\d+ \/ \d+/);
    await page.getByTestId('template-standard').click();
    await page.getByTestId('package-nginx').click();
    await page.getByTestId('package-postgresql').click();
    expect(await page.getByTestId('package-nginx').getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('traffic-mid').click();
    await page.getByTestId('environment').selectOption('stg');
    await page.getByTestId('service-name').fill('-bad');
    expect(await textOf(page, 'service-name-error')).toBe(ko.mainUi.nameErrors.pattern);
    await page.getByTestId('service-name').fill('intranet');
    await shot('private-console-order');

    await page.getByTestId('provision-submit').click();
    await page.getByTestId('run-overlay').waitFor();
    await page.getByTestId('run-success').waitFor({ timeout: 20_000 });
    const projectId = Number((await textOf(page, 'run-service')).match(/#(\d+)/)![1]);
    const project = await harness.server.gql<{ project: { config: Record<string, unknown>; infra: string; templateType: string } }>(
      'query($id: Int!) { project(id: $id) { config infra templateType } }',
      { id: projectId },
      harness.server.adminToken,
    );
    expect(project.data!.project).toMatchObject({ infra: 'vsphere', templateType: 'standard', config: { template: 'standard', packages: ['nginx', 'postgresql'], environment: 'stg', traffic: 'mid' } });
    await shot('private-console-success');
    await finish();
  });
});
