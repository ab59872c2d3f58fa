import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, ensureClientBuilt, launchBrowser, SCREENSHOTS } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe.skipIf(!browserAvailable('console smoke'))('the console served by the real server, in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const clientDist = ensureClientBuilt();
    server = await startTestServer({ env: { CLIENT_DIST: clientDist } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(['/', '/history', '/main_ui?x=1'])('serves %s (reload on any route) with the live server status and nothing from outside', async (path) => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    page.on('request', (req) => {
      if (!req.url().startsWith(server.url) && !req.url().startsWith('data:')) foreign.push(req.url());
    });
    await page.goto(`${server.url}${path}`);
    const health = page.getByTestId('health');
    await health.waitFor({ timeout: 10_000 });
    expect(await health.textContent()).toContain('database: sqlite');
    await page.screenshot({ path: join(SCREENSHOTS, `smoke${path.replace(/[^a-z]+/g, '-')}.png`) });
    expect(consoleErrors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('answers unknown API paths with the JSON 404, not the console page', async () => {
    const res = await server.request('GET', '/api/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not Found' });
  });
});
