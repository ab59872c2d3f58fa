/**
 * Reflow (WCAG 1.4.10) in Chromium against the real server: every page of the console, signed
 * out and signed in as the admin (with a project in history and monitoring), at 320 CSS px wide
 * and at 640 (a 1280 px window at 200 % zoom). The page itself never scrolls sideways — a wide
 * table may scroll inside its own labelled, focusable container — and each page's main
 * controls are visible and inside the viewport. When the page does overflow, the failure names
 * the widest elements that stick out. Screenshots reflow-<width>-<page>.png.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { startFakePrometheus, type FakePrometheus } from '../helpers/fake-prometheus.js';
import { ADMIN, waitForFinalStatus } from '../helpers/server.js';
import { ko, openConsolePage, openSignIn, signInThroughModal, startConsole, type ConsoleHarness } from './console-harness.js';

/** 320: the WCAG reflow width; 640: 1280 CSS px at 200 % zoom. */
const WIDTHS = [320, 640] as const;

interface PageCase {
  name: string;
  path: string;
  /** Waited for before measuring. */
  ready: string;
  /** Test ids of the controls that must be visible and inside the viewport. */
  controls: string[];
}

const SIGNED_OUT: PageCase[] = [
  { name: 'select-infra', path: '/', ready: 'card-vsphere', controls: ['brand', 'locale-en', 'preferences-open', 'card-aws', 'card-vsphere'] },
  { name: 'configure', path: '/configure', ready: 'open-sign-in', controls: ['locale-en', 'preferences-open', 'open-sign-in', 'create-project', 'to-signup'] },
  { name: 'signup', path: '/signup', ready: 'signup-form', controls: ['signup-username', 'signup-full-name', 'signup-password', 'signup-submit'] },
  { name: 'not-found', path: '/no-such-page', ready: 'not-found', controls: ['page-title'] },
];

interface Measure {
  viewport: number;
  scrollWidth: number;
  scrolledX: number;
  offenders: { element: string; left: number; right: number; width: number }[];
  unlabelledScrollers: string[];
}

/**
 * Whether the page scrolls sideways, and if so which elements stick out: those whose right edge
 * passes the viewport and that no ancestor scrolls or clips (those are the container's business).
 */
async function measure(page: Page): Promise<Measure> {
  return page.evaluate(() => {
    const root = document.documentElement;
    const viewport = root.clientWidth;
    const name = (el: Element) => {
      const id = el.getAttribute('data-testid');
      const cls = [...el.classList].slice(0, 2).join('.');
      return `${el.tagName.toLowerCase()}${id ? `[data-testid="${id}"]` : ''}${cls ? `.${cls}` : ''}`;
    };
    const clips = (el: Element) => getComputedStyle(el).overflowX !== 'visible';
    const offenders: Measure['offenders'] = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= viewport + 0.5) continue;
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (clips(p)) {
          clipped = true;
          break;
        }
      }
      if (!clipped) offenders.push({ element: name(el), left: Math.round(r.left), right: Math.round(r.right), width: Math.round(r.width) });
    }
    // Nothing unclipped sticks out: then name the furthest elements, clipped or positioned as they are.
    if (!offenders.length && root.scrollWidth > viewport) {
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right > viewport + 0.5) offenders.push({ element: `${name(el)} (${getComputedStyle(el).position})`, left: Math.round(r.left), right: Math.round(r.right), width: Math.round(r.width) });
      }
      offenders.sort((a, b) => b.right - a.right);
    } else offenders.sort((a, b) => b.width - a.width);
    // A container that scrolls sideways must be reachable by keyboard: focusable and named itself
    // (a table's wrapper), or holding the controls that bring its parts into view (a tab list).
    const focusable = 'a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex="-1"])';
    const unlabelledScrollers = [...document.body.querySelectorAll('*')]
      .filter((el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1)
      .filter((el) => !(el.getAttribute('tabindex') === '0' && (el.hasAttribute('aria-label') || el.hasAttribute('aria-labelledby'))))
      .filter((el) => el.getAttribute('role') === 'region' || !el.querySelector(focusable))
      .map(name);
    window.scrollTo(10_000, window.scrollY);
    const scrolledX = window.scrollX;
    window.scrollTo(0, window.scrollY);
    return { viewport, scrollWidth: root.scrollWidth, scrolledX, offenders: offenders.slice(0, 6), unlabelledScrollers };
  });
}

/**
 * The page's structure as a screen reader lists it: one banner, one main (the skip link's
 * target), every nav named, exactly one visible h1, and headings that never skip a level going
 * down (dialogs aside: they start their own outline).
 */
async function structure(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const shown = (el: Element) => (el as HTMLElement).offsetWidth > 0 || (el as HTMLElement).offsetHeight > 0;
    const banners = [...document.querySelectorAll('header')].filter((h) => !h.parentElement?.closest('article, aside, main, nav, section'));
    if (banners.length !== 1) problems.push(`${banners.length} banners`);
    const mains = document.querySelectorAll('main, [role="main"]');
    if (mains.length !== 1 || mains[0].id !== 'main') problems.push(`${mains.length} main landmarks (or not #main)`);
    const skip = document.querySelector('a[href="#main"]');
    if (!skip || document.querySelector('a[href], button, input, select, textarea, [tabindex="0"]') !== skip) problems.push('the skip link is not the first control');
    for (const nav of document.querySelectorAll('nav')) if (!nav.getAttribute('aria-label') && !nav.getAttribute('aria-labelledby')) problems.push(`unnamed nav ${nav.className}`);
    const h1s = [...document.querySelectorAll('h1')].filter(shown);
    if (h1s.length !== 1) problems.push(`${h1s.length} visible h1: ${h1s.map((h) => h.textContent?.trim()).join(' | ')}`);
    let previous = 0;
    for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
      if (!shown(h) || h.closest('[role="dialog"], [role="alertdialog"]')) continue;
      const level = Number(h.tagName[1]);
      if (previous && level > previous + 1) problems.push(`h${previous} then h${level} "${h.textContent?.trim().slice(0, 40)}"`);
      previous = level;
    }
    return problems;
  });
}

/** The control is shown and lies within the viewport's width once scrolled to. */
async function placement(page: Page, testId: string): Promise<string> {
  const control = page.getByTestId(testId).first();
  if (!(await control.isVisible())) return `${testId}: not visible`;
  await control.scrollIntoViewIfNeeded();
  const box = await control.boundingBox();
  const width = page.viewportSize()!.width;
  if (!box) return `${testId}: no box`;
  if (box.x < -0.5 || box.x + box.width > width + 0.5) return `${testId}: at x ${Math.round(box.x)}..${Math.round(box.x + box.width)} of ${width}`;
  return `${testId}: ok`;
}

async function checkPage(page: Page, width: number, c: PageCase, shot: (name: string) => Promise<void>, variant = ''): Promise<string[]> {
  const problems: string[] = [];
  try {
    await page.getByTestId(c.ready).first().waitFor();
    await page.getByTestId('page-title').waitFor();
  } catch {
    problems.push(`${c.path} at ${width}: ${c.ready} never appeared`);
  }
  const m = await measure(page);
  if (m.scrollWidth > m.viewport || m.scrolledX > 0) {
    problems.push(`${c.path} at ${width}: page scrolls sideways (scrollWidth ${m.scrollWidth} > ${m.viewport}); widest sticking out: ${m.offenders.map((o) => `${o.element} ${o.left}..${o.right}`).join(', ')}`);
  }
  for (const p of await structure(page)) problems.push(`${c.path}: ${p}`);
  if (m.unlabelledScrollers.length) problems.push(`${c.path} at ${width}: scrolling containers without tabindex=0 and a label: ${m.unlabelledScrollers.join(', ')}`);
  for (const id of c.controls) {
    const where = await placement(page, id);
    if (!where.endsWith(': ok')) problems.push(`${c.path} at ${width}: ${where}`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(`reflow-${width}${variant}-${c.name}`);
  console.log(`reflow ${width}px${variant} ${c.path}: scrollWidth ${m.scrollWidth} / ${m.viewport}${problems.length ? `\n  ${problems.join('\n  ')}` : ' — ok'}`);
  return problems;
}

describe.skipIf(!browserAvailable('console reflow'))('reflow at 320 and 640 CSS px, in Chromium', () => {
  let prometheus: FakePrometheus;
  let harness: ConsoleHarness;
  let projectId = 0;
  let signedIn: PageCase[] = [];

  beforeAll(async () => {
    prometheus = await startFakePrometheus();
    harness = await startConsole({ env: { PROMETHEUS_URL: prometheus.url } });
    const token = harness.server.adminToken;
    const created = await harness.server.request('POST', '/api/provision', {
      token,
      body: { serviceName: 'reflow-shop-with-a-long-name', config: { template: 'standard' }, targetInfra: 'vsphere' },
    });
    expect(created.status).toBe(200);
    projectId = created.body.project_id;
    const done = await waitForFinalStatus(harness.server, projectId, token);
    expect(done.status).toBe('COMPLETED');
    const ips: string[] = done.details.resources.ssh_targets.map((t: { host: string }) => t.host);
    ips.forEach((ip, i) => prometheus.hosts.set(ip, { cpu: 20 + i * 10, memory: 40 + i, disk: 12 }));
    signedIn = [
      { name: 'main-ui', path: '/main_ui', ready: 'topology', controls: ['logout', 'provision-stack', 'header-cost', 'region'] },
      { name: 'private-console', path: '/private-console', ready: 'service-name', controls: ['logout', 'service-name', 'environment', 'provision-submit'] },
      { name: 'history', path: '/history', ready: `history-row-${projectId}`, controls: ['logout', 'export-csv', 'refresh', 'filter-status', `expand-${projectId}`, `delete-${projectId}`] },
      { name: 'monitoring', path: '/monitoring', ready: 'health-table', controls: ['logout', 'expert-mode', 'card-hosts', 'card-disk', 'tab-overview', 'tab-alarms'] },
      { name: 'admin-users', path: '/admin_users', ready: 'users-table', controls: ['logout', 'open-settings', 'open-create-user', 'users-filter-status'] },
      { name: 'admin-pool', path: '/admin_pool', ready: 'pool-table', controls: ['logout', 'open-add-hosts', 'pool-search', 'pool-apply', 'check-selected'] },
    ];
    // The first suite to start after a change builds the console (under a lock, on a shared machine).
  }, 300_000);
  afterAll(async () => {
    await harness?.close();
    await prometheus?.close();
  });

  it('turns animations and transitions off under prefers-reduced-motion: reduce', async () => {
    const { page, finish } = await openConsolePage(harness);
    await page.goto(`${harness.server.url}/configure`);
    await page.getByTestId('open-sign-in').waitFor();
    // A spinner as the console draws one while it waits (the class every spinner uses).
    const motion = () =>
      page.evaluate(() => {
        if (!document.getElementById('probe-spin')) document.body.insertAdjacentHTML('beforeend', '<span id="probe-spin" class="spin">.</span>');
        const seconds = (v: string) => Math.max(...v.split(',').map((s) => parseFloat(s) * (s.trim().endsWith('ms') ? 0.001 : 1)));
        const spin = getComputedStyle(document.getElementById('probe-spin')!);
        const button = getComputedStyle(document.querySelector('[data-testid="open-sign-in"]')!);
        return { animation: spin.animationName, animationSeconds: seconds(spin.animationDuration), iterations: spin.animationIterationCount, transitionSeconds: seconds(button.transitionDuration) };
      });
    const normal = await motion();
    expect(normal).toMatchObject({ animation: 'hc-spin', animationSeconds: 0.9, iterations: 'infinite' });
    expect(normal.transitionSeconds).toBeGreaterThan(0.1);

    await page.emulateMedia({ reducedMotion: 'reduce' });
    const reduced = await motion();
    console.log(`motion: normal ${JSON.stringify(normal)}, reduced ${JSON.stringify(reduced)}`);
    expect(reduced.animationSeconds).toBeLessThan(0.001);
    expect(reduced.iterations).toBe('1');
    expect(reduced.transitionSeconds).toBeLessThan(0.001);
    await finish();
  });

  for (const width of WIDTHS) {
    it(`lays out every signed-out page in ${width} CSS px without sideways scrolling`, async () => {
      const { page, shot, finish } = await openConsolePage(harness);
      await page.setViewportSize({ width, height: width === 320 ? 640 : 400 });
      const problems: string[] = [];
      for (const c of SIGNED_OUT) {
        await page.goto(`${harness.server.url}${c.path}`);
        problems.push(...(await checkPage(page, width, c, shot)));
      }
      // The sign-in dialog fits too.
      await page.goto(`${harness.server.url}/configure`);
      await openSignIn(page);
      const dialog = await measure(page);
      if (dialog.scrollWidth > dialog.viewport) problems.push(`sign-in dialog at ${width}: ${dialog.offenders.map((o) => `${o.element} ${o.left}..${o.right}`).join(', ')}`);
      for (const id of ['sign-in-modal']) {
        const where = await placement(page, id);
        if (!where.endsWith(': ok')) problems.push(`sign-in dialog at ${width}: ${where}`);
      }
      await shot(`reflow-${width}-sign-in`);
      expect(problems).toEqual([]);
      await finish();
    });

    it(`lays out every page of the signed-in admin in ${width} CSS px without sideways scrolling`, async () => {
      const { page, shot, finish } = await openConsolePage(harness);
      await page.setViewportSize({ width, height: width === 320 ? 640 : 400 });
      await page.goto(`${harness.server.url}/configure`);
      await openSignIn(page);
      await signInThroughModal(page, ADMIN.username, ADMIN.password);
      await page.waitForURL('**/main_ui');
      await page.getByTestId('provision-stack').waitFor();
      const problems: string[] = [];
      for (const c of signedIn) {
        await page.goto(`${harness.server.url}${c.path}`);
        problems.push(...(await checkPage(page, width, c, shot)));
      }
      expect(problems).toEqual([]);
      await finish();
    });
  }

  it('lays out every page of the signed-in admin in English, in the dark theme, in 320 CSS px', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.setViewportSize({ width: 320, height: 640 });
    await page.goto(`${harness.server.url}/configure`);
    // English words are longer than Korean ones: the same pages must still fit.
    await page.getByTestId('locale-en').click();
    await openSignIn(page);
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');
    await page.getByTestId('preferences-open').click();
    await page.getByTestId('theme-dark').click();
    await page.keyboard.press('Escape');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    const problems: string[] = [];
    for (const c of signedIn) {
      await page.goto(`${harness.server.url}${c.path}`);
      problems.push(...(await checkPage(page, 320, c, shot, '-en-dark')));
    }
    expect(problems).toEqual([]);
    await finish();
  });

  it('fits the admin dialogs, the preferences and the run overlay in 320 CSS px', async () => {
    const { page, shot, finish } = await openConsolePage(harness);
    await page.setViewportSize({ width: 320, height: 640 });
    await page.goto(`${harness.server.url}/configure`);
    await openSignIn(page);
    await signInThroughModal(page, ADMIN.username, ADMIN.password);
    await page.waitForURL('**/main_ui');
    const problems: string[] = [];
    /** Opens a dialog with `opener` and checks the page and the dialog's controls, then closes it. */
    async function dialog(name: string, opener: string, dialogId: string, controls: string[], close = true) {
      await page.getByTestId(opener).click();
      await page.getByTestId(dialogId).waitFor();
      const m = await measure(page);
      if (m.scrollWidth > m.viewport) problems.push(`${name}: page scrolls sideways: ${m.offenders.map((o) => `${o.element} ${o.left}..${o.right}`).join(', ')}`);
      for (const id of controls) {
        const where = await placement(page, id);
        if (!where.endsWith(': ok')) problems.push(`${name}: ${where}`);
      }
      await shot(`reflow-320-${name}`);
      if (close) {
        await page.keyboard.press('Escape');
        await page.getByTestId(dialogId).waitFor({ state: 'detached' });
      }
    }
    await dialog('preferences', 'preferences-open', 'preferences', ['preferences']);
    await page.goto(`${harness.server.url}/admin_users`);
    await page.getByTestId('users-table').waitFor();
    await dialog('create-user-dialog', 'open-create-user', 'create-user-dialog', ['create-username', 'create-password', 'create-role', 'create-submit']);
    await page.goto(`${harness.server.url}/admin_pool`);
    await page.getByTestId('pool-table').waitFor();
    await dialog('add-hosts-dialog', 'open-add-hosts', 'add-hosts-dialog', ['add-vm-name', 'add-ip-address', 'add-infra']);

    // A run from the vSphere console: the overlay follows it to the end within the width.
    await page.goto(`${harness.server.url}/private-console`);
    await page.getByTestId('service-name').fill('reflow-run');
    await dialog('run-overlay', 'provision-submit', 'run-overlay', ['run-close'], false);
    await page.getByTestId('view-dashboard').waitFor();
    // What a screen reader was told: the outcome, assertively; the progress region politely.
    expect(await page.getByTestId('run-outcome-announcement').getAttribute('aria-live')).toBe('assertive');
    expect(await page.getByTestId('run-outcome-announcement').textContent()).toBe(`${ko.run.success}. ${ko.run.successHint}`);
    expect(await page.getByTestId('run-progress-announcement').getAttribute('aria-live')).toBe('polite');
    const done = await measure(page);
    if (done.scrollWidth > done.viewport) problems.push(`run overlay, finished: ${done.offenders.map((o) => `${o.element} ${o.left}..${o.right}`).join(', ')}`);
    const where = await placement(page, 'view-dashboard');
    if (!where.endsWith(': ok')) problems.push(`run overlay: ${where}`);
    await shot('reflow-320-run-overlay');
    expect(problems).toEqual([]);
    await finish();
  });
});
