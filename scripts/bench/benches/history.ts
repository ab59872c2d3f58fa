/**
 * 4. History at scale. The projects table grows through the sizes (e.g. 10k → 100k → 1M rows,
 * seeded with the raw driver; half of them the benchmark user's), and at each size:
 *
 * - SQL (raw driver, in the load-generator process): the keyset page the product runs, first
 *   and deep (90 % down the user's history), and the OFFSET query for the same deep page as
 *   the control; plus two other queries the product runs on this table on every order
 *   (portal usage, the dispatcher's claim), as evidence.
 * - HTTP, one request at a time: the console's HistoryPage from the product (GraphQL), and the
 *   same page from node:http + raw driver on the same database (the "raw SQL page").
 * - The create path's latency (POST /api/provision, one at a time), reported.
 *
 * Budgets: keyset page at the largest size ≤ 1.2 × at the smallest, first and deep page, SQL
 * and GraphQL alike; GraphQL page ≤ 3 × the raw page.
 */
import type { BenchContext } from '../lib/context.js';
import { ratioBudget } from '../lib/context.js';
import { connect, poolFile, seedProjects, type Backend, type RawDb } from '../lib/db.js';
import { HISTORY_PAGE, ORDER, assertSameJson, cursorOf } from '../lib/operations.js';
import { benchUserToken, OTHER_OWNER, ProductServer, startRawHttp, USER_NAME } from '../lib/servers.js';
import { fmt, fmtMs, median, type LatencySummary } from '../lib/stats.js';

interface SizeResult {
  size: number;
  seedMs: number;
  deepOffset: number;
  sql: Record<string, number>;
  graphqlFirst: number;
  graphqlDeep: number;
  rawFirst: number;
  rawDeep: number;
  graphqlFirstP99: number;
  graphqlDeepP99: number;
  createMs: number;
}

const short = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

export async function historyAtScale(ctx: BenchContext, backend: Backend): Promise<void> {
  const { opts } = ctx;
  const sizes = [...opts.sizes].sort((a, b) => a - b);
  const target = await ctx.dbs.fresh(backend, 'scale');
  const db: RawDb = await connect(target);
  const creates = opts.quick ? 10 : 30;
  let product: ProductServer | undefined;
  let baseline: Awaited<ReturnType<typeof startRawHttp>> | undefined;
  const results: SizeResult[] = [];
  try {
    product = await ProductServer.start(`product-scale-${backend}`, opts.settings, {
      db: target,
      poolPath: ctx.dbs.path(`pool-scale-${backend}.json`),
      poolHosts: poolFile(creates * sizes.length + 10),
      env: { RUNNER_CONCURRENCY: '1', MOCK_STEP_DELAY_MS: '600000' },
    });
    baseline = await startRawHttp(`raw-scale-${backend}`, target);
    const token = await benchUserToken(product.url);
    const json = { 'content-type': 'application/json' };
    const auth = { ...json, authorization: `Bearer ${token}` };
    let seededRows = 0;
    for (const size of sizes) {
      const seeded = await seedProjects(db, { count: size - seededRows, owners: [USER_NAME, OTHER_OWNER], startIndex: seededRows });
      seededRows = size;
      if (backend === 'postgresql') await db.exec('vacuum analyze projects');
      const [{ n: userRows }] = await db.query<{ n: number }>('select count(*) as n from projects where owner = ?', [USER_NAME]);
      const deepOffset = Math.floor(Number(userRows) * 0.9);
      const [{ id: cursorId }] = await db.query<{ id: number }>('select id from projects where owner = ? order by id desc limit 1 offset ?', [USER_NAME, deepOffset - 1]);
      ctx.log(`  ${short(size)} projects [${backend}]: seeded ${fmt(size - (results.at(-1)?.size ?? 0))} rows in ${fmt(seeded.ms / 1000)} s; deep page = ${fmt(deepOffset)} rows down`);

      // Product and baseline must answer the same page.
      const pageBody = (after?: string) => JSON.stringify({ operationName: 'HistoryPage', query: HISTORY_PAGE, variables: after ? { first: 20, after } : { first: 20 } });
      const firstBody = pageBody();
      const deepBody = pageBody(cursorOf(cursorId));
      for (const [what, body] of [
        ['first page', firstBody],
        ['deep page', deepBody],
      ] as const) {
        const [a, b] = await Promise.all([
          ctx.loadgen.call<{ status: number; body: string }>('once', { url: `${product.url}/graphql`, method: 'POST', headers: auth, body }),
          ctx.loadgen.call<{ status: number; body: string }>('once', { url: `${baseline.url}/graphql`, method: 'POST', headers: json, body }),
        ]);
        if (a.status !== 200) throw new Error(`GraphQL ${what}: HTTP ${a.status} ${a.body.slice(0, 300)}`);
        assertSameJson(`HistoryPage ${what} at ${size}`, a.body, b.body);
      }

      const pageSql = 'select * from projects where owner = ? order by id desc limit ?';
      const queries = [
        { name: 'keysetFirst', sql: pageSql, params: [USER_NAME, 21] },
        { name: 'keysetDeep', sql: 'select * from projects where owner = ? and id < ? order by id desc limit ?', params: [USER_NAME, cursorId, 21] },
        { name: 'offsetDeep', sql: `${pageSql} offset ?`, params: [USER_NAME, 21, deepOffset], maxReps: 30 },
        // The product's own queries (server/services/settings.ts liveUsageOf, runners/dispatcher.ts claimNext).
        { name: 'portalUsage', sql: 'select live_projects, hosts, vcpu, memory_gb, disk_gb from usage_totals where owner = ?', params: ['*'], maxReps: 30 },
        {
          name: 'claim',
          sql: `select id from projects${backend === 'sqlite' ? ' indexed by projects_status_id_idx' : ''} where claimed_by is null and status in ('PENDING', 'RUNNING', 'DELETING') order by id limit 1`,
          params: [],
          maxReps: 30,
        },
      ];
      const sqlRounds: Record<string, number[]> = {};
      const http: Record<'graphqlFirst' | 'graphqlDeep' | 'rawFirst' | 'rawDeep', LatencySummary[]> = { graphqlFirst: [], graphqlDeep: [], rawFirst: [], rawDeep: [] };
      const reps = opts.quick ? 20 : 200;
      for (let round = 0; round < (opts.quick ? 1 : opts.rounds); round++) {
        const sql = await ctx.loadgen.call<Record<string, LatencySummary>>('sqlTiming', { target, queries, reps, warmup: round === 0 ? 10 : 2 });
        for (const [name, s] of Object.entries(sql)) (sqlRounds[name] ??= []).push(s.p50);
        const order = round % 2 === 0 ? (['graphql', 'raw'] as const) : (['raw', 'graphql'] as const);
        for (const side of order) {
          const url = side === 'graphql' ? `${product.url}/graphql` : `${baseline.url}/graphql`;
          const headers = side === 'graphql' ? auth : json;
          const warmup = round === 0 ? 20 : 3;
          http[`${side}First`].push(await ctx.loadgen.call<LatencySummary>('latency', { url, method: 'POST', headers, body: firstBody, count: reps, warmup }));
          http[`${side}Deep`].push(await ctx.loadgen.call<LatencySummary>('latency', { url, method: 'POST', headers, body: deepBody, count: reps, warmup }));
        }
      }
      // Orders, one at a time, on a table of this size (reported).
      const create = await ctx.loadgen.call<LatencySummary>('latency', { url: `${product.url}/api/provision`, method: 'POST', headers: auth, body: JSON.stringify(ORDER), count: creates, warmup: 1 });
      // Take those orders out again, so every size measures a table of finished projects only.
      await db.run(`delete from provision_events where project_id in (select id from projects where status not in ('COMPLETED', 'FAILED'))`);
      await db.run(`delete from projects where status not in ('COMPLETED', 'FAILED')`);
      await db.run(`update workload_pool set status = 'available', project_id = null, owner = null where project_id is not null`);
      const result: SizeResult = {
        size,
        seedMs: seeded.ms,
        deepOffset,
        sql: Object.fromEntries(Object.entries(sqlRounds).map(([k, v]) => [k, median(v)])),
        graphqlFirst: median(http.graphqlFirst.map((s) => s.p50)),
        graphqlDeep: median(http.graphqlDeep.map((s) => s.p50)),
        rawFirst: median(http.rawFirst.map((s) => s.p50)),
        rawDeep: median(http.rawDeep.map((s) => s.p50)),
        graphqlFirstP99: median(http.graphqlFirst.map((s) => s.p99)),
        graphqlDeepP99: median(http.graphqlDeep.map((s) => s.p99)),
        createMs: create.p50,
      };
      results.push(result);
      const s = result.sql;
      ctx.log(
        `    SQL p50: keyset first ${fmtMs(s.keysetFirst)}, keyset deep ${fmtMs(s.keysetDeep)}, OFFSET deep ${fmtMs(s.offsetDeep)}, portal usage ${fmtMs(s.portalUsage)}, claim ${fmtMs(s.claim)}; ` +
          `HTTP p50: GraphQL ${fmtMs(result.graphqlFirst)} / ${fmtMs(result.graphqlDeep)}, raw ${fmtMs(result.rawFirst)} / ${fmtMs(result.rawDeep)}; create ${fmtMs(result.createMs)}`,
      );
    }
  } finally {
    await db.close().catch(() => undefined);
    await ctx.loadgen.call('release', { location: target.location }).catch(() => undefined);
    await Promise.all([product?.stop(), baseline?.stop()]);
    await ctx.dbs.drop(target);
  }
  ctx.detail(`4.${backend}`, results);

  const small = results[0];
  const big = results[results.length - 1];
  const vs = `${short(big.size)} vs ${short(small.size)}`;
  const scaleRow = (name: string, a: number, b: number, budget: number | null) => {
    const ratio = a / b;
    ctx.row({
      bench: 4,
      name: `${name}, ${vs} [${backend}]`,
      figure: `${fmtMs(a)} @${short(big.size)}`,
      baseline: `${fmtMs(b)} @${short(small.size)}`,
      ratio,
      ...(budget === null ? { budget: 'report', pass: null } : ratioBudget(ratio, { max: budget })),
    });
  };
  scaleRow('keyset first page, SQL', big.sql.keysetFirst, small.sql.keysetFirst, 1.2);
  scaleRow('keyset deep page, SQL', big.sql.keysetDeep, small.sql.keysetDeep, 1.2);
  scaleRow('OFFSET deep page, SQL (control)', big.sql.offsetDeep, small.sql.offsetDeep, null);
  scaleRow('GraphQL first page', big.graphqlFirst, small.graphqlFirst, 1.2);
  scaleRow('GraphQL deep page', big.graphqlDeep, small.graphqlDeep, 1.2);
  for (const [what, g, r, p99] of [
    ['first', big.graphqlFirst, big.rawFirst, big.graphqlFirstP99],
    ['deep', big.graphqlDeep, big.rawDeep, big.graphqlDeepP99],
  ] as const) {
    const ratio = g / r;
    ctx.row({
      bench: 4,
      name: `GraphQL vs raw page, ${what} @${short(big.size)} [${backend}]`,
      figure: `${fmtMs(g)} (p99 ${fmt(p99)})`,
      baseline: fmtMs(r),
      ratio,
      ...ratioBudget(ratio, { max: 3 }),
    });
  }
  scaleRow('create latency (POST /api/provision)', big.createMs, small.createMs, null);
  scaleRow('portal usage query (run by every order)', big.sql.portalUsage, small.sql.portalUsage, null);
  scaleRow('dispatcher claim query (every wake-up)', big.sql.claim, small.sql.claim, null);
}
