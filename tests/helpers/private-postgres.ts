/**
 * A PostgreSQL server of a test's own: `initdb` into a temporary directory with the machine's
 * PostgreSQL binaries, started on a free port with its socket in that directory, so a test may
 * stop, kill and restart it without touching the machine's server or another suite's.
 *
 * PostgreSQL refuses to run as root: as root (CI, these machines) the server runs as the
 * `postgres` account through `runuser`; otherwise as the current user.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The directory of the newest PostgreSQL binaries on this machine (Debian: /usr/lib/postgresql/N/bin), or null. */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

/** A free TCP port on 127.0.0.1 (the OS picks one; never 8000 in practice, and checked). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port && port !== 8000) return port;
  }
}

export interface PrivatePostgres {
  /** postgres://… of the `hcmp` database on this server. */
  url: string;
  port: number;
  /** Stops the server. `fast` ends sessions cleanly (57P01); `immediate` is a crash-like stop. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  running(): boolean;
  /**
   * Terminates every backend of a database (default `hcmp`) but the caller's
   * (pg_terminate_backend); answers how many were terminated.
   */
  terminateConnections(database?: string): Promise<number>;
  /** Creates a database on this server; answers its URL. */
  createDatabase(name: string): Promise<string>;
  /** A query on a fresh connection (as the superuser). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Stops the server (immediately) and removes its directory. */
  destroy(): Promise<void>;
}

/** Why a private PostgreSQL cannot be built here, or null. */
export function privatePostgresUnavailableReason(): string | null {
  if (!postgresBinaries()) return 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin (Debian package postgresql)';
  if (userInfo().uid === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root, and there is no postgres account to run the server as';
    }
  }
  return null;
}

/**
 * Decides whether a suite that needs a private PostgreSQL runs: says plainly why it skips, and
 * throws instead when REQUIRE_POSTGRES is set (CI).
 */
export function shouldRunPrivatePostgres(suite: string): boolean {
  const reason = privatePostgresUnavailableReason();
  if (reason === null) return true;
  if (/^(1|true|yes)$/i.test(process.env.REQUIRE_POSTGRES ?? '')) throw new Error(`REQUIRE_POSTGRES is set but a private PostgreSQL cannot be started: ${reason}`);
  console.warn(`SKIPPING suite "${suite}": ${reason}`);
  return false;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  if (!bin) throw new Error(privatePostgresUnavailableReason() ?? 'no PostgreSQL binaries');
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-pg-'));
  const data = join(dir, 'data');
  const socketDir = dir;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o700);
  }
  /** Runs a PostgreSQL binary as the account the server runs as. */
  const pgRun = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);

  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${socketDir}'`,
    // No fsync (fast; a crash of the server process still loses nothing, only one of the OS
    // would). synchronous_commit stays on: an immediate stop must not lose what was committed.
    'fsync = off',
    'full_page_writes = off',
    'max_connections = 200',
    'shared_buffers = 32MB',
    `log_min_messages = warning`,
  ].join('\n');
  writeFileSync(join(data, 'postgresql.auto.conf'), `${conf}\n`);
  if (asRoot) await run('chown', ['postgres:postgres', join(data, 'postgresql.auto.conf')]);
  const logFile = join(dir, 'server.log');
  let isRunning = false;

  const start = async () => {
    // pg_ctl -w waits until the server accepts connections.
    await pgRun('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
    isRunning = true;
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    isRunning = false;
  };
  await start();
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const query = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await query('create database hcmp');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/hcmp`,
    port,
    stop,
    start,
    running: () => isRunning,
    async terminateConnections(database = 'hcmp') {
      const rows = await query<{ n: string }>(
        `select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
        [database],
      );
      return Number(rows[0]?.n ?? 0);
    },
    query,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await query(`create database ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async destroy() {
      if (isRunning) await stop('immediate').catch(() => undefined);
      // A server left running (a crashed test) is stopped by its postmaster's pid.
      await new Promise<void>((resolve) => {
        const killer = spawn('pkill', ['-9', '-f', `-D ${data}`], { stdio: 'ignore' });
        killer.on('exit', () => resolve());
        killer.on('error', () => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
