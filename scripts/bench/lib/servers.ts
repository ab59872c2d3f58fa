/**
 * Starting the processes under test: the product server (children/product-server.ts, set up
 * through environment variables exactly as an operator would) and the raw baselines, plus the
 * few API calls the harness makes to set up accounts (not timed).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { DbTarget } from './db.js';
import { BenchChild } from './ipc.js';
import type { Usage } from './child.mjs';

export const ADMIN_PASSWORD = 'bench-admin-password-0001';
export const USER_NAME = 'bench';
export const USER_PASSWORD = 'bench-user-password-0001';
/** Second owner in seeded data, so per-user queries filter for real. */
export const OTHER_OWNER = 'other';

export interface RunSettings {
  /** The compiled server: a folder holding app.js and config/ (see build.ts). */
  serverDir: string;
  /** Write a CPU profile of every product server (test-output/bench/profiles). */
  profile: boolean;
  profileDir: string;
}

export interface ProductInfo {
  url: string;
  backend: string;
  fellBack: boolean;
  pid: number;
}

export interface ProductOptions {
  db: DbTarget;
  /** Where to write the WORKLOAD_POOL_FILE (in the run's temp folder). */
  poolPath: string;
  poolHosts: string;
  env?: Record<string, string>;
}

/** A clean environment: only what a server needs, nothing inherited that could change its config. */
function baseEnv(): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LANG: process.env.LANG };
}

export class ProductServer {
  private constructor(
    readonly child: BenchChild<ProductInfo>,
    readonly info: ProductInfo,
  ) {}

  get url(): string {
    return this.info.url;
  }

  static async start(name: string, settings: RunSettings, options: ProductOptions): Promise<ProductServer> {
    writeFileSync(options.poolPath, options.poolHosts);
    const db = options.db;
    const env: Record<string, string | undefined> = {
      ...baseEnv(),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0', // a free port, never 8000
      LOG_LEVEL: 'warn',
      TOKEN_SECRET: randomBytes(24).toString('hex'),
      ENCRYPT_KEY: randomBytes(24).toString('hex'),
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD,
      DATABASE_URL: db.backend === 'postgresql' ? db.location : undefined,
      SQLITE_PATH: db.backend === 'sqlite' ? db.location : `${options.poolPath}.fallback.sqlite`,
      DB_FALLBACK: 'false',
      SESSION_TTL_MINUTES: '600',
      DEFAULT_QUOTA_HOSTS: '1000000',
      DEFAULT_QUOTA_VCPU: '1000000',
      DEFAULT_QUOTA_MEMORY_GB: '1000000',
      DEFAULT_QUOTA_DISK_GB: '100000000',
      PORTAL_MAX_VCPU: '10000000',
      PORTAL_MAX_MEMORY_GB: '100000000',
      WORKLOAD_POOL_FILE: options.poolPath,
      CLIENT_DIST: `${options.poolPath}.no-client`,
      HCMP_BENCH_SERVER_DIR: settings.serverDir,
      // /metrics on, as a deployment scraped by Prometheus runs (without a token it is off in
      // production, and the per-request timing with it).
      METRICS_TOKEN: randomBytes(24).toString('hex'),
      ...options.env,
    };
    const nodeFlags = ['--expose-gc'];
    if (settings.profile) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`, `--cpu-prof-name=${name.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.cpuprofile`);
    const child = new BenchChild<ProductInfo>({ name, file: 'product-server.mjs', env, cleanEnv: true, nodeFlags, readyTimeoutMs: 120_000 });
    try {
      const info = await child.ready;
      if (info.backend !== db.backend || info.fellBack) throw new Error(`${name} runs on ${info.backend} (fell back: ${info.fellBack}), expected ${db.backend}`);
      return new ProductServer(child, info);
    } catch (err) {
      child.kill();
      throw err;
    }
  }

  usage(): Promise<Usage> {
    return this.child.call('usage');
  }

  stop(): Promise<void> {
    return this.child.stop(15_000);
  }
}

export interface RawServerInfo {
  url: string;
  pid: number;
}

/** node:http + the raw driver (children/raw-http-server.ts) on its own database. */
export async function startRawHttp(name: string, db: DbTarget, owner = USER_NAME): Promise<BenchChild<RawServerInfo> & { url: string }> {
  const child = new BenchChild<RawServerInfo>({
    name,
    file: 'raw-http-server.ts',
    env: { BENCH_BACKEND: db.backend, BENCH_DB: db.location, BENCH_OWNER: owner },
    nodeFlags: ['--expose-gc'],
  });
  try {
    const info = await child.ready;
    return Object.assign(child, { url: info.url });
  } catch (err) {
    child.kill();
    throw err;
  }
}

// --- API calls for setting up (not measured) -------------------------------------------------

async function json(url: string, init: RequestInit & { body?: string }, what: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function login(url: string, username: string, password: string): Promise<string> {
  const body = await json(`${url}/api/login`, { method: 'POST', body: JSON.stringify({ username, password }) }, `login ${username}`);
  return String(body.access_token);
}

/** Signs the benchmark user up, approves it as admin, and returns its token. */
export async function benchUserToken(url: string): Promise<string> {
  await json(`${url}/api/signup`, { method: 'POST', body: JSON.stringify({ username: USER_NAME, password: USER_PASSWORD, full_name: 'Benchmark' }) }, 'signup');
  const admin = await login(url, 'admin', ADMIN_PASSWORD);
  await json(`${url}/api/admin/approve-user/${USER_NAME}`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: '{}' }, 'approve');
  return login(url, USER_NAME, USER_PASSWORD);
}

/** One GraphQL request; throws on HTTP or GraphQL errors. */
export async function graphql<T = Record<string, unknown>>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const body = await json(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) }, 'graphql');
  if (body.errors) throw new Error(`graphql: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data as T;
}
