/**
 * The load generator, in its own process: autocannon runs (throughput and latency under load),
 * sequential request latency (one request at a time on a kept-alive connection), bursts of
 * concurrent requests, and raw-driver timings (SQL page queries, batched event inserts) for
 * the baselines that need no HTTP server.
 */
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { connect, type DbTarget, type RawDb } from '../lib/db.js';
import { serveParent } from '../lib/child.mjs';
import { summarize, type LatencySummary } from '../lib/stats.js';

const require = createRequire(import.meta.url);

interface AutocannonHistogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface AutocannonResult {
  requests: AutocannonHistogram & { total: number };
  latency: AutocannonHistogram;
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => unknown;
const autocannon = require('autocannon') as Autocannon;

export interface HttpTarget {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** Completed 2xx requests per second over the run. */
  rps: number;
  total: number;
  ok: number;
  durationSec: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  statusCodes: Record<string, number>;
}

function runAutocannon(p: HttpTarget & { connections: number; durationSec?: number; amount?: number; expectBody?: string }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: p.url,
        method: p.method ?? 'GET',
        headers: p.headers,
        body: p.body,
        connections: p.connections,
        pipelining: 1,
        duration: p.durationSec,
        amount: p.amount,
        expectBody: p.expectBody,
        timeout: 30,
      },
      (err, r) => {
        if (err) return reject(err);
        const ok = r['2xx'];
        const statusCodes: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = Number(count);
        resolve({
          rps: ok / r.duration,
          total: r.requests.total,
          ok,
          durationSec: r.duration,
          p50: r.latency.p50,
          p99: r.latency.p99,
          max: r.latency.max,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          mismatches: r.mismatches,
          statusCodes,
        });
      },
    );
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

function once(t: HttpTarget): Promise<{ status: number; body: string; ms: number; bytes: number; encoding: string | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const u = new URL(t.url);
    const body = t.body === undefined ? undefined : Buffer.from(t.body);
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: t.method ?? 'GET',
        headers: { ...t.headers, ...(body ? { 'content-length': body.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const encoding = typeof res.headers['content-encoding'] === 'string' ? res.headers['content-encoding'] : null;
          resolve({ status: res.statusCode ?? 0, body: raw.toString('utf8'), ms: performance.now() - started, bytes: raw.length, encoding });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function checkResponse(r: { status: number; body: string }, what: string): void {
  if (r.status < 200 || r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  if (r.body.startsWith('{"errors"') || r.body.includes('"errors":[')) throw new Error(`${what}: ${r.body.slice(0, 300)}`);
}

/** One request at a time: the latency a single user sees, without queueing behind others. */
async function sequentialLatency(p: HttpTarget & { count: number; warmup: number }): Promise<LatencySummary> {
  for (let i = 0; i < p.warmup; i++) checkResponse(await once(p), p.url);
  const times: number[] = [];
  for (let i = 0; i < p.count; i++) {
    const r = await once(p);
    checkResponse(r, p.url);
    times.push(r.ms);
  }
  return summarize(times);
}

/** `count` requests with at most `concurrency` in flight; bodies may differ per request. */
async function burst(p: HttpTarget & { count: number; concurrency: number; bodies?: string[] }): Promise<{ ms: number; statuses: Record<string, number>; failures: string[] }> {
  const started = performance.now();
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < p.count) {
      const i = next++;
      try {
        const r = await once({ ...p, body: p.bodies ? p.bodies[i % p.bodies.length] : p.body });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status >= 300 && failures.length < 5) failures.push(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (err) {
        statuses.error = (statuses.error ?? 0) + 1;
        if (failures.length < 5) failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, p.count) }, worker));
  return { ms: performance.now() - started, statuses, failures };
}

// --- raw driver timings --------------------------------------------------------------------------

const connections = new Map<string, Promise<RawDb>>();
function dbOf(target: DbTarget): Promise<RawDb> {
  let c = connections.get(target.location);
  if (!c) {
    c = connect(target);
    connections.set(target.location, c);
  }
  return c;
}

export interface SqlQuery {
  name: string;
  sql: string;
  params: unknown[];
  /** At most this many repetitions (for queries that scan, slow at large sizes). */
  maxReps?: number;
}

/** Each query `reps` times (after `warmup`), interleaved; time to run it and fetch every row, in ms. */
async function sqlTiming(p: { target: DbTarget; queries: SqlQuery[]; reps: number; warmup: number }): Promise<Record<string, LatencySummary & { rows: number }>> {
  const db = await dbOf(p.target);
  const times = new Map<string, number[]>(p.queries.map((q) => [q.name, []]));
  const rows = new Map<string, number>();
  for (let i = 0; i < p.warmup + p.reps; i++) {
    for (const q of p.queries) {
      if (q.maxReps !== undefined && i >= p.warmup + q.maxReps) continue;
      const started = performance.now();
      const result = await db.query(q.sql, q.params);
      const ms = performance.now() - started;
      rows.set(q.name, result.length);
      if (i >= p.warmup) times.get(q.name)!.push(ms);
    }
  }
  return Object.fromEntries(p.queries.map((q) => [q.name, { ...summarize(times.get(q.name)!), rows: rows.get(q.name) ?? 0 }]));
}

/**
 * The baseline of the runner benchmark: the same number of provision_events rows as the runs
 * wrote, inserted with the raw driver in multi-row INSERTs of `batch` rows, one transaction each.
 */
async function rawEventInserts(p: { target: DbTarget; projects: number; eventsPerProject: number; batch: number }): Promise<{ ms: number; events: number }> {
  const db = await dbOf(p.target);
  const total = p.projects * p.eventsPerProject;
  const sqlite = db.backend === 'sqlite';
  const started = performance.now();
  let written = 0;
  while (written < total) {
    const n = Math.min(p.batch, total - written);
    const params: unknown[] = [];
    const at = sqlite ? Date.now() : new Date().toISOString();
    for (let k = 0; k < n; k++) {
      const i = written + k;
      params.push(1 + Math.floor(i / p.eventsPerProject), 1 + (i % p.eventsPerProject), at, 'log', 'RUNNING', 'Creating Web tier...', null);
    }
    const sql = `insert into provision_events (project_id, seq, at, kind, status, message, data) values ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
    await db.exec('begin');
    await db.run(sql, params);
    await db.exec('commit');
    written += n;
  }
  return { ms: performance.now() - started, events: total };
}

serveParent(
  {
    autocannon: runAutocannon,
    once: async (t: HttpTarget) => {
      const r = await once(t);
      return { status: r.status, body: r.body, bytes: r.bytes, encoding: r.encoding };
    },
    latency: sequentialLatency,
    burst,
    sqlTiming,
    rawEventInserts,
    /** Closes the connections to a database (before it is dropped). */
    release: async ({ location }: { location: string }) => {
      const c = connections.get(location);
      connections.delete(location);
      if (c) await (await c).close().catch(() => undefined);
      return true;
    },
  },
  async () => {
    agent.destroy();
    for (const c of connections.values()) await (await c).close().catch(() => undefined);
  },
).ready({ pid: process.pid });
