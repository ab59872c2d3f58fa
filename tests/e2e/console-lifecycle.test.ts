/**
 * Cancel, retry and a short pool in Chromium against the real server (mock runner slowed to
 * 500 ms a step, a vSphere workload pool of two hosts): an order from /private-console (a double
 * click orders once) is cancelled from the run overlay and ends "cancelled" with its host back
 * in the pool; /history retries it to COMPLETED as attempt 2; and an order the pool cannot
 * hold says how many hosts were needed and are free, next to the submit button, keeping the form.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { waitFor } from '../helpers/server.js';
import { ko, openConsolePage, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const LENA = { username: 'lena', password: 'lena-password-1' };
const POOL_HOSTS = 2;

describe.skipIf(!browserAvailable('console lifecycle'))('cancel, retry and a short pool, in Chromium', () => {
  let harness: ConsoleHarness;
  let lenaToken: string;

  beforeAll(async () => {
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '500', IP_POOL_VSPHERE: '10.77.0.0/30' } });
    lenaToken = await harness.server.createUser(LENA.username, LENA.password);
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function signInTo(page: Page, path: string): Promise<void> {
    await page.goto(`${harness.server.url}/configure?redirect=${encodeURIComponent(path)}`);
    await signInThroughModal(page, LENA.username, LENA.password);
    await page.waitForURL(`**${path}`);
  }

  /** Free and total hosts of the vSphere pool, as the server counts them. */
  async function vspherePool(): Promise<{ available: number; total: number }> {
    const res = await harness.server.gql<{ workloadPool: { infra: string; available: number; total: number }[] }>('{ workloadPool { infra available total } }', {}, lenaToken);
    const { available, total } = res.data!.workloadPool.find((p) => p.infra === 'vsphere')!;
    return { available, total };
  }

  /** Hosts of the pool held by the project. */
  async function hostsOf(projectId: number): Promise<number> {
    const res = await harness.server.gql<{ resources: { nodes: { kind: string; projectId: number | null }[] } }>('{ resources(first: 500, kind: host) { nodes { kind projectId } } }', {}, lenaToken);
    return res.data!.resources.nodes.filter((r) => r.kind === 'host' && r.projectId === projectId).length;
  }

  async function projectOf(id: number): Promise<{ status: string; attempt: number; lastSeq: number; pendingAction: string | null }> {
    const res = await harness.server.gql('query($id: Int!) { project(id: $id) { status attempt lastSeq pendingAction } }', { id }, lenaToken);
    return res.data.project;
  }

  async function lenasProjects(): Promise<number[]> {
    const res = await harness.server.gql<{ history: { nodes: { id: number }[] } }>('{ history(first: 100) { nodes { id } } }', {}, lenaToken);
    return res.data!.history.nodes.map((n) => n.id);
  }

  const textOf = async (page: Page, testId: string) => ((await page.getByTestId(testId).textContent()) ?? '').trim();
  const shownSeqs = (page: Page) => page.$$eval('[data-testid="run-line"]', (lines) => lines.map((l) => Number(l.getAttribute('data-seq'))));

  it('cancels a run from the overlay (its host goes back to the pool), then retries it from /history to COMPLETED', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    expect(await vspherePool()).toEqual({ available: POOL_HOSTS, total: POOL_HOSTS });
    await signInTo(page, '/private-console');
    await page.getByTestId('template-single').waitFor();
    await page.getByTestId('service-name').fill('cancel-me');

    // A double click orders once.
    await page.getByTestId('provision-submit').dblclick();
    await page.getByTestId('run-overlay').waitFor();
    const projectId = Number((await textOf(page, 'run-service')).match(/#(\d+)/)![1]);
    expect(await lenasProjects()).toEqual([projectId]);

    // Cancel while it runs: asked first, then it says it is cancelling until the runner stops.
    await expect.poll(() => textOf(page, 'run-status'), { timeout: 10_000 }).toContain(ko.run.statuses.RUNNING);
    await page.getByTestId('run-cancel').click();
    await page.getByTestId('run-cancel-confirm').waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('run-cancel-keep');
    await shot('lifecycle-cancel-confirm');
    await page.getByTestId('run-cancel-yes').click();

    await page.getByTestId('run-cancelled').waitFor({ timeout: 15_000 });
    expect(await textOf(page, 'run-cancelled')).toContain(ko.run.cancelled);
    expect(await textOf(page, 'run-status')).toContain(ko.run.statuses.CANCELLED);
    expect(await page.getByTestId('run-success').count()).toBe(0);
    expect(await page.getByTestId('run-cancel').count()).toBe(0);
    const seqs = await shownSeqs(page);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const cancelled = await projectOf(projectId);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', attempt: 1, pendingAction: null });
    expect(seqs).toHaveLength(cancelled.lastSeq);
    const lines = await page.locator('[data-testid="run-line"]').allTextContents();
    expect(lines.some((l) => l.includes(`Cancel requested by ${LENA.username}`) || l.includes(`Cancelled by ${LENA.username}`))).toBe(true);
    // Its host is free again.
    expect(await hostsOf(projectId)).toBe(0);
    expect(await vspherePool()).toEqual({ available: POOL_HOSTS, total: POOL_HOSTS });
    // The page's pool count follows once the run ended.
    await expect.poll(() => textOf(page, 'free-hosts')).toContain(`${POOL_HOSTS} / ${POOL_HOSTS}`);
    await shot('lifecycle-run-cancelled');

    // Retry it from /history.
    await page.getByTestId('run-done').click();
    await page.getByTestId('run-overlay').waitFor({ state: 'detached' });
    await page.goto(`${harness.server.url}/history`);
    const row = page.getByTestId(`history-row-${projectId}`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('CANCELLED');
    expect(await row.getByTestId('status-badge').getAttribute('data-tone')).toBe('slate');
    expect(await page.getByTestId(`cancel-${projectId}`).count()).toBe(0);
    expect(await page.locator('[data-testid^="delete-"]').count()).toBe(0);
    await page.getByTestId(`retry-${projectId}`).click();
    await page.getByTestId('action-dialog').waitFor();
    expect(await textOf(page, 'action-dialog')).toContain(`#${projectId}`);
    await shot('lifecycle-history-retry-dialog');
    await page.getByTestId('action-confirm').click();
    await page.getByTestId('action-dialog').waitFor({ state: 'detached' });

    // The row runs again (live, no reload) and completes; while it runs it offers Cancel.
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 5_000 }).toMatch(/^(PENDING|RUNNING)$/);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('COMPLETED');
    expect(await row.getByTestId('status-badge').getAttribute('data-tone')).toBe('green');
    expect(await page.getByTestId(`retry-${projectId}`).count()).toBe(0);
    await page.getByTestId(`expand-${projectId}`).click();
    const details = page.getByTestId(`details-${projectId}`);
    await details.getByTestId('details-logs').waitFor();
    expect(await details.getByTestId('details-attempt').textContent()).toBe(ko.history.details.attempt.replace('{n}', '2'));
    expect(await details.getByTestId('details-logs').textContent()).toContain(`Retry #1 requested by ${LENA.username}`);
    await shot('lifecycle-history-retried');

    expect(await projectOf(projectId)).toMatchObject({ status: 'COMPLETED', attempt: 2, pendingAction: null });
    expect(await hostsOf(projectId)).toBe(1);
    expect(await vspherePool()).toEqual({ available: POOL_HOSTS - 1, total: POOL_HOSTS });
    expect(await lenasProjects()).toEqual([projectId]);
    await finish();
  });

  it('says how many hosts were needed and are free when the pool is too small, and keeps the form', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const before = await lenasProjects();
    const { available } = await vspherePool();
    expect(available).toBeLessThan(3);
    await signInTo(page, '/private-console');
    await page.getByTestId('template-standard').waitFor();
    await page.getByTestId('template-standard').click();
    await page.getByTestId('package-nginx').click();
    await page.getByTestId('service-name').fill('too-big');
    // The page already warns; the order is sent anyway and the server refuses it.
    await page.getByTestId('too-few-hosts').waitFor();
    await page.getByTestId('provision-submit').click();

    const error = page.getByTestId('provision-error');
    await error.waitFor();
    expect(await error.textContent()).toBe(ko.provision.notEnoughHosts.replace('{needed}', '3').replace('{available}', String(available)));
    expect(await page.getByTestId('run-overlay').count()).toBe(0);
    // The form keeps its values, and nothing was ordered.
    expect(await page.getByTestId('service-name').inputValue()).toBe('too-big');
    expect(await page.getByTestId('template-standard').locator('input').isChecked()).toBe(true);
    expect(await page.getByTestId('package-nginx').getAttribute('aria-pressed')).toBe('true');
    expect(await lenasProjects()).toEqual(before);
    await waitFor(async () => (await vspherePool()).available === available, 2_000, 'the pool to be unchanged');
    await shot('lifecycle-pool-short');
    await finish();
  });
});
