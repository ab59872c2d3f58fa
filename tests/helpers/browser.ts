/**
 * Debian's Chromium driven by playwright-core. Suites skip with a plain message where it is
 * not installed, unless REQUIRE_BROWSER is set (CI), where a missing browser fails the run.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const BROWSER_REQUIRED = /^(1|true|yes)$/i.test(process.env.REQUIRE_BROWSER ?? '');
export const ROOT = resolve(import.meta.dirname, '../..');
export const CLIENT_DIST = join(ROOT, 'dist/client');
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');

export function browserAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (BROWSER_REQUIRED) throw new Error(`REQUIRE_BROWSER is set but ${CHROMIUM} does not exist (apt-get install chromium)`);
  console.warn(`SKIPPING browser suite "${suite}": no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
  return false;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function clientBuildStale(): boolean {
  const index = join(CLIENT_DIST, 'index.html');
  return !existsSync(index) || newest(join(ROOT, 'client')) > statSync(index).mtimeMs;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the console when its build is missing or older than its sources. Browser suites run
 * in parallel processes: a lock directory makes one of them build while the others wait.
 */
/** The build has no precompressed index.html, or one older than the page itself. */
function precompressionStale(): boolean {
  const index = join(CLIENT_DIST, 'index.html');
  const packed = `${index}.br`;
  return !existsSync(packed) || statSync(packed).mtimeMs < statSync(index).mtimeMs;
}

export function ensureClientBuilt(): string {
  if (!clientBuildStale() && !precompressionStale()) return CLIENT_DIST;
  const lock = join(ROOT, 'test-output/.client-build.lock');
  mkdirSync(join(ROOT, 'test-output'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a crashed run is stale after five minutes.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      sleepSync(250);
    }
  }
  try {
    // Vitest sets NODE_ENV=test, which Vite would honour and build Vue's development bundle.
    if (clientBuildStale()) execSync('npx vite build --config client/vite.config.ts --logLevel warn', { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
    // Then the build's precompressed files, as `npm run build:client` makes them.
    if (precompressionStale()) execSync('node scripts/precompress.mjs dist/client', { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return CLIENT_DIST;
}

export function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

export interface PageWatch {
  /** Console errors and uncaught page errors. */
  consoleErrors: string[];
  /** Requests to anything but the server under test (and data: URLs). */
  foreign: string[];
}

/**
 * Records what every browser test must not see: console errors, page errors and requests to
 * another origin. A test that expects one filters it out itself.
 */
export function watchPage(page: Page, origin: string): PageWatch {
  const watch: PageWatch = { consoleErrors: [], foreign: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error') watch.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => watch.consoleErrors.push(err.message));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith(origin.replace(/^http/, 'ws'))) watch.foreign.push(url);
  });
  return watch;
}

/** Saves a full-page screenshot under test-output/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`), fullPage: true });
}
