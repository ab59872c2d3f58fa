/**
 * Shared set-up of the console's browser suites: one real server and one Chromium per file, a
 * fresh browser context per test, and the rules every test ends with — no console error, no
 * request to another origin — plus a screenshot per page under test-output/screenshots.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ensureClientBuilt, launchBrowser, screenshot, watchPage, type PageWatch } from '../helpers/browser.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.js';
import ko from '../../client/src/i18n/ko.js';

export { ko };

export interface ConsoleHarness {
  server: TestServer;
  browser: Browser;
  close(): Promise<void>;
}

export async function startConsole(options: TestServerOptions = {}): Promise<ConsoleHarness> {
  const clientDist = ensureClientBuilt();
  const server = await startTestServer({ ...options, env: { CLIENT_DIST: clientDist, ...options.env } });
  const browser = await launchBrowser();
  return {
    server,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  watch: PageWatch;
  /** Takes a screenshot named `name`. */
  shot(name: string): Promise<void>;
  /**
   * Takes the test's final screenshot, asserts the rules (no console error, nothing from
   * another origin) and closes the context.
   * `expectedConsoleErrors` are substrings of console errors this test provokes on purpose.
   */
  finish(expectedConsoleErrors?: string[]): Promise<void>;
}

export async function openConsolePage(harness: ConsoleHarness): Promise<ConsolePage> {
  const context = await harness.browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'ko-KR' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const watch = watchPage(page, harness.server.url);
  return {
    page,
    context,
    watch,
    shot: (name) => screenshot(page, name),
    async finish(expectedConsoleErrors = []) {
      // Every test leaves a picture of where it ended.
      const test = expect.getState().currentTestName ?? 'page';
      await screenshot(page, `end-${test.split(' > ').slice(-1)[0].toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 80)}`);
      const unexpected = watch.consoleErrors.filter((e) => !expectedConsoleErrors.some((allowed) => e.includes(allowed)));
      await context.close();
      expect(unexpected).toEqual([]);
      expect(watch.foreign).toEqual([]);
    },
  };
}

/** Clicks "Console 로그인" on /configure and waits for the sign-in modal. */
export async function openSignIn(page: Page): Promise<void> {
  await page.getByTestId('open-sign-in').click();
  await page.getByTestId('sign-in-modal').waitFor();
}

/** Signs in through the open (or opening) sign-in modal, pressing Enter in the password field. */
export async function signInThroughModal(page: Page, username: string, password: string): Promise<void> {
  await page.getByTestId('sign-in-modal').waitFor();
  await page.getByLabel('Account ID').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
}

export const pathOf = (page: Page) => {
  const url = new URL(page.url());
  return url.pathname + url.search;
};

/** Matches /configure?redirect=<path>: where a protected page sends a visitor without a session. */
export const signInFor = (path: string) => (url: URL) => url.pathname === '/configure' && url.searchParams.get('redirect') === path;
