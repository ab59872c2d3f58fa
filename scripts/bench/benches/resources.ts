/**
 * 7. Resources at pool scale (issue 16, part 5): 4,096 pool hosts and 1,000 projects seeded
 * directly with the raw driver (900 of them COMPLETED, each holding one host, with its ALB,
 * Web, DB and SSH-1 rows in project_resources as the journal writes them), asked for by an
 * admin, who sees every row (4,096 hosts + 3,600 derived rows):
 *
 * - GraphQL `resources(first: 50)` — the console's MonitoringResources page — one request at a
 *   time: the first page and a deep one (a cursor among the derived rows, after every host).
 *   Budget: p99 ≤ 50 ms each.
 * - REST `GET /api/monitoring/my-resources` (every row, the old contract), one at a time.
 *   Budget: median ≤ 150 ms.
 *
 * Baseline, same run, same database: node:http + the raw driver answering the same page and the
 * same list with the same SELECTs and no authentication (children/raw-http-server.ts); answers
 * checked equal before measuring. Ratios are reported; the budgets are absolute, as the issue
 * states them.
 */
import type { BenchContext } from '../lib/context.js';
import { connect, poolFile, seedProjects, type Backend, type RawDb } from '../lib/db.js';
import { RESOURCES_PAGE, assertSameJson } from '../lib/operations.js';
import { ADMIN_PASSWORD, login, OTHER_OWNER, ProductServer, startRawHttp, USER_NAME } from '../lib/servers.js';
import { fmt, fmtMs, median, type LatencySummary } from '../lib/stats.js';
import { resourceEntries } from '../../../server/services/resources.js';

export const POOL_HOSTS = 4096;
export const PROJECTS = 1000;

/** Pool hosts with the addresses of poolFile(), every other one AWS; the COMPLETED projects each hold one. */
async function seedPool(db: RawDb): Promise<{ held: number }> {
  const sqlite = db.backend === 'sqlite';
  const now = sqlite ? Date.now() : new Date().toISOString();
  const hosts = (JSON.parse(poolFile(POOL_HOSTS)) as { vm_name: string; ip_address: string }[]).map((h, i) => ({ ...h, infra: i % 2 ? 'aws' : 'vsphere' }));
  for (let from = 0; from < hosts.length; from += 500) {
    const part = hosts.slice(from, from + 500);
    await db.run(
      `insert into workload_pool (vm_name, ip_address, infra, status, drain_requested, updated_at) values ${part.map(() => `(?, ?, ?, 'available', ${sqlite ? 0 : 'false'}, ?)`).join(', ')}`,
      part.flatMap((h) => [h.vm_name, h.ip_address, h.infra, now]),
    );
  }
  const live = await db.query<{ id: number; owner: string }>(`select id, owner from projects where status = 'COMPLETED' order by id`);
  const ids = await db.query<{ id: number }>('select id from workload_pool order by id');
  for (let i = 0; i < live.length; i++) {
    await db.run(`update workload_pool set status = 'assigned', project_id = ?, owner = ? where id = ?`, [live[i].id, live[i].owner, ids[i].id]);
  }
  return { held: live.length };
}

/** project_resources as the journal writes it, from each project's assigned_ip and resources. */
async function seedResourceRows(db: RawDb): Promise<number> {
  const projects = await db.query<{ id: number; assigned_ip: string | null; details: string | { resources: never } }>('select id, assigned_ip, details from projects where assigned_ip is not null order by id');
  const rows = projects.flatMap((p) => {
    const details = typeof p.details === 'string' ? JSON.parse(p.details) : p.details;
    return resourceEntries(p.assigned_ip, details.resources).map((e) => [Number(p.id), e.ord, e.kind, e.vmName, e.address]);
  });
  for (let from = 0; from < rows.length; from += 500) {
    const part = rows.slice(from, from + 500);
    await db.run(`insert into project_resources (project_id, ord, kind, vm_name, address) values ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, part.flat());
  }
  return rows.length;
}

export async function resourcesAtScale(ctx: BenchContext, backend: Backend): Promise<void> {
  const { opts } = ctx;
  const target = await ctx.dbs.fresh(backend, 'resources');
  const db = await connect(target);
  let product: ProductServer | undefined;
  let baseline: Awaited<ReturnType<typeof startRawHttp>> | undefined;
  try {
    const started = performance.now();
    await seedProjects(db, { count: PROJECTS, owners: [USER_NAME, OTHER_OWNER] });
    const { held } = await seedPool(db);
    const derived = await seedResourceRows(db);
    if (backend === 'postgresql') await db.exec('vacuum analyze');
    ctx.log(`  seeded ${fmt(POOL_HOSTS)} hosts (${fmt(held)} held), ${fmt(PROJECTS)} projects, ${fmt(derived)} derived rows [${backend}] in ${fmt((performance.now() - started) / 1000)} s`);

    product = await ProductServer.start(`product-resources-${backend}`, opts.settings, {
      db: target,
      // The pool is already there: the file only seeds an empty pool.
      poolPath: ctx.dbs.path(`pool-resources-${backend}.json`),
      poolHosts: poolFile(1),
      env: { RUNNER_CONCURRENCY: '1' },
    });
    baseline = await startRawHttp(`raw-resources-${backend}`, target);
    const token = await login(product.url, 'admin', ADMIN_PASSWORD);
    const json = { 'content-type': 'application/json' };
    const auth = { authorization: `Bearer ${token}` };

    // A deep page: its cursor is the 500th derived row, after every host.
    const [deep] = await db.query<{ project_id: number; ord: number }>('select project_id, ord from project_resources order by project_id, ord limit 1 offset 499');
    const deepCursor = Buffer.from(`resource:p:${deep.project_id}:${deep.ord}`).toString('base64url');
    const pageBody = (after?: string) => JSON.stringify({ operationName: 'MonitoringResources', query: RESOURCES_PAGE, variables: after ? { first: 50, after } : { first: 50 } });
    const cases = [
      { key: 'first', label: 'GraphQL resources(first: 50), first page', path: '/graphql', method: 'POST' as const, body: pageBody(), rows: 50 },
      { key: 'deep', label: 'GraphQL resources(first: 50), deep page (derived rows)', path: '/graphql', method: 'POST' as const, body: pageBody(deepCursor), rows: 50 },
      { key: 'rest', label: 'REST GET /api/monitoring/my-resources (every row)', path: '/api/monitoring/my-resources', method: 'GET' as const, body: undefined, rows: POOL_HOSTS + derived },
    ];
    for (const c of cases) {
      const [a, b] = await Promise.all([
        ctx.loadgen.call<{ status: number; body: string }>('once', { url: `${product.url}${c.path}`, method: c.method, headers: { ...json, ...auth }, body: c.body }),
        ctx.loadgen.call<{ status: number; body: string }>('once', { url: `${baseline.url}${c.path}`, method: c.method, headers: json, body: c.body }),
      ]);
      if (a.status !== 200 || b.status !== 200) throw new Error(`${c.label}: HTTP ${a.status} / ${b.status}: ${a.body.slice(0, 300)} ${b.body.slice(0, 300)}`);
      assertSameJson(`${c.label} [${backend}]`, a.body, b.body);
      const parsed = JSON.parse(a.body);
      const count = c.key === 'rest' ? parsed.length : parsed.data.resources.nodes.length;
      if (count !== c.rows) throw new Error(`${c.label}: ${count} rows, expected ${c.rows}`);
      ctx.log(`  ${c.label} [${backend}]: ${a.body.length.toLocaleString("en-US")} bytes, ${count.toLocaleString("en-US")} rows`);
    }

    const figures: Record<string, { product: LatencySummary[]; baseline: LatencySummary[] }> = Object.fromEntries(cases.map((c) => [c.key, { product: [], baseline: [] }]));
    const rounds = opts.quick ? 1 : opts.rounds;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['product', 'baseline'] as const) : (['baseline', 'product'] as const);
      for (const c of cases) {
        const count = c.key === 'rest' ? (opts.quick ? 10 : 40) : opts.quick ? 40 : 300;
        const warmup = round === 0 ? (c.key === 'rest' ? 5 : 20) : 2;
        for (const side of order) {
          const url = `${side === 'product' ? product.url : baseline.url}${c.path}`;
          const headers = side === 'product' ? { ...json, ...auth } : json;
          figures[c.key][side].push(await ctx.loadgen.call<LatencySummary>('latency', { url, method: c.method, headers, body: c.body, count, warmup }));
        }
      }
    }
    ctx.detail(`7.${backend}`, figures);

    for (const c of cases) {
      const f = figures[c.key];
      const p50 = median(f.product.map((s) => s.p50));
      const p99 = median(f.product.map((s) => s.p99));
      const b50 = median(f.baseline.map((s) => s.p50));
      const b99 = median(f.baseline.map((s) => s.p99));
      const rest = c.key === 'rest';
      const figure = rest ? p50 : p99;
      const bound = rest ? 150 : 50;
      ctx.row({
        bench: 7,
        name: `${c.label}, ${rest ? 'median' : 'p99'} [${backend}]`,
        figure: rest ? `${fmtMs(p50)} (p99 ${fmt(p99)})` : `p99 ${fmtMs(p99)} (p50 ${fmt(p50)})`,
        baseline: rest ? `${fmtMs(b50)} (p99 ${fmt(b99)})` : `p99 ${fmtMs(b99)} (p50 ${fmt(b50)})`,
        ratio: figure / (rest ? b50 : b99),
        budget: `≤ ${bound} ms`,
        pass: figure <= bound,
      });
    }
  } finally {
    await db.close().catch(() => undefined);
    await Promise.all([product?.stop(), baseline?.stop()]);
    await ctx.dbs.drop(target);
  }
}
