/**
 * The console's shell in Chromium against the real server: every route served on reload, the
 * look (header, steps, bundled Korean font), Korean / English, the portal notices, and the
 * JavaScript budget of the first load of `/`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, SCREENSHOTS } from '../helpers/browser.js';
import { ADMIN } from '../helpers/server.js';
import en from '../../client/src/i18n/en.js';
import { ko, openConsolePage, pathOf, signInFor, startConsole, type ConsoleHarness } from './console-harness.js';

/** SPEC budget: the first load of `/` fetches at most this much gzipped JavaScript. */
const JS_BUDGET_GZIP_BYTES = 150 * 1024;

describe.skipIf(!browserAvailable('console shell'))('console shell, in Chromium', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await startConsole();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('shows / with the header, step 1 highlighted, both infrastructure cards, and Korean in the bundled Noto Sans KR', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    expect(await page.getByTestId('brand').textContent()).toContain('H-CMP');
    expect(await page.getByTestId('brand').textContent()).toContain('Hybrid Cloud Management Platform');
    expect(await page.locator('[data-testid="step-indicator"] [aria-current="step"]').textContent()).toContain('Select Infra');

    const aws = page.getByTestId('card-aws');
    expect(await aws.textContent()).toContain('Public Cloud (AWS)');
    expect(await aws.textContent()).toContain(ko.selectInfra.aws.description);
    expect(await aws.textContent()).toContain('콘솔 접속하기');
    expect(await aws.getAttribute('href')).toBe('/configure');
    const vsphere = page.getByTestId('card-vsphere');
    expect(await vsphere.textContent()).toContain('Private Cloud (vSphere)');
    expect(await vsphere.textContent()).toContain(ko.selectInfra.vsphere.description);
    expect(await vsphere.getAttribute('href')).toBe('/private-console');
    // Not signed in: no icon bar.
    expect(await page.getByTestId('side-icon-bar').count()).toBe(0);

    const look = await page.evaluate(() => ({
      header: getComputedStyle(document.querySelector('header')!).backgroundColor,
      canvas: getComputedStyle(document.documentElement).backgroundColor,
      activeStep: getComputedStyle(document.querySelector('[aria-current="step"]')!).backgroundColor,
    }));
    // The current step is filled with the brand orange's darker shade (#b84e00), which white text reads on (5.1:1).
    expect(look).toEqual({ header: 'rgb(35, 47, 62)', canvas: 'rgb(242, 243, 243)', activeStep: 'rgb(184, 78, 0)' });

    // Korean glyphs come from our own font file, not from whatever the machine has (or tofu).
    const font = await page.evaluate(async () => {
      await document.fonts.ready;
      const faces = [...document.fonts].filter((f) => f.family.replace(/"/g, '') === 'Noto Sans KR' && f.status === 'loaded');
      return { loaded: faces.length, hangul: document.fonts.check('700 30px "Noto Sans KR"', '인프라') };
    });
    expect(font.loaded).toBeGreaterThan(0);
    expect(font.hangul).toBe(true);
    await shot('select-infra');
    await finish();
  });

  it('keeps the JavaScript of the first load of / within 150 KB gzipped', async () => {
    const { page, finish } = await openConsolePage(harness);
    const scripts = new Map<string, Promise<Buffer>>();
    page.on('response', (response) => {
      if (response.request().resourceType() === 'script') scripts.set(response.url(), response.body());
    });
    await page.goto(`${harness.server.url}/`, { waitUntil: 'networkidle' });
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);

    const sizes = await Promise.all(
      [...scripts].map(async ([url, body]) => {
        const raw = await body;
        return { file: new URL(url).pathname, raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
      }),
    );
    const total = sizes.reduce((sum, s) => ({ raw: sum.raw + s.raw, gzip: sum.gzip + s.gzip }), { raw: 0, gzip: 0 });
    const report = { budgetGzipBytes: JS_BUDGET_GZIP_BYTES, total, files: sizes };
    writeFileSync(join(SCREENSHOTS, '..', 'js-budget.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`JS of the first load of /: ${sizes.length} files, ${(total.gzip / 1024).toFixed(1)} KB gzipped (${(total.raw / 1024).toFixed(1)} KB raw)`);

    expect(sizes.length).toBeGreaterThan(0);
    // Pages other than / are loaded on demand, not with it.
    expect(sizes.map((s) => s.file).join(' ')).not.toMatch(/ConfigureView|SignupView|SignInModal|MainUiView|\/en-/);
    expect(total.gzip).toBeLessThanOrEqual(JS_BUDGET_GZIP_BYTES);
    await finish();
  });

  it('switches between Korean and English on / and /configure, and remembers the choice after a reload', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(ko.selectInfra.title);
    expect(await page.getAttribute('html', 'lang')).toBe('ko');

    await page.getByTestId('locale-en').click();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(en.selectInfra.title);
    expect(await page.getByTestId('card-aws').textContent()).toContain(en.selectInfra.cta);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.getByTestId('locale-en').getAttribute('aria-pressed')).toBe('true');
    await shot('select-infra-en');

    await page.reload();
    await expect.poll(() => page.getByTestId('page-title').textContent()).toBe(en.selectInfra.title);

    await page.getByTestId('card-aws').click();
    await page.waitForURL('**/configure');
    await expect.poll(() => page.getByTestId('open-sign-in').textContent()).toContain(en.configure.signIn);
    expect(await page.getByTestId('create-project').textContent()).toContain(en.configure.createProject);
    expect(await page.title()).toBe(`${en.pages.configure} | H-CMP`);
    await shot('configure-en');

    await page.getByTestId('locale-ko').click();
    await expect.poll(() => page.getByTestId('open-sign-in').textContent()).toContain(ko.configure.signIn);
    expect(await page.getByTestId('create-project').textContent()).toContain(ko.configure.createProject);
    await page.reload();
    await expect.poll(() => page.getByTestId('create-project').textContent()).toContain(ko.configure.createProject);
    await finish();
  });

  it.each([
    ['/configure', ko.configure.heroLead],
    ['/signup', ko.signup.title],
    ['/no/such/page?x=1', ko.notFound.title],
  ])('serves %s on a direct load (SPA fallback) inside the shell', async (path, title) => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}${path}`);
    await expect.poll(() => page.getByTestId('page-title').textContent()).toContain(title);
    expect(await page.getByTestId('brand').isVisible()).toBe(true);
    await shot(`route${path.split('?')[0]}`);
    await finish();
  });

  it.each(['/main_ui', '/private-console', '/history', '/monitoring', '/admin_users'])('guards %s: without a session it goes to /configure?redirect=', async (path) => {
    const { page, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}${path}`);
    await page.waitForURL(signInFor(path));
    expect(pathOf(page).startsWith('/configure?')).toBe(true);
    await finish();
  });

  it('shows the system notice and the maintenance banner from the public settings', async () => {
    const notice = '오늘 22:00-23:00 정기 점검이 있습니다.';
    const set = (input: Record<string, unknown>) =>
      harness.server.gql(
        `mutation($input: AdminSettingsInput!, $pw: String!) { updateAdminSettings(input: $input, adminPassword: $pw) { systemNotice maintenanceMode } }`,
        { input, pw: ADMIN.password },
        harness.server.adminToken,
      );
    expect((await set({ systemNotice: notice, maintenanceMode: true })).errors).toBeUndefined();
    try {
      const { page, shot, finish } = await openConsolePage(harness);
      await page.goto(`${harness.server.url}/`);
      await page.getByTestId('notice-system').waitFor();
      expect(await page.getByTestId('notice-system').textContent()).toContain(notice);
      expect(await page.getByTestId('notice-maintenance').textContent()).toContain(ko.notices.maintenance);
      expect(await page.getByTestId('notice-fallback').count()).toBe(0);
      await shot('select-infra-notices');
      await finish();
    } finally {
      await set({ systemNotice: '', maintenanceMode: false });
    }
  });

  it('answers unknown API paths with the JSON 404, not the console page', async () => {
    const res = await harness.server.request('GET', '/api/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not Found' });
  });
});

describe.skipIf(!browserAvailable('console shell, database fallback'))('console on a server that fell back to SQLite, in Chromium', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await startConsole({ env: { DATABASE_URL: 'postgres://nobody:pw@127.0.0.1:1/none', DB_FALLBACK: 'true', DB_CONNECT_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('says on / that the database fell back to SQLite', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/`);
    await page.getByTestId('notice-fallback').waitFor();
    expect(await page.getByTestId('notice-fallback').textContent()).toContain(ko.notices.fallback);
    await shot('select-infra-database-fallback');
    await finish();
  });
});
