/**
 * Debian's Chromium driven by playwright-core. Suites skip with a plain message where it is
 * not installed, unless REQUIRE_BROWSER is set (CI), where a missing browser fails the run.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

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

/** Builds the console when its build is missing or older than its sources. */
export function ensureClientBuilt(): string {
  const index = join(CLIENT_DIST, 'index.html');
  if (!existsSync(index) || newest(join(ROOT, 'client')) > statSync(index).mtimeMs) {
    execSync('npx vite build --config client/vite.config.ts --logLevel warn', { cwd: ROOT, stdio: 'inherit' });
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
