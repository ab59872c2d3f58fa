/**
 * 2. Create path: `POST /api/provision` and the `provision` mutation, against node:http + a
 * raw INSERT of the same project row and its two first events in one transaction, on SQLite
 * and on PostgreSQL. The product takes a host from the workload pool per order (409 when the
 * pool is empty), so its pool is sized for a round and both databases are reset between
 * rounds. The runner is parked (one job, a step delay of 10 minutes), so what is measured is
 * the order itself, not the background run (benchmark 5 measures that).
 * Budget ≥ 0.33 × baseline throughput, both backends.
 */
import type { LoadResult } from '../children/loadgen.js';
import type { BenchContext } from '../lib/context.js';
import { ratioBudget } from '../lib/context.js';
import { compareThroughput, rpsCell, type LoadSpec, type Side } from '../lib/compare.js';
import { connect, poolFile, resetProvisioning, type Backend, type RawDb } from '../lib/db.js';
import { ORDER, PROVISION } from '../lib/operations.js';
import { benchUserToken, ProductServer, startRawHttp } from '../lib/servers.js';

export async function createPath(ctx: BenchContext, backend: Backend): Promise<void> {
  const { opts } = ctx;
  // Enough hosts for the fastest round we expect (the pool is refilled between rounds): the
  // product passed 2,500 orders/s on SQLite once its journal used group commit.
  const poolSize = Math.max(2000, Math.ceil(Math.max(opts.durationSec, opts.warmupSec) * 8000));
  const productDb = await ctx.dbs.fresh(backend, 'create');
  const baselineDb = await ctx.dbs.fresh(backend, 'createraw');
  const [product, baseline] = await Promise.all([
    ProductServer.start(`product-create-${backend}`, opts.settings, {
      db: productDb,
      poolPath: ctx.dbs.path(`pool-create-${backend}.json`),
      poolHosts: poolFile(poolSize),
      env: { RUNNER_CONCURRENCY: '1', MOCK_STEP_DELAY_MS: '600000' },
    }),
    startRawHttp(`raw-create-${backend}`, baselineDb),
  ]);
  const dbs: Record<Side, RawDb> = { product: await connect(productDb), baseline: await connect(baselineDb) };
  try {
    const token = await benchUserToken(product.url);
    const json = { 'content-type': 'application/json' };
    const restBody = JSON.stringify(ORDER);
    const graphqlBody = JSON.stringify({ operationName: 'Provision', query: PROVISION, variables: { input: ORDER } });
    const targets: Record<'rest' | 'graphql', Record<Side, LoadSpec>> = {
      rest: {
        product: { url: `${product.url}/api/provision`, method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: restBody },
        baseline: { url: `${baseline.url}/api/provision`, method: 'POST', headers: json, body: restBody },
      },
      graphql: {
        product: { url: `${product.url}/graphql`, method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: graphqlBody },
        baseline: { url: `${baseline.url}/graphql`, method: 'POST', headers: json, body: graphqlBody },
      },
    };
    const reset = async () => {
      await resetProvisioning(dbs.product);
      await resetProvisioning(dbs.baseline);
    };
    // Every 2xx answer must be a stored order: count the rows each run added.
    let before: Record<Side, number> = { product: 0, baseline: 0 };
    const count = async (side: Side) => Number((await dbs[side].query<{ n: number }>('select count(*) as n from projects'))[0].n);
    const afterRun = async (side: Side, r: LoadResult) => {
      const now = await count(side);
      const added = now - before[side];
      before[side] = now;
      // Requests still in flight when a run stops complete unanswered, so a few more rows than 2xx answers is fine.
      if (added < r.ok || added > r.ok + 3 * opts.connections) throw new Error(`${side}: ${r.ok} orders answered 2xx but ${added} projects were stored`);
      if (side === 'product') {
        const events = Number((await dbs.product.query<{ n: number }>('select count(*) as n from provision_events'))[0].n);
        if (events < 2 * now) throw new Error(`product: ${now} projects but only ${events} events`);
      }
    };
    for (const [kind, label] of [
      ['rest', 'REST POST /api/provision'],
      ['graphql', 'GraphQL provision'],
    ] as const) {
      const pair = targets[kind];
      // One order each first: both must succeed (and the product's answer must be a real project).
      for (const side of ['product', 'baseline'] as Side[]) {
        const r = await ctx.loadgen.call<{ status: number; body: string }>('once', pair[side]);
        if (r.status !== 200 || r.body.includes('"errors"')) throw new Error(`${label} (${side}): HTTP ${r.status} ${r.body.slice(0, 300)}`);
      }
      await reset();
      before = { product: 0, baseline: 0 };
      const c = await compareThroughput(ctx, `${label} [${backend}]`, pair, {
        beforeRound: async () => {
          await reset();
          before = { product: 0, baseline: 0 };
        },
        afterRun,
      });
      ctx.row({
        bench: 2,
        name: `${label} [${backend}]`,
        figure: rpsCell(c.productRps, c.productP99),
        baseline: rpsCell(c.baselineRps, c.baselineP99),
        ratio: c.ratio,
        ...ratioBudget(c.ratio, { min: 0.33 }),
      });
      ctx.detail(`2.${kind}.${backend}`, c);
    }
  } finally {
    await dbs.product.close().catch(() => undefined);
    await dbs.baseline.close().catch(() => undefined);
    await Promise.all([product.stop(), baseline.stop()]);
    await ctx.dbs.drop(productDb);
    await ctx.dbs.drop(baselineDb);
  }
}
