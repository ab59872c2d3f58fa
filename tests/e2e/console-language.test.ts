/**
 * Korean and English on every page of the console, in Chromium against the real server: on each
 * route the header's switch turns a text of that page (its heading, subtitle or main button)
 * into English and back into Korean, `<html lang>` and the document title follow, and the choice
 * survives a reload. (/playground has no switch of its own: it follows the console's choice,
 * which console-playground.test.ts shows.)
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import en from '../../client/src/i18n/en.js';
import { ko, openConsolePage, signInFor, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

type Messages = typeof ko;
type Locale = 'ko' | 'en';
const MESSAGES: Record<Locale, Messages> = { ko, en: en as Messages };

/** A message by its dotted key, with vue-i18n's literal interpolation ({'|'}) resolved. */
const message = (locale: Locale, key: string): string =>
  String(key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], MESSAGES[locale])).replace(/\{'([^']*)'\}/g, '$1');

interface PageCase {
  path: string;
  /** Signed in as the admin (protected pages), or signed out. */
  signedIn: boolean;
  /** data-testid → message key: texts of this page that must change with the language. */
  texts: Record<string, string>;
  /** The page's title key (`<title>` is "<title> | H-CMP"). */
  title: string;
}

const PAGES: PageCase[] = [
  { path: '/', signedIn: false, texts: { 'page-title': 'selectInfra.title', 'page-subtitle': 'selectInfra.subtitle' }, title: 'pages.selectInfra' },
  { path: '/configure', signedIn: false, texts: { 'open-sign-in': 'configure.signIn', 'create-project': 'configure.createProject' }, title: 'pages.configure' },
  { path: '/signup', signedIn: false, texts: { 'page-title': 'signup.title', 'signup-submit': 'signup.submit' }, title: 'pages.signup' },
  { path: '/main_ui', signedIn: true, texts: { 'page-subtitle': 'mainUi.subtitle' }, title: 'pages.mainUi' },
  { path: '/private-console', signedIn: true, texts: { 'page-subtitle': 'privateConsole.subtitle' }, title: 'pages.privateConsole' },
  { path: '/history', signedIn: true, texts: { 'page-subtitle': 'history.subtitle', refresh: 'history.refresh' }, title: 'pages.history' },
  { path: '/monitoring', signedIn: true, texts: { 'page-title': 'monitoring.title', 'page-subtitle': 'monitoring.subtitle' }, title: 'pages.monitoring' },
  { path: '/admin_users', signedIn: true, texts: { 'page-title': 'adminUsers.title', 'page-subtitle': 'adminUsers.subtitle' }, title: 'pages.adminUsers' },
  { path: '/no/such/page', signedIn: false, texts: { 'page-title': 'notFound.title' }, title: 'pages.notFound' },
];

describe.skipIf(!browserAvailable('console language'))('Korean and English on every page, in Chromium', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await startConsole();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('checks texts that really differ between the two languages', () => {
    for (const { texts } of PAGES) for (const key of Object.values(texts)) expect(message('en', key), key).not.toBe(message('ko', key));
  });

  it.each(PAGES)('switches $path to English and back to Korean, and remembers the choice after a reload', async ({ path, signedIn, texts, title }) => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}${path}`);
    if (signedIn) {
      await page.waitForURL(signInFor(path));
      await signInThroughModal(page, ADMIN.username, ADMIN.password);
      await page.waitForURL((url) => url.pathname === path);
    }

    /** Every text of the page, `<html lang>`, the title, the pressed button and (signed in) the icon bar are in `locale`. */
    const expectLanguage = async (p: Page, locale: Locale) => {
      for (const [testId, key] of Object.entries(texts)) {
        await expect.poll(async () => ((await p.getByTestId(testId).textContent()) ?? '').trim(), { message: `${testId} in ${locale}` }).toBe(message(locale, key));
        expect(await p.getByTestId(testId).isVisible()).toBe(true);
      }
      expect(await p.getAttribute('html', 'lang')).toBe(locale);
      await expect.poll(() => p.title()).toBe(`${message(locale, title)} | H-CMP`);
      expect(await p.getByTestId(`locale-${locale}`).getAttribute('aria-pressed')).toBe('true');
      if (signedIn) expect(await p.getByRole('link', { name: message(locale, 'nav.history'), exact: true }).count()).toBe(1);
    };

    // A first visit is in Korean.
    await expectLanguage(page, 'ko');

    await page.getByTestId('locale-en').click();
    await expectLanguage(page, 'en');
    await shot(`language-en${path === '/' ? '-select-infra' : path.replace(/\//g, '-')}`);
    await page.reload();
    await expectLanguage(page, 'en');

    await page.getByTestId('locale-ko').click();
    await expectLanguage(page, 'ko');
    await page.reload();
    await expectLanguage(page, 'ko');
    await finish();
  });
});
