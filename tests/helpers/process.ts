/**
 * Real server processes for crash, shutdown and multi-instance tests: `node --import tsx
 * server/main.ts` (one process, so a signal reaches the server itself and its exit code is the
 * server's), in its own process group (a `kill -9` of the group leaves nothing behind), on a
 * given SQLite file or PostgreSQL database, on a random port (never 8000).
 *
 * Also: REST / GraphQL / graphql-ws helpers against such a process, and a plain read-only view
 * of the database (`better-sqlite3` or `pg`, no ORM) to count what the processes did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { createTempPostgresDatabase } from './postgres.js';
import type { Backend } from './server.js';
import { ADMIN, TEST_TOKEN_SECRET } from './server.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** The mock runner's steps, as configured (server/config/catalog.json). */
const CATALOG = JSON.parse(readFileSync(join(ROOT, 'server', 'config', 'catalog.json'), 'utf8')) as {
  mockSteps: { id: string; log: string; teardownLog?: string }[];
  provisioning: { completedLog: string; allocationLog: string };
  templates: Record<string, { roles: string[] }>;
};
export const MOCK_STEPS = CATALOG.mockSteps;
export const COMPLETED_LOG = CATALOG.provisioning.completedLog;
/** Checkpoints of a full mock run: the configured steps, then 'resources'. */
export const RUN_STEP_COUNT = MOCK_STEPS.length + 1;
export const HOSTS_OF_TEMPLATE: Record<string, number> = Object.fromEntries(
  Object.entries(CATALOG.templates).map(([name, t]) => [name, t.roles.length]),
);

export type DbTarget = { backend: 'sqlite'; sqlitePath: string } | { backend: 'postgresql'; url: string };

/** Short worker timings so that takeovers and resumes happen within seconds. */
export const FAST_TIMING = {
  RUNNER_HEARTBEAT_MS: '200',
  RUNNER_DEAD_AFTER_MS: '1000',
  RUNNER_POLL_MS: '200',
};

export interface SpawnOptions {
  db: DbTarget;
  /** Label used in failure messages. */
  name?: string;
  env?: Record<string, string>;
  /** How long to wait for the "serving on" line. */
  startTimeoutMs?: number;
}

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  wsUrl: string;
  /** The dispatcher's instance id (`claimed_by`, "Resumed by instance <id>"). */
  instanceId: string;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  hasExited(): boolean;
  request<T = any>(method: string, path: string, opts?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<HttpAnswer<T>>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; data?: T; errors?: any[] }>;
  login(username?: string, password?: string): Promise<string>;
  /** A graphql-ws client (disposed by `disposeClients`, `kill9` and `terminate`). */
  wsClient(token: string): Client;
  disposeClients(): Promise<void>;
  /** SIGKILL to the whole process group; resolves once the process is gone. */
  kill9(): Promise<ExitInfo>;
  /** SIGTERM to the server process; resolves with its exit and how long it took. */
  terminate(timeoutMs?: number): Promise<ExitInfo & { ms: number }>;
}

/** Process groups started here and not yet seen to exit (killed by `killAllServers`). */
const live = new Set<ServerProcess>();

/** SIGKILLs every server process still running (afterAll). */
/**
 * Throw-away databases for real-process tests: `fresh(backend)` gives a new SQLite file or
 * PostgreSQL database; `cleanUp()` (in afterAll) kills every server left and removes them all.
 */
export function dataTargets(prefix: string): { fresh(backend: string): Promise<DbTarget>; cleanUp(): Promise<void> } {
  const cleanups: (() => Promise<void> | void)[] = [];
  return {
    async fresh(backend) {
      if (backend === 'postgresql') {
        const temp = await createTempPostgresDatabase();
        cleanups.push(() => temp.drop());
        return { backend: 'postgresql', url: temp.url };
      }
      const dir = mkdtempSync(join(tmpdir(), `hcmp-${prefix}-`));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return { backend: 'sqlite', sqlitePath: join(dir, 'hcmp.db') };
    },
    async cleanUp() {
      await killAllServers();
      for (const c of cleanups.reverse()) await c();
    },
  };
}

export async function killAllServers(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill9().catch(() => undefined)));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function baseEnv(db: DbTarget): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0', // never 8000
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    CLIENT_DIST: join(ROOT, 'tests', 'no-client-here'),
    DEFAULT_QUOTA_HOSTS: '100000',
    DEFAULT_QUOTA_VCPU: '100000',
    DEFAULT_QUOTA_MEMORY_GB: '100000',
    DEFAULT_QUOTA_DISK_GB: '10000000',
    PORTAL_MAX_VCPU: '1000000',
    PORTAL_MAX_MEMORY_GB: '1000000',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '100000',
    // 1022 vSphere hosts: room for hundreds of multi-host orders.
    IP_POOL_VSPHERE: '10.20.0.0/22',
    SHUTDOWN_GRACE_MS: '10000',
    ...FAST_TIMING,
    ...(db.backend === 'postgresql'
      ? { DATABASE_URL: db.url, DB_FALLBACK: 'false', SQLITE_PATH: '/nonexistent/never-used.db' }
      : { SQLITE_PATH: db.sqlitePath }),
  };
}

/** Starts a server process and resolves once it serves (rejects, after killing it, if it does not). */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const name = options.name ?? 'server';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...baseEnv(options.db), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid!;
  let output = '';
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      // Its last lines may still be in the pipes: resolve once they close (at most 2 s later,
      // in case something it started still holds them), so output() has everything it wrote.
      const info = exitInfo;
      const timer = setTimeout(() => resolve(info), 2_000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  });
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  const startTimeout = options.startTimeoutMs ?? 45_000;
  const started = Date.now();
  let url: string | undefined;
  while (!url) {
    const match = /H-CMP is serving on (http:\/\/[^\s"]+)/.exec(output);
    if (match) url = match[1].replace('localhost', '127.0.0.1');
    else if (exitInfo) throw new Error(`${name} exited before serving (${JSON.stringify(exitInfo)}):\n${output.slice(-4000)}`);
    else if (Date.now() - started > startTimeout) {
      signalGroup(pid, 'SIGKILL');
      throw new Error(`${name} did not serve within ${startTimeout} ms:\n${output.slice(-4000)}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  if (/:8000$/.test(url)) throw new Error(`${name} listens on 8000`);
  const instanceMatch = /"instanceId":"([^"]+)"/.exec(output);
  if (!instanceMatch) throw new Error(`${name}: no "worker instance started" line:\n${output.slice(-4000)}`);
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const clients: Client[] = [];

  const request: ServerProcess['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };

  const disposeClients = async () => {
    const all = clients.splice(0);
    await Promise.all(all.map((c) => Promise.resolve(c.dispose()).catch(() => undefined)));
  };

  const proc: ServerProcess = {
    name,
    pid,
    url,
    wsUrl,
    instanceId: instanceMatch[1],
    output: () => output,
    exited,
    hasExited: () => exitInfo !== undefined,
    request,
    async gql(query, variables, token) {
      const res = await request('POST', '/graphql', { body: { query, variables }, token });
      return { status: res.status, data: res.body?.data ?? undefined, errors: res.body?.errors };
    },
    async login(username = ADMIN.username, password = ADMIN.password) {
      const res = await request('POST', '/api/login', { body: { user_id: username, password } });
      if (res.status !== 200) throw new Error(`${name}: login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.access_token as string;
    },
    wsClient(token) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: `Bearer ${token}` },
      });
      clients.push(client);
      return client;
    },
    disposeClients,
    async kill9() {
      signalGroup(pid, 'SIGKILL');
      const info = await exited;
      live.delete(proc);
      await disposeClients();
      return info;
    },
    async terminate(timeoutMs = 20_000) {
      const t0 = Date.now();
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      let timer: NodeJS.Timeout | undefined;
      const info = await Promise.race([
        exited,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const ms = Date.now() - t0;
      if (!info) {
        signalGroup(pid, 'SIGKILL');
        await exited;
        live.delete(proc);
        await disposeClients();
        throw new Error(`${name} did not exit within ${timeoutMs} ms of SIGTERM:\n${output.slice(-4000)}`);
      }
      // Anything the server left in its group (it starts none) goes too.
      signalGroup(pid, 'SIGKILL');
      live.delete(proc);
      await disposeClients();
      return { ...info, ms };
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Polls until `check` returns a truthy value (or fails after `timeoutMs`, naming `what`). */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Orders and subscriptions                                                                    */
/* ------------------------------------------------------------------------------------------ */

export interface Order {
  serviceName: string;
  template: string;
}

/** POST /api/provision; returns the project id (throws on anything but 200). */
export async function provision(server: ServerProcess, token: string, order: Order): Promise<number> {
  const res = await server.request('POST', '/api/provision', {
    token,
    body: { serviceName: order.serviceName, config: { template: order.template }, targetInfra: { type: 'vsphere' } },
  });
  if (res.status !== 200) throw new Error(`${server.name}: provision ${order.serviceName} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.project_id as number;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

export interface StreamedEvent {
  projectId: number;
  seq: number;
  kind: string;
  status: string;
  message: string | null;
}

export interface EventStream {
  projectId: number;
  events: StreamedEvent[];
  errors: unknown[];
  /** Resolves true when the server completed the stream, false on error or unsubscribe. */
  done: Promise<boolean>;
  unsubscribe(): void;
}

const FOLLOW = `subscription($id: Int!, $after: Int) { provisionStatus(projectId: $id, afterSeq: $after) { projectId seq kind status message } }`;

/** Subscribes to provisionStatus(projectId) from seq 1 and collects every event. */
export function followProject(client: Client, projectId: number): EventStream {
  const events: StreamedEvent[] = [];
  const errors: unknown[] = [];
  let settle!: (completed: boolean) => void;
  const done = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  const unsubscribe = client.subscribe<{ provisionStatus: StreamedEvent }>(
    { query: FOLLOW, variables: { id: projectId, after: 0 } },
    {
      next: (msg) => {
        if (msg.errors) errors.push(...msg.errors);
        if (msg.data) events.push(msg.data.provisionStatus);
      },
      error: (err) => {
        errors.push(err);
        settle(false);
      },
      complete: () => settle(true),
    },
  );
  return {
    projectId,
    events,
    errors,
    done,
    unsubscribe: () => {
      unsubscribe();
      settle(false);
    },
  };
}

export interface ChangeSeen {
  id: number;
  status: string;
  lastSeq: number;
  deleted: boolean;
}

/** Subscribes to projectChanges (live only, no replay) and collects every change. */
export function followChanges(client: Client): { changes: ChangeSeen[]; errors: unknown[]; unsubscribe(): void } {
  const changes: ChangeSeen[] = [];
  const errors: unknown[] = [];
  const unsubscribe = client.subscribe<{ projectChanges: ChangeSeen }>(
    { query: `subscription { projectChanges { id status lastSeq deleted } }` },
    {
      next: (msg) => {
        if (msg.errors) errors.push(...msg.errors);
        if (msg.data) changes.push(msg.data.projectChanges);
      },
      error: (err) => errors.push(err),
      complete: () => undefined,
    },
  );
  return { changes, errors, unsubscribe };
}

/* ------------------------------------------------------------------------------------------ */
/* Reading the database directly                                                               */
/* ------------------------------------------------------------------------------------------ */

export interface ProjectRow {
  id: number;
  status: string;
  hostCount: number;
  lastSeq: number;
  completedSteps: string[];
  claimedBy: string | null;
  attempt: number;
  error: string | null;
}

export interface EventRow {
  projectId: number;
  seq: number;
  kind: string;
  status: string;
  message: string | null;
}

export interface HostRow {
  id: number;
  ipAddress: string;
  status: string;
  projectId: number | null;
}

export interface DbView {
  projects(): Promise<ProjectRow[]>;
  events(): Promise<EventRow[]>;
  hosts(): Promise<HostRow[]>;
  instances(): Promise<string[]>;
  /** PostgreSQL: how old each registered instance's heartbeat is, in ms (SQLite: empty). */
  heartbeatAges(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

function toProject(r: any): ProjectRow {
  const details = json(r.details) as { error?: { message?: string } | null } | null;
  return {
    id: Number(r.id),
    status: r.status,
    hostCount: Number(r.host_count),
    lastSeq: Number(r.last_seq),
    completedSteps: (json(r.completed_steps) as string[] | null) ?? [],
    claimedBy: r.claimed_by ?? null,
    attempt: Number(r.attempt),
    error: details?.error?.message ?? null,
  };
}

const PROJECTS_SQL = 'select id, status, host_count, last_seq, completed_steps, claimed_by, attempt, details from projects order by id';
const EVENTS_SQL = 'select project_id, seq, kind, status, message from provision_events order by project_id, seq';
const HOSTS_SQL = 'select id, ip_address, status, project_id from workload_pool order by id';

/** A plain connection to the data the server processes share (they may be running). */
export async function openDbView(db: DbTarget): Promise<DbView> {
  const toEvent = (r: any): EventRow => ({ projectId: Number(r.project_id), seq: Number(r.seq), kind: r.kind, status: r.status, message: r.message ?? null });
  const toHost = (r: any): HostRow => ({ id: Number(r.id), ipAddress: r.ip_address, status: r.status, projectId: r.project_id == null ? null : Number(r.project_id) });
  if (db.backend === 'sqlite') {
    const sqlite = new Database(db.sqlitePath, { fileMustExist: true });
    sqlite.pragma('busy_timeout = 5000');
    const all = (sql: string) => sqlite.prepare(sql).all() as any[];
    return {
      projects: async () => all(PROJECTS_SQL).map(toProject),
      events: async () => all(EVENTS_SQL).map(toEvent),
      hosts: async () => all(HOSTS_SQL).map(toHost),
      instances: async () => all('select id from runner_instances').map((r) => r.id),
      heartbeatAges: async () => new Map(),
      close: async () => {
        sqlite.close();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // An idle connection the server ends (57P01 when a database is dropped WITH (FORCE) or a
  // backend is terminated) is an 'error' event on the pool; unheard, it crashed the test worker
  // (CI, session 6). The next query takes a new connection, so it is only reported.
  pool.on('error', (err) => console.warn(`[db view] idle connection lost: ${err.message}`));
  const all = async (sql: string) => (await pool.query(sql)).rows as any[];
  return {
    projects: async () => (await all(PROJECTS_SQL)).map(toProject),
    events: async () => (await all(EVENTS_SQL)).map(toEvent),
    hosts: async () => (await all(HOSTS_SQL)).map(toHost),
    instances: async () => (await all('select id from runner_instances')).map((r) => r.id),
    heartbeatAges: async () =>
      new Map((await all(`select id, extract(epoch from (now() - heartbeat_at)) * 1000 as age from runner_instances`)).map((r) => [r.id as string, Number(r.age)])),
    close: () => pool.end(),
  };
}

/* ------------------------------------------------------------------------------------------ */
/* Accounting                                                                                  */
/* ------------------------------------------------------------------------------------------ */

export const RESUMED = /^Resumed by instance (\S+) after an interruption \((\d+) steps already done\)$/;
export const HANDED_BACK = /^Handed back by instance (\S+) \(shutting down\)/;
const LIVE = new Set(['PENDING', 'RUNNING', 'COMPLETED', 'DELETING']);

export interface Resume {
  instance: string;
  stepsDone: number;
}

export interface ProjectAccount {
  id: number;
  status: string;
  events: EventRow[];
  /** Resumes (takeovers) in the current attempt, in order. */
  resumes: Resume[];
  /** Instances that handed the project back (SIGTERM). */
  handedBackBy: string[];
}

export interface Accounting {
  projects: Map<number, ProjectAccount>;
  /** Every violated rule, one line each; empty when all holds. */
  problems: string[];
}

/**
 * Counts, from the stored rows, everything "nothing done twice, nothing lost, nothing leaked"
 * means for mock runs:
 * - a project's events are seq 1..last_seq without gap or duplicate;
 * - per attempt (split at "Retry #" logs): each mock step's log at most once, at most one
 *   'resources' event, at most one "Completed" log, exactly one RUNNING status event once the
 *   project ran (a takeover adds a "Resumed by instance" log, never a second RUNNING);
 * - a resume says how many steps were done, and that matches the step events before it;
 * - a COMPLETED project shows every step exactly once, in order, then resources and "Completed";
 * - a FAILED project says why;
 * - hosts: every held host belongs to a live project, each live project holds exactly its
 *   host_count, FAILED/CANCELLED projects hold none, and a free host has no project.
 */
export function account(projects: ProjectRow[], events: EventRow[], hosts: HostRow[]): Accounting {
  const problems: string[] = [];
  const byProject = new Map<number, EventRow[]>();
  for (const e of events) {
    const list = byProject.get(e.projectId) ?? [];
    list.push(e);
    byProject.set(e.projectId, list);
  }
  const stepLogs = new Map(MOCK_STEPS.map((s, i) => [s.log, i]));
  const accounts = new Map<number, ProjectAccount>();
  for (const p of projects) {
    const evs = byProject.get(p.id) ?? [];
    const seqs = evs.map((e) => e.seq);
    const expected = Array.from({ length: p.lastSeq }, (_, i) => i + 1);
    if (seqs.join(',') !== expected.join(',')) {
      problems.push(`project ${p.id}: event seqs are [${seqs.join(',')}], expected 1..${p.lastSeq}`);
    }
    // The current attempt starts after the last "Retry #" log.
    let start = 0;
    evs.forEach((e, i) => {
      if (e.kind === 'log' && e.message?.startsWith('Retry #')) start = i + 1;
    });
    const attempts: EventRow[][] = [];
    let from = 0;
    evs.forEach((e, i) => {
      if (e.kind === 'log' && e.message?.startsWith('Retry #')) {
        attempts.push(evs.slice(from, i + 1));
        from = i + 1;
      }
    });
    attempts.push(evs.slice(from));
    attempts.forEach((attempt, n) => {
      const where = `project ${p.id} attempt ${n + 1}`;
      const stepCounts = new Map<string, number>();
      let running = 0;
      let resources = 0;
      let completedLogs = 0;
      let done = 0;
      for (const e of attempt) {
        if (e.kind === 'status' && e.status === 'RUNNING') running++;
        if (e.kind === 'resources') {
          resources++;
          done++;
        }
        if (e.kind === 'log' && e.message !== null) {
          if (stepLogs.has(e.message)) {
            stepCounts.set(e.message, (stepCounts.get(e.message) ?? 0) + 1);
            done++;
          }
          if (e.message === COMPLETED_LOG) completedLogs++;
          const resumed = RESUMED.exec(e.message);
          if (resumed && Number(resumed[2]) !== done) {
            problems.push(`${where}: "${e.message}" but ${done} step events precede it`);
          }
        }
      }
      for (const [log, count] of stepCounts) if (count > 1) problems.push(`${where}: step "${log}" logged ${count} times`);
      if (resources > 1) problems.push(`${where}: ${resources} resources events`);
      if (completedLogs > 1) problems.push(`${where}: "${COMPLETED_LOG}" logged ${completedLogs} times`);
      const ran = attempt.some((e) => e.kind === 'status' && e.status === 'RUNNING') || stepCounts.size > 0;
      if (ran && running !== 1) problems.push(`${where}: ${running} RUNNING status events (expected exactly 1 per claim)`);
    });

    const current = evs.slice(start);
    const resumes: Resume[] = [];
    const handedBackBy: string[] = [];
    for (const e of current) {
      const r = e.kind === 'log' && e.message ? RESUMED.exec(e.message) : null;
      if (r) resumes.push({ instance: r[1], stepsDone: Number(r[2]) });
      const h = e.kind === 'log' && e.message ? HANDED_BACK.exec(e.message) : null;
      if (h) handedBackBy.push(h[1]);
    }
    if (p.status === 'COMPLETED') {
      const order = current.filter((e) => (e.kind === 'log' && e.message !== null && stepLogs.has(e.message)) || e.kind === 'resources' || (e.kind === 'log' && e.message === COMPLETED_LOG));
      const got = order.map((e) => (e.kind === 'resources' ? 'resources' : e.message));
      const want = [...MOCK_STEPS.map((s) => s.log), 'resources', COMPLETED_LOG];
      if (got.join(' | ') !== want.join(' | ')) problems.push(`project ${p.id} COMPLETED with steps [${got.join(' | ')}]`);
      const last = evs.at(-1);
      if (!last || last.kind !== 'status' || last.status !== 'COMPLETED') problems.push(`project ${p.id}: last event is not the COMPLETED status`);
    }
    if (p.status === 'FAILED' && !p.error) problems.push(`project ${p.id} FAILED without a reason`);
    accounts.set(p.id, { id: p.id, status: p.status, events: evs, resumes, handedBackBy });
  }
  for (const id of byProject.keys()) if (!accounts.has(id)) problems.push(`events of project ${id}, which does not exist`);

  // Hosts.
  const held = new Map<number, HostRow[]>();
  const ips = new Set<string>();
  for (const h of hosts) {
    if (ips.has(h.ipAddress)) problems.push(`host ${h.ipAddress} appears twice`);
    ips.add(h.ipAddress);
    if (h.projectId === null) {
      if (h.status !== 'available') problems.push(`host ${h.id} is ${h.status} without a project`);
      continue;
    }
    if (h.status === 'available') problems.push(`host ${h.id} is available but held by project ${h.projectId}`);
    held.set(h.projectId, [...(held.get(h.projectId) ?? []), h]);
  }
  const statusOf = new Map(projects.map((p) => [p.id, p]));
  for (const [projectId, rows] of held) {
    const p = statusOf.get(projectId);
    if (!p) problems.push(`${rows.length} hosts held by project ${projectId}, which does not exist (leaked)`);
    else if (!LIVE.has(p.status)) problems.push(`${rows.length} hosts held by project ${projectId}, which is ${p.status} (leaked)`);
  }
  for (const p of projects) {
    const n = held.get(p.id)?.length ?? 0;
    if (LIVE.has(p.status) && n !== p.hostCount) problems.push(`project ${p.id} (${p.status}) holds ${n} hosts, its order needs ${p.hostCount}`);
    if (p.status === 'COMPLETED' && held.get(p.id)?.some((h) => h.status !== 'assigned')) problems.push(`project ${p.id} COMPLETED but its hosts are not all assigned`);
  }
  return { projects: accounts, problems };
}

/** Reads everything and runs {@link account}. */
export async function accountFor(db: DbView): Promise<Accounting & { rows: ProjectRow[] }> {
  const [rows, events, hosts] = [await db.projects(), await db.events(), await db.hosts()];
  return { ...account(rows, events, hosts), rows };
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
