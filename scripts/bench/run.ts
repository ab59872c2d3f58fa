/**
 * `npm run bench` — the performance suite of issue #6 (see docs/BENCHMARKS.md).
 *
 *   npm run bench                     full sizes (run it on a quiet machine)
 *   npm run bench -- --quick          small sizes, under 2 minutes; exits non-zero only on errors
 *   npm run bench -- --only=1,3       some benchmarks
 *   npm run bench -- --backends=sqlite
 *   npm run bench -- --dist           the repository's dist/ (npm run build:server first) instead of
 *                                     the harness's own build of server/ (test-output/bench/build)
 *   npm run bench -- --profile        CPU profiles of the product servers (test-output/bench/profiles)
 *
 * Each benchmark starts its own servers and databases and runs its baseline in the same run;
 * the report is a table of figure, baseline, ratio, budget and pass/fail. Budget misses never
 * change the exit code (unless --strict); errors (a benchmark that could not run, wrong
 * answers, failed requests, lost events) always do.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { readPath } from './benches/read.js';
import { createPath } from './benches/create.js';
import { subscriptions } from './benches/subscriptions.js';
import { historyAtScale } from './benches/history.js';
import { runnerLoad } from './benches/runner.js';
import { ansibleRunner } from './benches/ansible.js';
import { resourcesAtScale } from './benches/resources.js';
import { terminalSessions } from './benches/terminal.js';
import { ensureServerBuild } from './lib/build.js';
import { printTable, type BenchContext, type Options, type Report } from './lib/context.js';
import { DatabaseFactory, postgresReachable, sweepLeftovers, type Backend } from './lib/db.js';
import { BenchChild, killAllChildren, ROOT } from './lib/ipc.js';
import { fmtRatio } from './lib/stats.js';

const USAGE = `npm run bench -- [options]   (docs/BENCHMARKS.md)
  --quick                    small sizes, under 2 minutes (CI); exits non-zero only on errors
  --only=1,2,3,4,5,6,7,8     which benchmarks (6: the Ansible runner on fleet hosts; needs root; 7: resources at pool scale; 8: terminal sessions on fleet hosts; needs root)
  --backends=sqlite,postgresql
  --rounds=N --duration=S --warmup=S --connections=N     (HTTP benchmarks 1, 2)
  --subscribers=1000,10000 --fanout-rate=5500 --fanout-sec=5   (benchmark 3)
  --sizes=10000,100000,1000000                            (benchmark 4)
  --provisions=1000 --runner-concurrency=N                (benchmark 5)
  --dist                     benchmark dist/server as built by npm run build:server
  --profile                  CPU profiles of the product servers in test-output/bench/profiles
  --strict                   exit 3 when a budget is missed
  --json=PATH                where to write the results (default test-output/bench/{quick,full}.json)`;

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg} (see scripts/bench/run.ts)`);
    flags.set(m[1], m[2] ?? 'true');
  }
  const known = ['quick', 'only', 'backends', 'rounds', 'duration', 'warmup', 'connections', 'subscribers', 'fanout-rate', 'fanout-sec', 'sizes', 'provisions', 'runner-concurrency', 'strict', 'json', 'dist', 'profile'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}; known: ${known.map((o) => `--${o}`).join(' ')}`);
  const quick = flags.get('quick') === 'true';
  const list = (name: string, fallback: number[]) => (flags.has(name) ? flags.get(name)!.split(',').map((v) => Number(v.replace(/_/g, ''))) : fallback);
  const num = (name: string, fallback: number) => (flags.has(name) ? Number(flags.get(name)) : fallback);
  const backends = (flags.get('backends') ?? 'sqlite,postgresql').split(',') as Backend[];
  for (const b of backends) if (b !== 'sqlite' && b !== 'postgresql') throw new Error(`--backends: sqlite and/or postgresql (got ${b})`);
  const opts: Options = {
    quick,
    only: list('only', [1, 2, 3, 4, 5, 6, 7, 8]),
    backends,
    rounds: num('rounds', quick ? 2 : 5),
    durationSec: num('duration', quick ? 1 : 10),
    warmupSec: num('warmup', quick ? 0.5 : 3),
    connections: num('connections', 10),
    subscribers: list('subscribers', quick ? [100, 400] : [1000, 10000]),
    fanoutRate: num('fanout-rate', 5500),
    fanoutSec: num('fanout-sec', quick ? 1 : 5),
    sizes: list('sizes', quick ? [1000, 10000] : [10_000, 100_000, 1_000_000]),
    provisions: num('provisions', quick ? 100 : 1000),
    runnerConcurrency: flags.has('runner-concurrency') ? num('runner-concurrency', 64) : undefined,
    strict: flags.get('strict') === 'true',
    jsonPath: flags.get('json') ?? join(ROOT, 'test-output', 'bench', quick ? 'quick.json' : 'full.json'),
    settings: { serverDir: flags.get('dist') === 'true' ? join(ROOT, 'dist', 'server') : '', profile: flags.get('profile') === 'true', profileDir: join(ROOT, 'test-output', 'bench', 'profiles') },
  };
  for (const [name, values] of [
    ['subscribers', opts.subscribers],
    ['sizes', opts.sizes],
    ['only', opts.only],
  ] as const) {
    if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${name}: whole numbers, comma-separated`);
  }
  return opts;
}

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
const log = (message: string) => console.log(`[bench ${stamp()}] ${message}`);

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const opts = parseOptions(process.argv.slice(2));
  if (opts.settings.profile) mkdirSync(opts.settings.profileDir, { recursive: true });
  const report: Report = { rows: [], errors: [], details: {} };
  const usesPostgres = opts.backends.includes('postgresql');
  if (usesPostgres) {
    const why = await postgresReachable();
    if (why) throw new Error(`PostgreSQL is unreachable (${why}); start it, set BENCH_POSTGRES_URL, or pass --backends=sqlite`);
  }
  const swept = await sweepLeftovers(usesPostgres);
  if (swept.length) log(`removed leftovers of earlier runs: ${swept.join(', ')}`);

  if (!opts.settings.serverDir) opts.settings.serverDir = ensureServerBuild(log);
  else if (!existsSync(join(opts.settings.serverDir, 'app.js'))) throw new Error(`${opts.settings.serverDir}/app.js is missing: run npm run build:server first`);

  const dbs = new DatabaseFactory();
  cleanup.push(() => dbs.dropAll());
  exitCleanup.push(() => dbs.removeTempSync());

  log(`${opts.quick ? 'QUICK mode' : 'FULL mode'} on ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; benchmarks ${opts.only.join(',')}; backends ${opts.backends.join(',')}; ${opts.rounds} rounds of ${opts.durationSec}s after ${opts.warmupSec}s warm-up; server ${opts.settings.serverDir.replace(`${ROOT}/`, '')}`);
  const startLoadgen = async () => {
    const child = new BenchChild({ name: 'loadgen', file: 'loadgen.ts' });
    await child.ready;
    return child;
  };
  const loadgen = await startLoadgen();

  const ctx: BenchContext = {
    opts,
    dbs,
    loadgen,
    log,
    row: (row) => {
      report.rows.push(row);
      log(`  → ${row.name}: ${row.figure} vs ${row.baseline}${row.ratio === null ? '' : ` (${fmtRatio(row.ratio)})`} ${row.budget} ${row.pass === null ? '' : row.pass ? 'pass' : 'FAIL'}`);
    },
    detail: (key, value) => {
      report.details[key] = value;
    },
  };

  // Quick mode (CI) keeps both backends for 2 (the issue asks for both) and 4 (PostgreSQL seeding
  // and ANALYZE paths); 1 and 5 run there on one backend only, to stay within two minutes.
  const one: Backend[] = opts.backends.includes('sqlite') ? ['sqlite'] : opts.backends.slice(0, 1);
  const benches: [number, string, () => Promise<void>][] = [];
  for (const b of opts.quick ? one : opts.backends) benches.push([1, `HTTP read path [${b}]`, () => readPath(ctx, b)]);
  for (const b of opts.backends) benches.push([2, `create path [${b}]`, () => createPath(ctx, b)]);
  benches.push([3, 'subscriptions [sqlite]', () => subscriptions(ctx)]);
  for (const b of opts.backends) benches.push([4, `history at scale [${b}]`, () => historyAtScale(ctx, b)]);
  for (const b of opts.quick ? one : opts.backends) benches.push([5, `runner load [${b}]`, () => runnerLoad(ctx, b)]);
  benches.push([6, 'Ansible runner on fleet hosts [sqlite]', () => ansibleRunner(ctx)]);
  for (const b of opts.backends) benches.push([7, `resources at pool scale [${b}]`, () => resourcesAtScale(ctx, b)]);
  benches.push([8, 'terminal sessions on fleet hosts [sqlite]', () => terminalSessions(ctx)]);

  for (const [n, title, run] of benches) {
    if (!opts.only.includes(n)) continue;
    const t0 = Date.now();
    log(`${n}. ${title}`);
    try {
      await run();
      log(`${n}. ${title}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      report.errors.push({ bench: n, message: `${title}: ${message}` });
      log(`${n}. ${title}: ERROR ${message}`);
    }
    // A load generator that died with a benchmark must not take the next ones with it.
    if (!ctx.loadgen.alive) ctx.loadgen = await startLoadgen();
  }

  await ctx.loadgen.stop();
  const seconds = (Date.now() - started) / 1000;
  console.log('');
  console.log(`H-CMP benchmarks — ${opts.quick ? 'quick mode (small sizes; figures from a shared machine are indicative only)' : 'full run'}, ${seconds.toFixed(1)} s`);
  console.log('');
  printTable(report.rows, (line) => console.log(line));
  const missed = report.rows.filter((r) => r.pass === false).length;
  console.log('');
  console.log(`${report.rows.length} figures: ${report.rows.filter((r) => r.pass === true).length} within budget, ${missed} over budget, ${report.rows.filter((r) => r.pass === null).length} reported only; ${report.errors.length} errors`);
  for (const e of report.errors) console.log(`ERROR [${e.bench}] ${e.message}`);
  mkdirSync(dirname(opts.jsonPath), { recursive: true });
  writeFileSync(
    opts.jsonPath,
    JSON.stringify({ date: new Date().toISOString(), seconds, machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, node: process.version }, options: opts, ...report }, null, 2),
  );
  console.log(`results written to ${opts.jsonPath}`);
  if (report.errors.length) return 1;
  if (opts.strict && missed) return 3;
  return 0;
}

// --- cleanup on every path -------------------------------------------------------------------------

const cleanup: (() => Promise<void>)[] = [];
const exitCleanup: (() => void)[] = [];
let cleaning: Promise<void> | undefined;
async function runCleanup(): Promise<void> {
  cleaning ??= (async () => {
    killAllChildren();
    for (const c of cleanup.reverse()) await c().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
  })();
  return cleaning;
}
process.on('exit', () => {
  killAllChildren();
  for (const c of exitCleanup) {
    try {
      c();
    } catch {
      // best effort
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\n[bench] ${signal}: stopping every process and dropping the databases`);
    void runCleanup().finally(() => process.exit(130));
  });
}

const flushed = () => new Promise<void>((resolve) => process.stdout.write('', () => resolve()));

main()
  .then(async (code) => {
    await runCleanup();
    await flushed();
    process.exit(code);
  })
  .catch(async (err) => {
    console.error(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await runCleanup();
    await flushed();
    process.exit(1);
  });
