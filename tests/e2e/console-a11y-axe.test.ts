/**
 * axe-core's WCAG 2.1 A/AA rules (tags wcag2a, wcag2aa, wcag21a, wcag21aa) on every page of the
 * console and with each dialog open, in Chromium against the real server (issue 19): signed out
 * on /, /configure (and its sign-in modal, also showing an error), /signup and the not-found
 * page; signed in as the admin on /main_ui (each preview tab, the preferences menu, the run
 * overlay while running, asking to cancel, after success and after a failure), /private-console,
 * /history (a row expanded, the delete and retry dialogs), /monitoring (a completed project's
 * hosts, charted from a fake Prometheus), /admin_users (create user, quota, password reset,
 * settings, disable) and /admin_pool (add hosts, remove) — in Korean and English, light and
 * dark. Every state must have 0 violations; the output lists each state with the elements axe
 * looked at, and a failure names the rule, the element and (for contrast) the colours and ratio.
 *
 * One server and one browser; one page per language × theme, signed in once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from '../helpers/browser.js';
import { startFakePrometheus, type FakePrometheus } from '../helpers/fake-prometheus.js';
import { ADMIN, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { openConsolePage, openSignIn, startConsole, type ConsoleHarness } from './console-harness.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const RUN_KEY = 'hcmp.run';
const USER = { username: 'axel', password: 'axel-password-1' };

type Locale = 'ko' | 'en';
type Theme = 'light' | 'dark';
const COMBOS: { locale: Locale; theme: Theme }[] = [
  { locale: 'ko', theme: 'light' },
  { locale: 'ko', theme: 'dark' },
  { locale: 'en', theme: 'light' },
  { locale: 'en', theme: 'dark' },
];

interface Finding {
  rule: string;
  impact: string | null;
  target: string;
  /** For color-contrast: "fg on bg = ratio (needs n)". */
  detail: string;
}

interface AxeOutcome {
  /** Distinct elements the rules were applied to (passed, failed or left for review). */
  elements: number;
  rules: number;
  violations: Finding[];
  /** Contrast checks axe could not decide (text over an image, a gradient, a translucent layer). */
  undecided: number;
  /** Those checks' elements and axe's reason (printed with AXE_SHOW_UNDECIDED=1). */
  undecidedTargets: string[];
}

interface Row {
  combo: string;
  state: string;
  outcome: AxeOutcome;
}

/** Runs axe in the page (its source evaluated through the protocol, so the page's CSP stays as served). */
async function runAxe(page: Page): Promise<AxeOutcome> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    type Node = { target: unknown[]; any: { id: string; data: Record<string, unknown> | null; message?: string }[] };
    type Result = { id: string; impact?: string | null; nodes: Node[] };
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<Record<'passes' | 'violations' | 'incomplete', Result[]>> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    const seen = new Set<string>();
    for (const group of [r.passes, r.violations, r.incomplete]) for (const rule of group) for (const n of rule.nodes) seen.add(JSON.stringify(n.target));
    const detail = (n: Node): string => {
      const d = n.any.find((c) => c.id === 'color-contrast')?.data as { fgColor?: string; bgColor?: string; contrastRatio?: number; expectedContrastRatio?: string } | undefined;
      return d?.contrastRatio ? `${d.fgColor} on ${d.bgColor} = ${d.contrastRatio} (needs ${d.expectedContrastRatio})` : '';
    };
    return {
      elements: seen.size,
      rules: r.passes.length + r.violations.length,
      violations: r.violations.flatMap((v) => v.nodes.map((n) => ({ rule: v.id, impact: v.impact ?? null, target: n.target.map(String).join(' '), detail: detail(n) }))),
      undecided: r.incomplete.filter((i) => i.id === 'color-contrast').reduce((sum, i) => sum + i.nodes.length, 0),
      undecidedTargets: r.incomplete
        .filter((i) => i.id === 'color-contrast')
        .flatMap((i) => i.nodes.map((n) => `${n.target.map(String).join(' ')}: ${n.any.find((c) => c.id === 'color-contrast')?.message ?? ''}`)),
    };
  }, WCAG_21_AA);
}

async function provisionAndWait(server: TestServer, serviceName: string, config: Record<string, unknown>) {
  const created = await server.request('POST', '/api/provision', { token: server.adminToken, body: { serviceName, config, targetInfra: 'vsphere' } });
  expect(created.status).toBe(200);
  return waitForFinalStatus(server, created.body.project_id, server.adminToken);
}

describe.skipIf(!browserAvailable('console accessibility (axe)'))('axe-core WCAG 2.1 A/AA on every page and dialog, in Chromium', () => {
  let prometheus: FakePrometheus;
  let harness: ConsoleHarness;
  let completed: { id: number; ips: string[] };
  let failedId: number;
  const rows: Row[] = [];

  beforeAll(async () => {
    prometheus = await startFakePrometheus();
    prometheus.ranges = true;
    // Slow enough to look at a run while it goes on (5 steps of 0.8 s).
    harness = await startConsole({ env: { PROMETHEUS_URL: prometheus.url, MOCK_STEP_DELAY_MS: '800' } });
    await harness.server.createUser(USER.username, USER.password);
    const signup = await harness.server.gql('mutation($input: SignupInput!) { signup(input: $input) { status } }', { input: { username: 'penny', password: 'penny-password-1' } });
    expect(signup.data).toEqual({ signup: { status: 'pending' } });
    const [done, failed] = await Promise.all([
      provisionAndWait(harness.server, 'axe-shop', { template: 'standard' }),
      provisionAndWait(harness.server, 'axe-broken', { template: 'single', mockFailAt: 'db' }),
    ]);
    expect([done.status, failed.status]).toEqual(['COMPLETED', 'FAILED']);
    completed = { id: done.id, ips: done.details.resources.ssh_targets.map((t: { host: string }) => t.host) };
    failedId = failed.id;
    completed.ips.forEach((ip, i) => prometheus.hosts.set(ip, { cpu: 20 + 15 * i, memory: 40 + 10 * i, disk: 30 + 5 * i }));
    // (Generous: the first suite to run after a change of the console builds it, here.)
  }, 240_000);

  afterAll(async () => {
    // The table CI shows: every state looked at, per language and theme.
    const width = Math.max(...rows.map((r) => r.state.length), 5);
    const lines = rows.map(
      (r) => `${r.combo.padEnd(9)} ${r.state.padEnd(width)} ${String(r.outcome.elements).padStart(8)} ${String(r.outcome.rules).padStart(5)} ${String(r.outcome.undecided).padStart(9)} ${String(r.outcome.violations.length).padStart(10)}`,
    );
    const found = rows.flatMap((r) => r.outcome.violations.map((v) => `${r.combo} ${r.state}: ${v.rule} at ${v.target}${v.detail ? ` — ${v.detail}` : ''}`));
    if (found.length) console.log(['axe violations:', ...found].join('\n'));
    if (process.env.AXE_SHOW_UNDECIDED) console.log(['contrast axe could not decide:', ...rows.flatMap((r) => r.outcome.undecidedTargets.map((t) => `${r.combo} ${r.state}: ${t}`))].join('\n'));
    if (rows.length)
      console.log(['axe-core WCAG 2.1 A/AA', `${'combo'.padEnd(9)} ${'state'.padEnd(width)} elements rules undecided violations`, ...lines].join('\n'));
    await harness?.close();
    await prometheus?.close();
  });

  it.each(COMBOS)('finds no violation on any page or dialog in $locale, $theme theme', async ({ locale, theme }) => {
    const combo = `${locale}/${theme}`;
    const { page, context, shot, finish } = await openConsolePage(harness);
    page.setDefaultTimeout(15_000);
    await context.addInitScript(
      ([l, t]) => {
        localStorage.setItem('hcmp.locale', l);
        localStorage.setItem('hcmp.theme', t);
      },
      [locale, theme],
    );
    const failures: string[] = [];
    const check = async (state: string) => {
      // The page shows what this pass claims to check.
      expect(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dataset.theme])).toEqual([locale, theme]);
      const outcome = await runAxe(page);
      rows.push({ combo, state, outcome });
      for (const v of outcome.violations) failures.push(`${combo} ${state}: ${v.rule} (${v.impact}) at ${v.target}${v.detail ? ` — ${v.detail}` : ''}`);
    };
    const goto = async (path: string, ready: string) => {
      await page.goto(`${harness.server.url}${path}`);
      await page.getByTestId(ready).first().waitFor();
    };
    const escape = async (testId: string) => {
      await page.keyboard.press('Escape');
      await page.getByTestId(testId).waitFor({ state: 'detached' });
    };
    /** Closes a dialog by Escape (a dialog that keeps the focus after a refusal still hears it). */
    const closeDialog = escape;

    const visitEverything = async () => {
      // Signed out.
      await goto('/', 'card-aws');
      await check('/');
      await goto('/configure', 'open-sign-in');
      await check('/configure');
      await openSignIn(page);
      await check('/configure sign-in modal');
      await shot(`axe-${locale}-${theme}-sign-in`);
      await page.getByTestId('sign-in-username').fill(ADMIN.username);
      await page.getByTestId('sign-in-password').fill('not-the-password');
      await page.getByTestId('sign-in-password').press('Enter');
      await page.getByTestId('sign-in-error').waitFor();
      await check('/configure sign-in error');
      await goto('/signup', 'signup-form');
      await check('/signup');
      await page.getByTestId('signup-submit').click();
      await page.locator('[aria-invalid="true"]').first().waitFor();
      await check('/signup with errors');
      await goto('/no/such/page', 'not-found');
      await check('not found');

      // Signed in as the admin, through the modal.
      await goto('/configure?redirect=/main_ui', 'sign-in-modal');
      await page.getByTestId('sign-in-username').fill(ADMIN.username);
      await page.getByTestId('sign-in-password').fill(ADMIN.password);
      await page.getByTestId('sign-in-password').press('Enter');
      await page.waitForURL('**/main_ui');
      await page.getByTestId('topo-app-node').first().waitFor();
      await expect.poll(() => page.getByTestId('header-cost').textContent()).toMatch(/\$/);
      await check('/main_ui topology');
      for (const tab of ['terraform', 'cloudFormation', 'cost']) {
        await page.getByTestId(`tab-${tab}`).click();
        await page.getByTestId(tab === 'cost' ? 'cost-analysis' : 'code').waitFor();
        await check(`/main_ui ${tab} tab`);
      }
      await shot(`axe-${locale}-${theme}-main-ui`);
      await page.getByTestId('preferences-open').click();
      await page.getByTestId('preferences').waitFor();
      await check('/main_ui preferences menu');
      await escape('preferences');

      // The run overlay: streaming, asking to cancel, done.
      await page.getByTestId('service-name').fill(`axe-${locale}-${theme}`);
      await page.getByTestId('provision-stack').click();
      await page.getByTestId('run-line').first().waitFor();
      await check('run overlay, running');
      await page.getByTestId('run-cancel').click();
      await page.getByTestId('run-cancel-confirm').waitFor();
      await check('run overlay, cancel asked');
      expect(await page.getByTestId('run-success').count()).toBe(0);
      await page.getByTestId('run-cancel-keep').click();
      await page.getByTestId('run-success').waitFor({ timeout: 20_000 });
      await check('run overlay, succeeded');
      await escape('run-overlay');

      // A failed run, handed to the page as a reload hands one over.
      const doomed = await harness.server.request('POST', '/api/provision', {
        token: harness.server.adminToken,
        body: { serviceName: `axe-doomed-${locale}-${theme}`, config: { template: 'single', mockFailAt: 'web' }, targetInfra: 'vsphere' },
      });
      expect(doomed.status).toBe(200);
      await page.evaluate(
        ([key, id, name]) => sessionStorage.setItem(key as string, JSON.stringify({ projectId: id, serviceName: name, lastSeq: 0, lines: [], status: 'PENDING', resources: null, error: null })),
        [RUN_KEY, doomed.body.project_id, `axe-doomed-${locale}-${theme}`],
      );
      await page.reload();
      await page.getByTestId('run-failure').waitFor({ timeout: 20_000 });
      await check('run overlay, failed');
      await escape('run-overlay');

      await goto('/private-console', 'provision-submit');
      await check('/private-console');

      // History: a completed row expanded, the delete dialog, the retry dialog of a failed row.
      await goto('/history', `history-row-${completed.id}`);
      await page.getByTestId(`expand-${completed.id}`).click();
      await page.getByTestId(`details-${completed.id}`).waitFor();
      await check('/history row expanded');
      await page.getByTestId(`delete-${completed.id}`).click();
      await page.getByTestId('delete-dialog').waitFor();
      await check('/history delete dialog');
      await escape('delete-dialog');
      await page.getByTestId(`retry-${failedId}`).click();
      await page.getByTestId('action-dialog').waitFor();
      await check('/history retry dialog');
      await escape('action-dialog');

      // Monitoring: the completed project's hosts, one of them charted.
      await goto('/monitoring', 'resource-browser');
      await page.getByTestId('resource-search').fill(completed.ips[0]);
      await page.getByTestId(`row-host-${completed.ips[0]}`).waitFor();
      await page.getByTestId(`chart-host-${completed.ips[0]}`).click();
      await page.getByTestId('series-charts').waitFor();
      await check('/monitoring host charted');

      // Admin: users and their dialogs.
      await goto('/admin_users', `user-row-${USER.username}`);
      await page.getByTestId('pending-penny').waitFor();
      await check('/admin_users');
      const dialogs: [string, string, string][] = [
        ['open-create-user', 'create-user-dialog', 'create user'],
        [`quota-${USER.username}`, 'quota-dialog', 'quota'],
        [`reset-${USER.username}`, 'reset-dialog', 'password reset'],
        ['open-settings', 'settings-modal', 'admin settings'],
        [`disable-${USER.username}`, 'confirm-dialog', 'disable confirmation'],
      ];
      for (const [opener, dialog, name] of dialogs) {
        await page.getByTestId(opener).click();
        await page.getByTestId(dialog).waitFor();
        await check(`/admin_users ${name} dialog`);
        if (dialog === 'create-user-dialog') {
          await page.getByTestId('create-submit').click();
          await page.getByTestId(dialog).locator('[aria-invalid="true"]').first().waitFor();
          // The refusal puts the focus on the first field it blames, inside the dialog.
          await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-invalid'))).toBe('true');
          await check(`/admin_users ${name} dialog with errors`);
        }
        await closeDialog(dialog);
      }

      // Admin: the pool and its dialogs.
      await goto('/admin_pool', 'pool-table');
      await check('/admin_pool');
      await page.getByTestId('open-add-hosts').click();
      await page.getByTestId('add-hosts-dialog').waitFor();
      await check('/admin_pool add hosts dialog');
      await closeDialog('add-hosts-dialog');
    };
    try {
      await visitEverything();
    } catch (err) {
      // A picture of where it stopped.
      await shot(`axe-stuck-${locale}-${theme}`);
      throw err;
    }
    await finish();
    expect(failures, `axe WCAG 2.1 A/AA violations:\n${failures.join('\n')}`).toEqual([]);
  }, 240_000);
});
