/**
 * 5. Runner load: N orders sent at once (POST /api/provision, all in flight together) with a
 * zero mock step delay; every one must end COMPLETED. While they run, the server's event-loop
 * delay is sampled inside the server process (monitorEventLoopDelay, switched on and read over
 * the bench-only IPC channel). Events written per second (provision_events rows over the time
 * from the first order to the last completion) are reported against the raw driver inserting
 * as many rows in batched multi-row INSERTs.
 * Budgets: all complete; event-loop delay p99 ≤ 50 ms.
 */
import type { BenchContext } from '../lib/context.js';
import { connect, poolFile, resetProvisioning, type Backend } from '../lib/db.js';
import { ORDER } from '../lib/operations.js';
import { benchUserToken, ProductServer } from '../lib/servers.js';
import { fmt, median, sleep } from '../lib/stats.js';

interface Round {
  completed: number;
  failed: number;
  seconds: number;
  submitSeconds: number;
  events: number;
  eventsPerSec: number;
  eld: { p50: number; p99: number; max: number };
}

export async function runnerLoad(ctx: BenchContext, backend: Backend): Promise<void> {
  const { opts } = ctx;
  const n = opts.provisions;
  const rounds = Math.max(1, opts.quick ? 1 : Math.min(opts.rounds, 3));
  const target = await ctx.dbs.fresh(backend, 'runner');
  const db = await connect(target);
  const env: Record<string, string> = { MOCK_STEP_DELAY_MS: '0' };
  if (opts.runnerConcurrency !== undefined) env.RUNNER_CONCURRENCY = String(opts.runnerConcurrency);
  const product = await ProductServer.start(`product-runner-${backend}`, opts.settings, {
    db: target,
    poolPath: ctx.dbs.path(`pool-runner-${backend}.json`),
    poolHosts: poolFile(n + 10),
    env,
  });
  const results: Round[] = [];
  const baseline: { ms: number; events: number }[] = [];
  try {
    const token = await benchUserToken(product.url);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const timeoutMs = Math.max(60_000, n * 1000);
    for (let round = 0; round < rounds; round++) {
      await resetProvisioning(db);
      await product.child.call('eldStart', { resolutionMs: 10 });
      const started = performance.now();
      const sent = ctx.loadgen.call<{ ms: number; statuses: Record<string, number>; failures: string[] }>(
        'burst',
        { url: `${product.url}/api/provision`, method: 'POST', headers, bodies: Array.from({ length: n }, (_, i) => JSON.stringify({ ...ORDER, serviceName: `bench-run-${i}` })), count: n, concurrency: n },
        timeoutMs,
      );
      // Poll the database until every order reached its end.
      let done = { completed: 0, failed: 0 };
      let submitted: Awaited<typeof sent> | undefined;
      void sent.then((s) => (submitted = s)).catch(() => undefined);
      for (;;) {
        const rows = await db.query<{ status: string; n: number }>(`select status, count(*) as n from projects group by status`);
        const by = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
        done = { completed: by.COMPLETED ?? 0, failed: (by.FAILED ?? 0) + (by.CANCELLED ?? 0) };
        if (submitted && done.completed + done.failed >= (submitted.statuses['200'] ?? 0)) break;
        if (performance.now() - started > timeoutMs) break;
        await sleep(50);
      }
      const seconds = (performance.now() - started) / 1000;
      const eld = await product.child.call<{ p50: number; p99: number; max: number }>('eldStop');
      const s = await sent;
      const ok = s.statuses['200'] ?? 0;
      if (ok !== n) throw new Error(`${n - ok} of ${n} orders were refused: ${JSON.stringify(s.statuses)} ${s.failures.join('; ')}`);
      if (done.completed !== n) throw new Error(`after ${fmt(seconds)} s only ${done.completed} of ${n} provisions completed (${done.failed} failed)`);
      const [{ n: events }] = await db.query<{ n: number }>('select count(*) as n from provision_events');
      const r: Round = { ...done, seconds, submitSeconds: s.ms / 1000, events: Number(events), eventsPerSec: Number(events) / seconds, eld };
      results.push(r);
      ctx.log(
        `    round ${round + 1}: ${n} orders accepted in ${fmt(r.submitSeconds)} s, all completed after ${fmt(seconds)} s; ${fmt(r.events)} events (${fmt(r.eventsPerSec)}/s); event-loop delay p50 ${fmt(eld.p50)} ms, p99 ${fmt(eld.p99)} ms, max ${fmt(eld.max)} ms`,
      );
    }
    // Baseline: the same number of event rows, raw batched inserts, into a fresh database.
    const rawTarget = await ctx.dbs.fresh(backend, 'runnerraw');
    try {
      for (let round = 0; round < rounds; round++) {
        const rawDb = await connect(rawTarget);
        await rawDb.exec(backend === 'sqlite' ? 'delete from provision_events' : 'truncate provision_events');
        await rawDb.close();
        const perProject = Math.round(results[0].events / n);
        baseline.push(await ctx.loadgen.call<{ ms: number; events: number }>('rawEventInserts', { target: rawTarget, projects: n, eventsPerProject: perProject, batch: 500 }));
      }
    } finally {
      await ctx.loadgen.call('release', { location: rawTarget.location }).catch(() => undefined);
      await ctx.dbs.drop(rawTarget);
    }
  } finally {
    await db.close().catch(() => undefined);
    await product.stop();
    await ctx.dbs.drop(target);
  }
  ctx.detail(`5.${backend}`, { product: results, baseline });
  const seconds = median(results.map((r) => r.seconds));
  const p99 = median(results.map((r) => r.eld.p99));
  const eps = median(results.map((r) => r.eventsPerSec));
  const rawEps = median(baseline.map((b) => b.events / (b.ms / 1000)));
  const concurrency = opts.runnerConcurrency ?? 'default';
  ctx.row({
    bench: 5,
    name: `${n} concurrent provisions complete [${backend}]`,
    figure: `${n}/${n} in ${fmt(seconds)} s`,
    baseline: '',
    ratio: null,
    budget: 'all complete',
    pass: true,
    note: `RUNNER_CONCURRENCY ${concurrency}, MOCK_STEP_DELAY_MS 0`,
  });
  ctx.row({
    bench: 5,
    name: `event-loop delay p99 while running [${backend}]`,
    figure: `${fmt(p99)} ms (max ${fmt(median(results.map((r) => r.eld.max)))})`,
    baseline: '',
    ratio: null,
    budget: '≤ 50 ms',
    pass: p99 <= 50,
  });
  ctx.row({
    bench: 5,
    name: `events written/s [${backend}]`,
    figure: `${fmt(eps)}/s`,
    baseline: `${fmt(rawEps)}/s (raw, 500-row INSERTs)`,
    ratio: eps / rawEps,
    budget: 'report',
    pass: null,
  });
}
