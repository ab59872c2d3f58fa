/** What every benchmark gets: the options, the databases, the load generator and the report. */
import type { Backend, DatabaseFactory } from './db.js';
import type { BenchChild } from './ipc.js';
import type { RunSettings } from './servers.js';
import { fmtRatio } from './stats.js';

export interface Options {
  quick: boolean;
  /** Benchmarks to run (1-8). */
  only: number[];
  backends: Backend[];
  rounds: number;
  durationSec: number;
  warmupSec: number;
  connections: number;
  /** Subscriber counts for benchmark 3, ascending; flatness compares the last with the first. */
  subscribers: number[];
  fanoutRate: number;
  fanoutSec: number;
  /** Project counts for benchmark 4, ascending; budgets compare the last with the first. */
  sizes: number[];
  /** Provisions for benchmark 5. */
  provisions: number;
  /** RUNNER_CONCURRENCY for benchmark 5 (undefined: the product's default). */
  runnerConcurrency?: number;
  strict: boolean;
  jsonPath: string;
  settings: RunSettings;
}

export interface ResultRow {
  bench: number;
  name: string;
  figure: string;
  baseline: string;
  ratio: number | null;
  /** e.g. "≥ 0.35×", "≤ 100 ms", "report". */
  budget: string;
  /** null: reported only, no budget. */
  pass: boolean | null;
  note?: string;
}

export interface BenchContext {
  opts: Options;
  dbs: DatabaseFactory;
  loadgen: BenchChild;
  log(message: string): void;
  row(row: ResultRow): void;
  /** Raw figures for the JSON file. */
  detail(key: string, value: unknown): void;
}

export interface Report {
  rows: ResultRow[];
  errors: { bench: number; message: string }[];
  details: Record<string, unknown>;
}

/** A budget on a ratio: pass when ratio ≥ min (or ≤ max). */
export function ratioBudget(ratio: number, bound: { min?: number; max?: number }): { budget: string; pass: boolean | null } {
  if (!Number.isFinite(ratio)) return { budget: bound.min !== undefined ? `≥ ${fmtRatio(bound.min)}` : `≤ ${fmtRatio(bound.max!)}`, pass: false };
  if (bound.min !== undefined) return { budget: `≥ ${fmtRatio(bound.min)}`, pass: ratio >= bound.min };
  return { budget: `≤ ${fmtRatio(bound.max!)}`, pass: ratio <= bound.max! };
}

export function printTable(rows: ResultRow[], write: (line: string) => void): void {
  const header = ['#', 'figure', 'product', 'baseline', 'ratio', 'budget', 'result'];
  const cells = rows.map((r) => [
    String(r.bench),
    r.name,
    r.figure,
    r.baseline,
    r.ratio === null ? '' : fmtRatio(r.ratio),
    r.budget,
    r.pass === null ? 'report' : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 4 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  write(line(header));
  write(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) write(line(c));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    write('');
    for (const r of notes) write(`  [${r.bench}] ${r.name}: ${r.note}`);
  }
}
