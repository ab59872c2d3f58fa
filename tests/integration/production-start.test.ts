/**
 * With NODE_ENV=production the real entry point (`server/main.ts`) refuses to start on a
 * missing, too short or development ENCRYPT_KEY, or a missing TOKEN_SECRET: it exits non-zero
 * within seconds, naming the variable, before opening the database or listening. With good
 * values it starts and serves.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_ENCRYPT_KEY } from '../../server/config/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const GOOD_ENCRYPT_KEY = 'prod-start-encrypt-key-0123456789abcdefgh'; // 41 characters
const GOOD_TOKEN_SECRET = 'prod-start-token-secret-0123456789abcdefg'; // 41 characters
const ADMIN_PASSWORD = 'prod-start-admin-password';
/**
 * A refusal must come within this. Generous for a cold `npx tsx` (which loads the whole server
 * before reading the config) on a busy two-core CI machine; here it takes 2-4 s.
 */
const EXIT_WITHIN_MS = 15_000;
/** After this the process group is killed and the test fails. */
const KILL_AFTER_MS = 30_000;

const dirs: string[] = [];
/** Process groups still running (stopped in afterAll if a test failed half-way). */
const running = new Set<number>();
afterAll(() => {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
  dataFiles: string[];
  servingLine?: string;
}

/**
 * Starts `npx tsx server/main.ts` in production with only the given variables (plus PATH,
 * HOME and a temporary SQLite path). Resolves when it exits; if it says it is serving, checks
 * /healthz and then stops it with SIGTERM.
 */
function startProduction(env: Record<string, string>): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-prod-'));
  dirs.push(dir);
  const started = Date.now();
  const child = spawn('npx', ['tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0', // never 8000
      SQLITE_PATH: join(dir, 'data', 'hcmp.db'),
      CLIENT_DIST: join(dir, 'no-client'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: npx → tsx → node, all stopped together, none left behind.
    detached: true,
  });
  running.add(child.pid!);
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  let output = '';
  let servingLine: string | undefined;
  let health: Promise<unknown> | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup('SIGKILL');
      reject(new Error(`server did not exit within ${KILL_AFTER_MS} ms:\n${output}`));
    }, KILL_AFTER_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /H-CMP is serving on (http:\/\/[^\s"]+)/.exec(output);
      if (match && !servingLine) {
        servingLine = match[0];
        health = fetch(`${match[1].replace('localhost', '127.0.0.1')}/healthz`)
          .then((res) => res.json())
          .finally(() => signalGroup('SIGTERM'));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    // 'close', not 'exit': npx may exit before the server (its grandchild, which shares the
    // pipes) has written its last lines; 'close' comes once every holder of the pipes is gone.
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid!);
      const healthBody = health ? await health.catch((err: Error) => ({ error: err.message })) : undefined;
      resolve({
        code,
        signal,
        output: healthBody ? `${output}\n/healthz: ${JSON.stringify(healthBody)}` : output,
        ms: Date.now() - started,
        dataFiles: readdirSync(dir).flatMap((d) => (d === 'data' ? readdirSync(join(dir, d)).map((f) => `data/${f}`) : [d])),
        servingLine,
      });
    });
  });
}

const good = { ENCRYPT_KEY: GOOD_ENCRYPT_KEY, TOKEN_SECRET: GOOD_TOKEN_SECRET, ADMIN_PASSWORD };

function expectRefused(run: Run, variable: string, why: RegExp): void {
  expect(run.code, run.output).not.toBe(0);
  expect(run.code, run.output).not.toBeNull(); // exited on its own, not killed
  expect(run.servingLine, run.output).toBeUndefined();
  expect(run.output).toContain('Invalid configuration');
  expect(run.output).toMatch(new RegExp(`${variable} [^\\n]*${why.source}`));
  // Refused before opening the database (and so before listening).
  expect(run.dataFiles).toEqual([]);
  expect(run.ms).toBeLessThan(EXIT_WITHIN_MS);
}

describe('production start-up (NODE_ENV=production, real process)', () => {
  it('refuses to start without ENCRYPT_KEY', async () => {
    const { ENCRYPT_KEY: _, ...env } = good;
    expectRefused(await startProduction(env), 'ENCRYPT_KEY', /required in production/);
  });

  it('refuses an ENCRYPT_KEY shorter than 32 characters', async () => {
    expectRefused(await startProduction({ ...good, ENCRYPT_KEY: 'short-key-0123456789-abcdefghijk'.slice(0, 31) }), 'ENCRYPT_KEY', /at least 32 characters/);
  });

  it('refuses the development ENCRYPT_KEY', async () => {
    expectRefused(await startProduction({ ...good, ENCRYPT_KEY: DEV_ENCRYPT_KEY }), 'ENCRYPT_KEY', /not the development key/);
  });

  it('refuses the development key among ENCRYPT_KEYS_PREVIOUS', async () => {
    expectRefused(await startProduction({ ...good, ENCRYPT_KEYS_PREVIOUS: `old-key-0123456789-0123456789-0123456789,${DEV_ENCRYPT_KEY}` }), 'ENCRYPT_KEYS_PREVIOUS', /development key/);
  });

  it('refuses to start without TOKEN_SECRET', async () => {
    const { TOKEN_SECRET: _, ...env } = good;
    expectRefused(await startProduction(env), 'TOKEN_SECRET', /required in production/);
  });

  it('refuses a TOKEN_SECRET shorter than 32 characters', async () => {
    expectRefused(await startProduction({ ...good, TOKEN_SECRET: 'x'.repeat(31) }), 'TOKEN_SECRET', /at least 32 characters/);
  });

  it('refuses a first start without ADMIN_PASSWORD, without serving', async () => {
    const { ADMIN_PASSWORD: _, ...env } = good;
    const run = await startProduction(env);
    expect(run.code, run.output).not.toBe(0);
    expect(run.code, run.output).not.toBeNull();
    expect(run.servingLine, run.output).toBeUndefined();
    expect(run.output).toMatch(/ADMIN_PASSWORD is required in production/);
  });

  it('starts and serves with good 40-character keys', async () => {
    const run = await startProduction(good);
    expect(run.servingLine, run.output).toMatch(/^H-CMP is serving on http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.servingLine).not.toMatch(/:8000$/);
    expect(run.output).toMatch(/\/healthz: \{"status":"ok"/);
    // SIGTERM: the server closes cleanly (npx itself may report the signal instead of 0).
    expect(run.output).toContain('SIGTERM: shutting down');
    expect(run.code === 0 || run.signal === 'SIGTERM', `${run.code} ${run.signal}`).toBe(true);
    expect(run.output).not.toMatch(/"level":50/); // no error logged while stopping
    expect(run.output).not.toContain(GOOD_ENCRYPT_KEY);
    expect(run.output).not.toContain(GOOD_TOKEN_SECRET);
    expect(run.output).not.toContain(ADMIN_PASSWORD);
  });
});
