/**
 * 1. HTTP read path: GraphQL `project(id)` (the console's HistoryProject) and REST
 * `GET /api/history?limit=20`, against node:http + the raw driver running the same SELECT and
 * answering the same JSON (checked before measuring). Throughput under autocannon load.
 * Budgets: GraphQL ≥ 0.4 × baseline (issue 17), REST ≥ 0.8 ×; p99 reported. Also reported: what
 * compression costs the history (the product asked with and without `Accept-Encoding: br, gzip`;
 * the bytes on the wire and the throughput ratio), and each server's CPU time per answered request
 * in microseconds (the fixed cost per request, which a busy or a fast machine does not hide the way
 * it changes throughput), and the time garbage collection paused each per request.
 */
import type { BenchContext } from '../lib/context.js';
import { ratioBudget } from '../lib/context.js';
import type { LoadResult } from '../children/loadgen.js';
import { compareThroughput, rpsCell, type LoadSpec, type Side } from '../lib/compare.js';
import { connect, poolFile, seedProjects, type Backend } from '../lib/db.js';
import { HISTORY_PROJECT, assertSameJson } from '../lib/operations.js';
import { benchUserToken, OTHER_OWNER, ProductServer, startRawHttp, USER_NAME } from '../lib/servers.js';
import { fmt, median } from '../lib/stats.js';
import type { Usage } from '../lib/child.mjs';

const SEEDED = 1000;

export async function readPath(ctx: BenchContext, backend: Backend): Promise<void> {
  const productDb = await ctx.dbs.fresh(backend, 'read');
  const baselineDb = await ctx.dbs.fresh(backend, 'readraw');
  // The same rows in both databases (same generator, same ids).
  let projectId = 0;
  for (const target of [productDb, baselineDb]) {
    const db = await connect(target);
    try {
      await seedProjects(db, { count: SEEDED, owners: [USER_NAME, OTHER_OWNER] });
      if (backend === 'postgresql') await db.exec('analyze');
      const [row] = await db.query<{ id: number }>(`select id from projects where owner = ? and status = 'COMPLETED' order by id desc limit 1`, [USER_NAME]);
      projectId = row.id;
    } finally {
      await db.close();
    }
  }
  const [product, baseline] = await Promise.all([
    ProductServer.start(`product-read-${backend}`, ctx.opts.settings, { db: productDb, poolPath: ctx.dbs.path(`pool-read-${backend}.json`), poolHosts: poolFile(10) }),
    startRawHttp(`raw-read-${backend}`, baselineDb),
  ]);
  try {
    const token = await benchUserToken(product.url);
    const json = { 'content-type': 'application/json' };
    const graphqlBody = JSON.stringify({ operationName: 'HistoryProject', query: HISTORY_PROJECT, variables: { id: projectId } });
    const targets: Record<'graphql' | 'rest', Record<'product' | 'baseline', LoadSpec>> = {
      graphql: {
        product: { url: `${product.url}/graphql`, method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: graphqlBody },
        baseline: { url: `${baseline.url}/graphql`, method: 'POST', headers: json, body: graphqlBody },
      },
      rest: {
        product: { url: `${product.url}/api/history?limit=20`, headers: { authorization: `Bearer ${token}` } },
        baseline: { url: `${baseline.url}/api/history?limit=20` },
      },
    };
    for (const [kind, label, min] of [
      ['graphql', 'GraphQL project(id)', 0.4],
      ['rest', 'REST GET /api/history (20 rows)', 0.8],
    ] as const) {
      const pair = targets[kind];
      // Same answer from both, and that exact answer on every request under load.
      const [a, b] = await Promise.all([ctx.loadgen.call<{ status: number; body: string }>('once', pair.product), ctx.loadgen.call<{ status: number; body: string }>('once', pair.baseline)]);
      if (a.status !== 200 || b.status !== 200) throw new Error(`${label}: HTTP ${a.status} / ${b.status}: ${a.body.slice(0, 200)} ${b.body.slice(0, 200)}`);
      assertSameJson(label, a.body, b.body);
      if (kind === 'rest' && JSON.parse(a.body).length !== 20) throw new Error(`${label}: expected 20 rows`);
      ctx.log(`  ${label} [${backend}]: ${a.body.length} bytes per answer`);
      const cpu = cpuPerRequest({ product: () => product.usage(), baseline: () => baseline.call<Usage>('usage') });
      const c = await compareThroughput(ctx, `${label} [${backend}]`, { product: { ...pair.product, expectBody: a.body }, baseline: { ...pair.baseline, expectBody: b.body } }, cpu.hooks);
      ctx.row({
        bench: 1,
        name: `${label} [${backend}]`,
        figure: rpsCell(c.productRps, c.productP99),
        baseline: rpsCell(c.baselineRps, c.baselineP99),
        ratio: c.ratio,
        ...ratioBudget(c.ratio, { min }),
      });
      const cpuMicros = { product: median(cpu.perRequest.product), baseline: median(cpu.perRequest.baseline) };
      ctx.log(`  ${label} [${backend}]: server CPU per request ${fmt(cpuMicros.product)} µs (baseline ${fmt(cpuMicros.baseline)} µs)`);
      ctx.row({
        bench: 1,
        name: `${label} [${backend}]: server CPU per request`,
        figure: `${fmt(cpuMicros.product)} µs`,
        baseline: `${fmt(cpuMicros.baseline)} µs`,
        ratio: cpuMicros.baseline / cpuMicros.product,
        budget: 'report',
        pass: null,
      });
      const gcMicros = { product: median(cpu.gcPerRequest.product), baseline: median(cpu.gcPerRequest.baseline) };
      ctx.row({
        bench: 1,
        name: `${label} [${backend}]: garbage-collection pause per request`,
        figure: `${fmt(gcMicros.product)} µs`,
        baseline: `${fmt(gcMicros.baseline)} µs`,
        ratio: gcMicros.baseline / gcMicros.product,
        budget: 'report',
        pass: null,
      });
      ctx.detail(`1.${kind}.${backend}`, { ...c, cpuMicrosPerRequest: cpu.perRequest, gcMicrosPerRequest: cpu.gcPerRequest });
    }
    // The history compressed (as browsers ask for it) against the same product answering plain.
    const compressed = { ...targets.rest.product, headers: { ...targets.rest.product.headers, 'accept-encoding': 'br, gzip' } };
    const packed = await ctx.loadgen.call<{ status: number; bytes: number; encoding: string | null }>('once', compressed);
    const plain = await ctx.loadgen.call<{ status: number; bytes: number }>('once', targets.rest.product);
    if (packed.status !== 200 || packed.encoding !== 'br') throw new Error(`REST history with Accept-Encoding: HTTP ${packed.status}, Content-Encoding ${packed.encoding}`);
    const cost = await compareThroughput(ctx, `REST history compressed vs plain [${backend}]`, { product: compressed, baseline: targets.rest.product });
    ctx.row({
      bench: 1,
      name: `REST history with Accept-Encoding: br, gzip vs without [${backend}]`,
      figure: `${rpsCell(cost.productRps, cost.productP99)}, ${packed.bytes} bytes (br)`,
      baseline: `${rpsCell(cost.baselineRps, cost.baselineP99)}, ${plain.bytes} bytes`,
      ratio: cost.ratio,
      budget: 'report',
      pass: null,
    });
  } finally {
    await Promise.all([product.stop(), baseline.stop()]);
    await ctx.dbs.drop(productDb);
    await ctx.dbs.drop(baselineDb);
  }
}

/**
 * Each server's CPU time and garbage-collection pause per answered request, over each measured
 * run (warm-ups are left out): process.cpuUsage() and the gc entries of perf_hooks, read in the
 * server before and after the run.
 */
function cpuPerRequest(usage: Record<Side, () => Promise<Usage>>) {
  const perRequest: Record<Side, number[]> = { product: [], baseline: [] };
  const gcPerRequest: Record<Side, number[]> = { product: [], baseline: [] };
  let before: Usage | undefined;
  return {
    perRequest,
    gcPerRequest,
    hooks: {
      beforeRun: async (side: Side) => {
        before = await usage[side]();
      },
      afterRun: async (side: Side, result: LoadResult) => {
        if (before === undefined) return;
        const after = await usage[side]();
        perRequest[side].push((after.cpuMicros - before.cpuMicros) / result.ok);
        gcPerRequest[side].push((after.gcMinorMicros + after.gcMajorMicros - before.gcMinorMicros - before.gcMajorMicros) / result.ok);
        before = undefined;
      },
    },
  };
}
