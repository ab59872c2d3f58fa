/**
 * The GraphQL playground (/playground: GraphiQL 5 and Monaco, bundled and served by our own
 * server) and the console's preferences (theme, language), in Chromium against the real server.
 * Every test ends with the harness rules: no console error, no request to another origin.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import en from '../../client/src/i18n/en.js';
import { ko, openConsolePage, openSignIn, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

const LIGHT_CANVAS = 'rgb(242, 243, 243)';
const DARK_CANVAS = 'rgb(15, 20, 26)';
const NAVY = 'rgb(35, 47, 62)';

const QUERY_EDITOR = '.graphiql-query-editor .monaco-editor';
const RESULT = '.result-window';

/** Signs in as the admin through /configure and the sign-in modal. */
async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/configure`);
  await openSignIn(page);
  await signInThroughModal(page, ADMIN.username, ADMIN.password);
  await page.waitForURL('**/main_ui');
}

/** Replaces the operation in GraphiQL's (Monaco) editor by typing it. */
async function typeOperation(page: Page, text: string): Promise<void> {
  await page.locator(QUERY_EDITOR).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
  // Monaco may auto-close the first bracket typed into an editor that just opened: drop
  // whatever ends up after the cursor.
  await page.keyboard.press('Shift+ControlOrMeta+End');
  await page.keyboard.press('Delete');
  await expect.poll(async () => (await page.locator(`${QUERY_EDITOR} .view-lines`).innerText()).replace(/\s+/g, ' ').trim()).toBe(text);
}

const resultText = async (page: Page) => (await page.locator(RESULT).innerText()).replace(/\s+/g, ' ');

describe.skipIf(!browserAvailable('console playground'))('GraphQL playground and preferences, in Chromium', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    // Slow enough steps that a subscription started after the order sees its events arrive live.
    harness = await startConsole({ env: { MOCK_STEP_DELAY_MS: '400' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('opens /playground from the icon bar and runs { me { username } } typed into the editor, with the console session', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const graphqlPosts: { authorization?: string; body: string }[] = [];
    const assets: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/graphql' && request.method() === 'POST') graphqlPosts.push({ authorization: request.headers().authorization, body: request.postData() ?? '' });
      if (url.pathname.startsWith('/assets/')) assets.push(url.pathname);
    });
    await signIn(page, harness.server.url);

    const link = page.getByTestId('nav-playground');
    expect(await link.getAttribute('href')).toBe('/playground');
    expect(await link.getAttribute('aria-label')).toBe(ko.playground.open);
    await link.click();
    await page.waitForURL('**/playground');
    await page.locator(QUERY_EDITOR).waitFor();
    expect(await page.title()).toBe(`${ko.playground.title} | H-CMP`);
    expect(await page.getByTestId('playground-session').textContent()).toBe(ko.playground.signedInAs.replace('{name}', 'admin'));
    expect(await page.getByTestId('playground-sign-in').isVisible()).toBe(false);
    // The Korean lines of the starting operation are drawn with the bundled Noto Sans KR.
    expect((await page.locator(`${QUERY_EDITOR} .view-lines`).innerText()).replace(/\s+/g, ' ')).toContain(ko.playground.intro);
    await expect
      .poll(() =>
        page.evaluate(async () => {
          await document.fonts.ready;
          return [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Noto Sans KR' && f.status === 'loaded' && f.unicodeRange.includes('AC00'));
        }),
      )
      .toBe(true);
    // The schema is introspected with the token, so the docs and completion know it.
    await expect.poll(() => graphqlPosts.some((p) => p.body.includes('IntrospectionQuery'))).toBe(true);

    await typeOperation(page, '{ me { username } }');
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => resultText(page)).toContain('"username": "admin"');
    const run = graphqlPosts.find((p) => p.body.includes('me { username }'));
    expect(run?.authorization).toMatch(/^Bearer ey/);

    // Monaco's workers are files of our own origin (no blob:, no CDN); nothing of it came
    // with the console's pages before.
    await expect.poll(() => assets.filter((a) => /\/(editor|graphql|json)\.worker-[\w-]+\.js$/.test(a)).length).toBeGreaterThanOrEqual(2);
    await shot('playground-me');
    await finish();
  });

  it('streams a provisionStatus subscription over graphql-ws with the session token', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const sent: string[] = [];
    const received: string[] = [];
    page.on('websocket', (socket) => {
      socket.on('framesent', (frame) => sent.push(String(frame.payload)));
      socket.on('framereceived', (frame) => received.push(String(frame.payload)));
    });
    await signIn(page, harness.server.url);
    await page.goto(`${harness.server.url}/playground`);
    await page.locator(QUERY_EDITOR).waitFor();

    const order = await harness.server.gql(
      `mutation($input: ProvisionInput!) { provision(input: $input) { id status } }`,
      { input: { serviceName: 'playground-live', config: { template: 'standard' }, targetInfra: { type: 'vsphere' } } },
      harness.server.adminToken,
    );
    expect(order.errors).toBeUndefined();
    const id: number = order.data.provision.id;

    await typeOperation(page, `subscription { provisionStatus(projectId: ${id}) { seq status } }`);
    await page.locator('.graphiql-execute-button').click();

    // GraphiQL shows each event as it arrives: collect what the result pane shows meanwhile.
    const shown = new Set<string>();
    await expect
      .poll(
        async () => {
          const text = await resultText(page);
          const status = /"status": "(\w+)"/.exec(text)?.[1];
          if (status) shown.add(status);
          return status;
        },
        { timeout: 30_000, interval: 50 },
      )
      .toBe('COMPLETED');
    expect(shown.has('RUNNING')).toBe(true);

    const init = sent.map((f) => JSON.parse(f)).find((m) => m.type === 'connection_init');
    expect(init?.payload?.authorization).toMatch(/^Bearer ey/);
    const events = received.map((f) => JSON.parse(f)).filter((m) => m.type === 'next').map((m) => m.payload.data.provisionStatus);
    expect(events.length).toBeGreaterThanOrEqual(5);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1).status).toBe('COMPLETED');
    expect(received.map((f) => JSON.parse(f).type)).toContain('complete');
    await shot('playground-subscription');
    await finish();
  });

  it('opens with ?query= and without a session says so, and still answers public queries', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const query = '{ publicSettings { siteName maintenanceMode } }';
    await page.goto(`${harness.server.url}/playground?query=${encodeURIComponent(query)}`);
    await page.locator(QUERY_EDITOR).waitFor();
    expect(await page.getByTestId('playground-session').textContent()).toBe(ko.playground.signedOut);
    expect(await page.getByTestId('playground-sign-in').isVisible()).toBe(true);
    await expect.poll(async () => (await page.locator(`${QUERY_EDITOR} .view-lines`).innerText()).replace(/\s+/g, ' ').trim()).toBe(query);
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => resultText(page)).toContain('"maintenanceMode": false');
    await shot('playground-signed-out');
    await finish();
  });

  it('keeps the playground out of the first load of /', async () => {
    const { page, finish } = await openConsolePage(harness);
    const scripts: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
    });
    await page.goto(`${harness.server.url}/`, { waitUntil: 'networkidle' });
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((s) => /playground|monaco|worker|graphiql|react/i.test(s))).toEqual([]);
    await finish();
  });

  it('switches to the dark theme in the preferences, keeps it after a reload, and the playground follows', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    const look = () =>
      page.evaluate(() => ({
        theme: document.documentElement.dataset.theme,
        canvas: getComputedStyle(document.documentElement).backgroundColor,
        header: getComputedStyle(document.querySelector('header')!).backgroundColor,
      }));
    await page.goto(`${harness.server.url}/`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    expect(await look()).toEqual({ theme: 'light', canvas: LIGHT_CANVAS, header: NAVY });

    await page.getByTestId('preferences-open').click();
    await page.getByTestId('preferences').waitFor();
    expect(await page.getByTestId('theme-light').getAttribute('aria-pressed')).toBe('true');
    await shot('preferences-open');
    await page.getByTestId('theme-dark').click();
    expect(await look()).toEqual({ theme: 'dark', canvas: DARK_CANVAS, header: NAVY });
    expect(await page.getByTestId('theme-dark').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Escape');
    expect(await page.getByTestId('preferences').count()).toBe(0);
    await shot('select-infra-dark');

    await page.reload();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    expect(await look()).toEqual({ theme: 'dark', canvas: DARK_CANVAS, header: NAVY });
    const card = await page.getByTestId('card-aws').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(card).not.toBe('rgb(255, 255, 255)');

    // The playground uses the same preference (GraphiQL's dark theme).
    await page.goto(`${harness.server.url}/playground`);
    await page.locator(QUERY_EDITOR).waitFor();
    expect(await page.evaluate(() => document.body.classList.contains('graphiql-dark'))).toBe(true);
    await shot('playground-dark');

    await page.goto(`${harness.server.url}/`);
    await page.getByTestId('preferences-open').click();
    await page.getByTestId('theme-light').click();
    expect(await look()).toEqual({ theme: 'light', canvas: LIGHT_CANVAS, header: NAVY });
    await finish();
  });

  it('switches the language in the preferences, remembers it, and the playground follows', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);

    await page.getByTestId('preferences-open').click();
    await page.getByTestId('preferences-locale-en').click();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(en.selectInfra.title);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.getByTestId('preferences').getAttribute('aria-label')).toBe(en.preferences.title);
    // The header's own switch shows the same choice.
    expect(await page.getByTestId('locale-en').getAttribute('aria-pressed')).toBe('true');
    await shot('preferences-en');

    await page.reload();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(en.selectInfra.title);

    await page.goto(`${harness.server.url}/playground`);
    await page.locator(QUERY_EDITOR).waitFor();
    expect(await page.getByTestId('playground-session').textContent()).toBe(en.playground.signedOut);
    expect(await page.getByTestId('playground-back').textContent()).toBe(en.playground.backToConsole);

    await page.goto(`${harness.server.url}/`);
    await page.getByTestId('preferences-open').click();
    await page.getByTestId('preferences-locale-ko').click();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    await finish();
  });
});
