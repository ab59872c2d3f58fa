/**
 * 3. Subscriptions. N graphql-ws subscribers, each on its own project (the console's
 * ProvisionStatus subscription, one WebSocket each, spread over several client processes):
 * the server's RSS with them idle; then a fan-out — events published inside the server at
 * `fanoutRate` per second, round-robin over the projects — with delivered events per second,
 * publish-to-receive latency and the server's CPU per event. The same against a raw `ws`
 * server that sends the same bytes. Done at each subscriber count; per-event CPU must stay flat
 * from the smallest to the largest count.
 * Budgets: RSS ≤ 1 GiB at the largest count; ≥ 5,000 delivered events/s; p99 ≤ 100 ms;
 * per-event CPU at the largest count ≤ 1.25 × at the smallest.
 */
import type { BenchContext } from '../lib/context.js';
import { connect, poolFile, seedProjects } from '../lib/db.js';
import type { FanoutResult } from '../lib/fanout.mjs';
import { BenchChild } from '../lib/ipc.js';
import { benchUserToken, ProductServer, USER_NAME } from '../lib/servers.js';
import { fmt, median, sleep, summarize } from '../lib/stats.js';

const PER_PROCESS = 2500;
const RSS_BUDGET_BYTES = 1024 * 2 ** 20;

interface Measure {
  subscribers: number;
  rssBytes: number;
  connectMs: number;
  deliveredPerSec: number;
  p50: number;
  p99: number;
  max: number;
  /** Net server CPU per published event, µs (CPU while publishing minus CPU of an idle window). */
  cpuPerEventMicros: number;
  grossCpuPerEventMicros: number;
  lost: number;
}

interface CollectResult {
  received: number;
  receivedByEnd: number;
  latencies: Float64Array;
  errors: number;
  unexpectedEnds: number;
  errorSamples: string[];
}

interface ServerSide {
  name: string;
  url: string;
  call<T>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
}

/** Client processes, each holding up to PER_PROCESS sockets; grows as counts grow. */
class Fleet {
  private readonly processes: { child: BenchChild; count: number }[] = [];
  private assigned = 0;

  constructor(private readonly label: string) {}

  get size(): number {
    return this.assigned;
  }

  async grow(mode: 'graphql' | 'raw', url: string, token: string, projectIds: number[]): Promise<number> {
    const started = performance.now();
    const jobs: Promise<void>[] = [];
    let offset = 0;
    while (offset < projectIds.length) {
      let proc = this.processes.find((p) => p.count < PER_PROCESS);
      if (!proc) {
        proc = { child: new BenchChild({ name: `${this.label}-${this.processes.length + 1}`, file: 'ws-fleet.ts', nodeFlags: ['--max-old-space-size=2048'] }), count: 0 };
        this.processes.push(proc);
        await proc.child.ready;
      }
      const take = Math.min(PER_PROCESS - proc.count, projectIds.length - offset);
      const ids = projectIds.slice(offset, offset + take);
      offset += take;
      proc.count += take;
      const child = proc.child;
      jobs.push(
        child
          .call<{ live: number; failed: number; failures: string[] }>('connect', { mode, url, token, projectIds: ids, concurrency: 64, timeoutMs: 120_000 + ids.length * 20 }, 300_000)
          .then((r) => {
            if (r.failed > 0) throw new Error(`${child.name}: ${r.failed} of ${ids.length} subscriptions failed: ${r.failures.join('; ')}`);
          }),
      );
    }
    await Promise.all(jobs);
    this.assigned += projectIds.length;
    return performance.now() - started;
  }

  all<T>(method: string, params: unknown = {}): Promise<T[]> {
    return Promise.all(this.processes.map((p) => p.child.call<T>(method, params)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.child.stop(5000)));
    this.processes.length = 0;
    this.assigned = 0;
  }
}

async function measure(ctx: BenchContext, server: ServerSide, fleet: Fleet, projectIds: number[], connectMs: number): Promise<Measure> {
  const { opts } = ctx;
  const n = projectIds.length;
  const subscribed = await server.call<number>('subscribers');
  if (subscribed !== n) throw new Error(`${server.name}: ${subscribed} subscriptions open, expected ${n}`);
  await sleep(500);
  await server.call('gc');
  await sleep(500);
  const { rss } = await server.call<{ rss: number }>('usage');
  // Warm-up (JIT, first allocations): a short fan-out, not counted.
  await server.call<FanoutResult>('fanout', { projectIds, ratePerSec: opts.fanoutRate, durationMs: opts.quick ? 500 : 1000 }, 600_000);
  await sleep(300);
  const rounds: Omit<Measure, 'subscribers' | 'rssBytes' | 'connectMs'>[] = [];
  for (let round = 0; round < (opts.quick ? 1 : opts.rounds); round++) {
    await fleet.all('reset');
    const f = await server.call<FanoutResult>('fanout', { projectIds, ratePerSec: opts.fanoutRate, durationMs: opts.fanoutSec * 1000, idleFirst: true, idleMs: opts.quick ? 500 : 1000 }, 600_000);
    // Let the last events arrive (up to 10 s), then collect.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = (await fleet.all<number>('received')).reduce((a, b) => a + b, 0);
      if (got >= f.published || Date.now() > deadline) break;
      await sleep(100);
    }
    const parts = await fleet.all<CollectResult>('collect', { publishEnd: f.endedAt });
    const errors = parts.reduce((a, p) => a + p.errors + p.unexpectedEnds, 0);
    if (errors) throw new Error(`${server.name}: ${errors} subscriber errors: ${parts.flatMap((p) => p.errorSamples).slice(0, 3).join('; ')}`);
    const received = parts.reduce((a, p) => a + p.received, 0);
    const receivedByEnd = parts.reduce((a, p) => a + p.receivedByEnd, 0);
    const latencies = new Float64Array(received);
    let k = 0;
    for (const p of parts) {
      latencies.set(p.latencies, k);
      k += p.latencies.length;
    }
    const s = summarize(latencies);
    const publishSec = (f.endedAt - f.startedAt) / 1000;
    const r = {
      deliveredPerSec: receivedByEnd / publishSec,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      cpuPerEventMicros: Math.max(0, f.cpuMicros - f.idleCpuMicros) / f.published,
      grossCpuPerEventMicros: f.cpuMicros / f.published,
      lost: f.published - received,
    };
    ctx.log(
      `    ${server.name} @${n}: published ${f.published} in ${publishSec.toFixed(2)} s, delivered ${fmt(r.deliveredPerSec)}/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, max ${fmt(r.max)} ms, CPU ${fmt(r.cpuPerEventMicros)} µs/event net (${fmt(r.grossCpuPerEventMicros)} gross), lost ${r.lost}`,
    );
    if (r.lost > 0) throw new Error(`${server.name}: ${r.lost} of ${f.published} events never arrived (within 10 s)`);
    rounds.push(r);
  }
  const med = (key: keyof (typeof rounds)[number]) => median(rounds.map((r) => r[key]));
  return {
    subscribers: n,
    rssBytes: rss,
    connectMs,
    deliveredPerSec: med('deliveredPerSec'),
    p50: med('p50'),
    p99: med('p99'),
    max: med('max'),
    cpuPerEventMicros: med('cpuPerEventMicros'),
    grossCpuPerEventMicros: med('grossCpuPerEventMicros'),
    lost: med('lost'),
  };
}

/** Runs `counts` on one server with one fleet, growing the fleet from count to count. */
async function series(ctx: BenchContext, server: ServerSide, mode: 'graphql' | 'raw', token: string, allIds: number[]): Promise<Measure[]> {
  const fleet = new Fleet(`${mode}-fleet`);
  const results: Measure[] = [];
  try {
    for (const n of ctx.opts.subscribers) {
      const ms = await fleet.grow(mode, server.url, token, allIds.slice(fleet.size, n));
      ctx.log(`    ${server.name}: ${n} subscribers live (${fmt(ms / 1000)} s to add ${n - (results.at(-1)?.subscribers ?? 0)})`);
      results.push(await measure(ctx, server, fleet, allIds.slice(0, n), ms));
    }
  } finally {
    await fleet.stop();
  }
  return results;
}

const mb = (bytes: number) => `${fmt(bytes / 2 ** 20)} MB`;

export async function subscriptions(ctx: BenchContext): Promise<void> {
  const { opts } = ctx;
  const counts = opts.subscribers;
  const top = counts[counts.length - 1];
  const db = await ctx.dbs.fresh('sqlite', 'subs');
  const raw = await connect(db);
  let ids: number[];
  try {
    const seeded = await seedProjects(raw, { count: top, owners: [USER_NAME], withEvent: true });
    ids = Array.from({ length: top }, (_, i) => seeded.firstId + i);
  } finally {
    await raw.close();
  }

  // The product.
  let product: Measure[];
  const server = await ProductServer.start('product-subs', opts.settings, { db, poolPath: ctx.dbs.path('pool-subs.json'), poolHosts: poolFile(10) });
  try {
    const token = await benchUserToken(server.url);
    product = await series(ctx, { name: 'product', url: server.url, call: (m, p, t) => server.child.call(m, p, t) }, 'graphql', token, ids);
  } finally {
    await server.stop();
  }

  // The raw ws baseline.
  let baseline: Measure[];
  const rawServer = new BenchChild<{ url: string }>({ name: 'raw-ws', file: 'raw-ws-server.ts', nodeFlags: ['--expose-gc'] });
  try {
    const { url } = await rawServer.ready;
    baseline = await series(ctx, { name: 'raw ws', url, call: (m, p, t) => rawServer.call(m, p, t) }, 'raw', '', ids);
  } finally {
    await rawServer.stop();
    await ctx.dbs.drop(db);
  }

  ctx.detail('3.product', product);
  ctx.detail('3.baseline', baseline);
  const p = product[product.length - 1];
  const b = baseline[baseline.length - 1];
  ctx.row({
    bench: 3,
    name: `server RSS, ${top} idle subscribers`,
    figure: mb(p.rssBytes),
    baseline: mb(b.rssBytes),
    ratio: p.rssBytes / b.rssBytes,
    budget: '≤ 1,024 MB',
    pass: p.rssBytes <= RSS_BUDGET_BYTES,
  });
  for (const [i, n] of counts.entries()) {
    const pi = product[i];
    const bi = baseline[i];
    ctx.row({
      bench: 3,
      name: `delivered events/s @${n} subs (offered ${fmt(opts.fanoutRate)}/s)`,
      figure: `${fmt(pi.deliveredPerSec)}/s`,
      baseline: `${fmt(bi.deliveredPerSec)}/s`,
      ratio: pi.deliveredPerSec / bi.deliveredPerSec,
      budget: '≥ 5,000/s',
      pass: pi.deliveredPerSec >= 5000,
    });
    ctx.row({
      bench: 3,
      name: `publish→receive p99 @${n} subs`,
      figure: `${fmt(pi.p99)} ms (p50 ${fmt(pi.p50)})`,
      baseline: `${fmt(bi.p99)} ms (p50 ${fmt(bi.p50)})`,
      ratio: pi.p99 / bi.p99,
      budget: '≤ 100 ms',
      pass: pi.p99 <= 100,
    });
    ctx.row({
      bench: 3,
      name: `server CPU per event @${n} subs`,
      figure: `${fmt(pi.cpuPerEventMicros)} µs`,
      baseline: `${fmt(bi.cpuPerEventMicros)} µs`,
      ratio: pi.cpuPerEventMicros / bi.cpuPerEventMicros,
      budget: 'report',
      pass: null,
    });
  }
  const first = product[0];
  const flat = p.cpuPerEventMicros / first.cpuPerEventMicros;
  ctx.row({
    bench: 3,
    name: `per-event CPU, ${top} vs ${first.subscribers} subs (product)`,
    figure: `${fmt(p.cpuPerEventMicros)} µs @${top}`,
    baseline: `${fmt(first.cpuPerEventMicros)} µs @${first.subscribers}`,
    ratio: flat,
    budget: '≤ 1.25×',
    pass: flat <= 1.25,
    note: `raw ws: ${fmt(b.cpuPerEventMicros)} µs @${top} vs ${fmt(baseline[0].cpuPerEventMicros)} µs @${first.subscribers}`,
  });
}
