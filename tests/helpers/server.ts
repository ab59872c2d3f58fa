/**
 * Starts a real H-CMP server for a test on a free random port (never 8000), over a fresh
 * SQLite file or a throw-away PostgreSQL database, with helpers to speak REST and GraphQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createApp, type App, type AppOptions } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config/index.js';
import { createTempPostgresDatabase, type TempDatabase } from './postgres.js';

export type Backend = 'sqlite' | 'postgresql';

export const ADMIN = { username: 'admin', password: 'admin-test-password' };
export const TEST_TOKEN_SECRET = 'test-token-secret-that-is-long-enough-0123456789';

export interface TestServerOptions extends AppOptions {
  backend?: Backend;
  env?: Record<string, string>;
  /** Reuse this SQLite file / PostgreSQL database (restart tests). */
  reuse?: { sqlitePath?: string; postgres?: TempDatabase };
}

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestServer {
  app: App;
  config: Config;
  url: string;
  wsUrl: string;
  backend: Backend;
  sqlitePath: string;
  postgres?: TempDatabase;
  logs: string[];
  adminToken: string;
  request<T = any>(method: string, path: string, options?: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> }): Promise<HttpAnswer<T>>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; data?: T; errors?: any[] }>;
  login(username: string, password: string): Promise<string>;
  /** Creates an approved user through the admin API and returns its token. */
  createUser(username: string, password?: string): Promise<string>;
  wsClient(token?: string, extra?: Partial<Parameters<typeof createClient>[0]>): Client;
  /** Stops the server; `keepData` leaves the database for a restart. */
  close(keepData?: boolean): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const backend = options.backend ?? 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-test-'));
  const sqlitePath = options.reuse?.sqlitePath ?? join(dir, 'hcmp.db');
  const postgres = backend === 'postgresql' ? (options.reuse?.postgres ?? (await createTempPostgresDatabase())) : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    SQLITE_PATH: sqlitePath,
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    MOCK_STEP_DELAY_MS: '5',
    // Most suites provision far more than one account's default quota; quota tests set their own.
    DEFAULT_QUOTA_HOSTS: '100000',
    DEFAULT_QUOTA_VCPU: '100000',
    DEFAULT_QUOTA_MEMORY_GB: '100000',
    DEFAULT_QUOTA_DISK_GB: '10000000',
    PORTAL_MAX_VCPU: '1000000',
    PORTAL_MAX_MEMORY_GB: '1000000',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '100000',
    // Every GraphQL operation over HTTP runs compiled from its first execution, so the suites
    // check the compiled path (the one repeated operations take); graphql-executor.test.ts
    // compares it with graphql-js's.
    GRAPHQL_COMPILE_AFTER: '1',
    CLIENT_DIST: join(dir, 'no-client'),
    ...(postgres ? { DATABASE_URL: postgres.url, DB_FALLBACK: 'false' } : {}),
    ...options.env,
  });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  // Every answer must be exactly what its response schema describes (server/rest/response-check.ts).
  const app = await createApp(config, { checkResponses: true, ...options, logger: options.logger ?? { level: 'info', stream } });
  const address = await app.listen();
  const url = address.replace('[::1]', '127.0.0.1');
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const clients: Client[] = [];

  const request: TestServer['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    } else if (opts.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };

  const gql: TestServer['gql'] = async (query, variables, token) => {
    const res = await request('POST', '/graphql', { body: { query, variables }, token });
    return { status: res.status, data: res.body?.data ?? undefined, errors: res.body?.errors };
  };

  const login = async (username: string, password: string) => {
    const res = await request('POST', '/api/login', { body: { user_id: username, password } });
    if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.access_token as string;
  };

  const adminToken = await login(ADMIN.username, ADMIN.password);

  return {
    app,
    config,
    url,
    wsUrl,
    backend,
    sqlitePath,
    postgres,
    logs,
    adminToken,
    request,
    gql,
    login,
    async createUser(username, password = `${username}-password-1`) {
      const res = await gql(
        `mutation($input: CreateUserInput!) { createUser(input: $input) { username } }`,
        { input: { username, password } },
        adminToken,
      );
      if (res.errors) throw new Error(`createUser failed: ${JSON.stringify(res.errors)}`);
      return login(username, password);
    },
    wsClient(token, extra = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        ...extra,
      });
      clients.push(client);
      return client;
    },
    async close(keepData = false) {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.close();
      if (!keepData) {
        if (postgres) await postgres.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Polls until `check` returns a truthy value (or fails after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until a project reaches COMPLETED or FAILED and returns its REST history row. */
export async function waitForFinalStatus(server: TestServer, projectId: number, token: string): Promise<any> {
  return waitFor(async () => {
    const res = await server.request('GET', '/api/history', { token });
    const row = (res.body as any[]).find((p) => p.id === projectId);
    return row && (row.status === 'COMPLETED' || row.status === 'FAILED') ? row : undefined;
  }, 20_000, `project ${projectId} to finish`);
}
