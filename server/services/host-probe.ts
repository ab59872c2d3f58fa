/**
 * Whether a pool host can be reached: the `ssh` program logs in with the configured account and
 * key and runs `echo ok`. The key is written to a 0600 file in a private directory made for the
 * run (mkdtemp, 0700) and removed afterwards — never in argv as text, never logged. Each host
 * gets its own known_hosts file there, filled with the key recorded for it, so ssh refuses a
 * host whose key changed and learns (StrictHostKeyChecking=accept-new) the key of one seen for
 * the first time; the caller records what was learned.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshCredentials } from './ssh-access.js';

export interface ProbeTarget {
  /** Names the host's known_hosts file in the run directory. */
  id: number;
  address: string;
  /** The recorded known_hosts lines, or null when none is recorded yet. */
  hostKey: string | null;
}

export interface ProbeResult {
  id: number;
  ok: boolean;
  /** Short, for people; never holds the key or its path. */
  message: string;
  /** known_hosts lines ssh wrote on first contact (only when no key was recorded). */
  learnedKeys: string | null;
}

/** Hands out at most `size` slots at once; the others wait, first come first served. */
export class ProbeSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export interface ProbeOptions {
  /** The ssh program (a path, or a name looked up in PATH). */
  program: string;
  /** ssh's own connect timeout, seconds. */
  connectTimeoutSeconds: number;
  /** The whole login and command: past this the ssh process is killed. */
  timeoutMs: number;
  /** Hosts probed at once. */
  parallel: number;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = { program: 'ssh', connectTimeoutSeconds: 5, timeoutMs: 10_000, parallel: 8 };

export const KEY_CHANGED = 'host key changed since it was recorded; reset it if the host was rebuilt';
const MAX_MESSAGE = 200;
/** What ssh says is kept to this much, so a chatty failure cannot fill memory. */
const MAX_OUTPUT = 16_384;

/**
 * Probes every target, at most `options.parallel` at once — or as `slots` allow, when given: one
 * set of slots shared by every caller keeps the server's own limit however many checks overlap.
 * Results in the order of `targets`.
 */
export async function probeHosts(targets: ProbeTarget[], credentials: SshCredentials, options: ProbeOptions = DEFAULT_PROBE_OPTIONS, slots = new ProbeSlots(options.parallel)): Promise<ProbeResult[]> {
  if (!targets.length) return [];
  const dir = await mkdtemp(join(tmpdir(), 'hcmp-probe-'));
  try {
    const keyFile = join(dir, 'id');
    await writeFile(keyFile, credentials.privateKey, { mode: 0o600 });
    const results: ProbeResult[] = new Array(targets.length);
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const index = next++;
        results[index] = await slots.run(() => probeOne(targets[index], credentials.user, keyFile, dir, options));
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.parallel, targets.length) }, worker));
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function probeOne(target: ProbeTarget, user: string, keyFile: string, dir: string, options: ProbeOptions): Promise<ProbeResult> {
  // One known_hosts file per host: ssh appends to it on first contact, and probes run in parallel.
  const knownHosts = join(dir, `known_hosts-${target.id}`);
  await writeFile(knownHosts, target.hostKey ? `${target.hostKey.trim()}\n` : '', { mode: 0o600 });
  const args = [
    '-F', '/dev/null',
    '-i', keyFile,
    '-l', user,
    '-p', '22',
    '-T',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${options.connectTimeoutSeconds}`,
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=accept-new',
    '-o', 'HashKnownHosts=no',
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no',
    '-o', 'LogLevel=ERROR',
    target.address,
    'echo ok',
  ];
  const run = await runSsh(options.program, args, options.timeoutMs);
  const outcome = interpret(run, options.timeoutMs);
  let learnedKeys: string | null = null;
  if (outcome.ok && !target.hostKey) {
    const written = (await readFile(knownHosts, 'utf8').catch(() => '')).trim();
    learnedKeys = written || null;
  }
  return { id: target.id, ok: outcome.ok, message: scrub(outcome.message, dir), learnedKeys };
}

interface SshRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The program could not be started (not installed). */
  spawnError?: NodeJS.ErrnoException;
}

function runSsh(program: string, args: string[], timeoutMs: number): Promise<SshRun> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const done = (run: SshRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(run);
    };
    // Nothing of the server's environment reaches ssh (Node finds `program` with the server's PATH).
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { LANG: 'C' } });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => done({ code: null, stdout, stderr, timedOut, spawnError: err }));
    child.on('close', (code) => done({ code, stdout, stderr, timedOut }));
  });
}

/** What a finished ssh run means, in a short sentence. */
export function interpret(run: SshRun, timeoutMs: number): { ok: boolean; message: string } {
  if (run.spawnError) {
    return { ok: false, message: run.spawnError.code === 'ENOENT' ? 'the ssh program is not installed on the server' : `ssh could not be started (${run.spawnError.code ?? 'error'})` };
  }
  if (run.timedOut) return { ok: false, message: `no answer within ${Math.round(timeoutMs / 1000)} s` };
  if (run.code === 0 && run.stdout.trim() === 'ok') return { ok: true, message: 'ok' };
  const stderr = run.stderr;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key for .* has changed/i.test(stderr)) return { ok: false, message: KEY_CHANGED };
  if (run.code !== 255) return { ok: false, message: `logged in, but the test command failed (exit code ${run.code ?? 'none'})` };
  const permission = /Permission denied \(([^)]*)\)/.exec(stderr);
  if (permission) return { ok: false, message: `login refused (${permission[1]}): check the SSH user and key` };
  const loadKey = /Load key "[^"]*": (.+)/.exec(stderr);
  if (loadKey) return { ok: false, message: `the configured private key cannot be used: ${loadKey[1].trim()}` };
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Warning: Permanently added'));
  const last = lines.at(-1)?.replace(/^ssh: /, '');
  return { ok: false, message: last || `ssh failed (exit code ${run.code})` };
}

/** Short, single-line, and without the run directory (the key's path). */
function scrub(message: string, dir: string): string {
  const clean = message.split(dir).join('…').replace(/\s+/g, ' ').trim();
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
}
