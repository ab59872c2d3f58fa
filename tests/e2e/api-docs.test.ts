/**
 * The REST API's interactive reference (/docs: @fastify/swagger-ui over /openapi.json) in
 * Chromium against the real server: it renders every operation under the server's own
 * Content-Security-Policy, with every request the page makes going to the server itself (no
 * CDN), runs a request, and is linked from the console's icon bar.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import en from '../../client/src/i18n/en.js';
import { ko, openConsolePage, openSignIn, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

/** Every request a page makes, by URL. */
function recordRequests(page: Page): Request[] {
  const requests: Request[] = [];
  page.on('request', (request) => requests.push(request));
  return requests;
}

const operations = (page: Page) => page.locator('.swagger-ui .opblock').count();

describe.skipIf(!browserAvailable('api docs'))('REST API reference at /docs, in Chromium', () => {
  let harness: ConsoleHarness;
  let doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  let documented: number;

  beforeAll(async () => {
    harness = await startConsole();
    doc = (await harness.server.request('GET', '/openapi.json')).body;
    documented = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((k) => ['get', 'post', 'delete'].includes(k)).length, 0);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('renders every operation of /openapi.json with nothing from another origin, under the strict CSP', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const requests = recordRequests(page);
    const violations: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
    });
    const response = await page.goto(`${harness.server.url}/docs`);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await expect.poll(() => operations(page), { timeout: 15_000 }).toBe(documented);
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain('H-CMP REST API');
    // the tags group the operations; the components (Detail, ValidationError, ...) are listed
    for (const tag of ['projects', 'accounts', 'admin', 'pool', 'platform']) await page.locator(`#operations-tag-${tag}`).waitFor();
    await page.locator('.swagger-ui .models-control').click();
    await expect.poll(() => page.locator('.swagger-ui .models article[data-json-schema-level="0"]').count()).toBe(Object.keys(doc.components.schemas).length);
    await shot('api-docs');

    const origin = new URL(harness.server.url).origin;
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests.map((r) => r.url()).filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([]);
    expect(requests.map((r) => new URL(r.url()).pathname)).toEqual(expect.arrayContaining(['/docs', '/docs/static/swagger-ui-bundle.js', '/docs/json']));
    expect(violations).toEqual([]);
    await finish();
  });

  it('runs an operation from the page: GET /api/public/settings answers 200 with the notice', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/docs#/platform/publicSettings`);
    const block = page.locator('#operations-platform-publicSettings');
    await block.waitFor();
    if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary').click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/public/settings');
    await block.getByRole('button', { name: 'Execute' }).click();
    expect((await answer).status()).toBe(200);
    await expect.poll(() => block.locator('.live-responses-table tbody .response-col_status').first().innerText()).toBe('200');
    expect(await block.locator('.live-responses-table .microlight').first().innerText()).toContain('"maintenance_mode": false');
    await shot('api-docs-try-it-out');
    await finish();
  });

  it('is linked from the icon bar next to the GraphQL playground, in Korean and English', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await openSignIn(page);
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');
    const link = page.getByTestId('nav-api-docs');
    expect(await link.getAttribute('href')).toBe('/docs');
    expect(await link.getAttribute('aria-label')).toBe(ko.apiDocs.open);
    // right after the playground's link
    const links = await page.getByTestId('side-icon-bar').locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(links.indexOf('/docs')).toBe(links.indexOf('/playground') + 1);
    await shot('api-docs-icon-bar');
    await page.getByTestId('preferences-open').click();
    await page.getByTestId('preferences-locale-en').click();
    await expect.poll(() => link.getAttribute('aria-label')).toBe(en.apiDocs.open);
    await page.getByTestId('preferences-locale-ko').click();
    await page.keyboard.press('Escape');
    await link.click();
    await page.waitForURL('**/docs');
    await expect.poll(() => operations(page), { timeout: 15_000 }).toBe(documented);
    await finish();
  });
});
