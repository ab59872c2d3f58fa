/**
 * Product against baseline under the same load, in the same run: a warm-up of each, then
 * rounds in alternating order (product first in even rounds, baseline first in odd ones), so
 * drift on a shared machine hits both alike. The ratio is the median of the per-round ratios.
 */
import type { LoadResult } from '../children/loadgen.js';
import type { BenchContext } from './context.js';
import { fmt, fmtRatio, median } from './stats.js';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Every answer must be exactly this (read path); mismatches are errors. */
  expectBody?: string;
}

export type Side = 'product' | 'baseline';

export interface Comparison {
  product: LoadResult[];
  baseline: LoadResult[];
  ratios: number[];
  ratio: number;
  productRps: number;
  baselineRps: number;
  productP99: number;
  baselineP99: number;
}

export async function runLoad(ctx: BenchContext, what: string, spec: LoadSpec, durationSec: number): Promise<LoadResult> {
  const result = await ctx.loadgen.call<LoadResult>('autocannon', { ...spec, connections: ctx.opts.connections, durationSec });
  const bad = result.non2xx + result.errors + result.timeouts + result.mismatches;
  if (bad > 0 || result.ok === 0) {
    throw new Error(
      `${what}: ${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.mismatches} unexpected bodies (status codes ${JSON.stringify(result.statusCodes)})`,
    );
  }
  return result;
}

export async function compareThroughput(
  ctx: BenchContext,
  label: string,
  specs: Record<Side, LoadSpec>,
  hooks: { beforeRound?: () => Promise<void>; beforeRun?: (side: Side) => Promise<void>; afterRun?: (side: Side, result: LoadResult) => Promise<void> } = {},
): Promise<Comparison> {
  const { rounds, durationSec, warmupSec } = ctx.opts;
  if (warmupSec > 0) {
    await hooks.beforeRound?.();
    for (const side of ['product', 'baseline'] as Side[]) {
      const r = await runLoad(ctx, `${label} warm-up (${side})`, specs[side], warmupSec);
      await hooks.afterRun?.(side, r);
    }
  }
  const results: Record<Side, LoadResult[]> = { product: [], baseline: [] };
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await hooks.beforeRound?.();
    const order: Side[] = round % 2 === 0 ? ['product', 'baseline'] : ['baseline', 'product'];
    for (const side of order) {
      await hooks.beforeRun?.(side);
      const r = await runLoad(ctx, `${label} round ${round + 1} (${side})`, specs[side], durationSec);
      await hooks.afterRun?.(side, r);
      results[side].push(r);
    }
    const ratio = results.product[round].rps / results.baseline[round].rps;
    ratios.push(ratio);
    ctx.log(`    round ${round + 1}: product ${fmt(results.product[round].rps)} req/s (p99 ${fmt(results.product[round].p99)} ms), baseline ${fmt(results.baseline[round].rps)} req/s (p99 ${fmt(results.baseline[round].p99)} ms) → ${fmtRatio(ratio)}`);
  }
  return {
    product: results.product,
    baseline: results.baseline,
    ratios,
    ratio: median(ratios),
    productRps: median(results.product.map((r) => r.rps)),
    baselineRps: median(results.baseline.map((r) => r.rps)),
    productP99: median(results.product.map((r) => r.p99)),
    baselineP99: median(results.baseline.map((r) => r.p99)),
  };
}

export const rpsCell = (rps: number, p99: number) => `${fmt(rps)} req/s, p99 ${fmt(p99)} ms`;
