/**
 * 8. The console's terminal under load (issue 18): 100 interactive sessions at once (20 in quick
 * mode) to five fleet hosts (network namespaces with their own sshd, scripts/fleet/lib.ts; needs
 * root), each in raw mode running `cat` and sending a 1 KB line every 100 ms, waiting for all of
 * it to come back before the next. The round trip through H-CMP (a WebSocket to /ws/terminal,
 * the server's ssh2 session to the host) against a bare ssh2 client (the library the server
 * uses, its settings) doing the same to the same hosts from the same process, in the same run:
 * every set of sessions is open at once and they take turns in short slices (20 of 4 s each;
 * quick: 4 of 1 s), rotating which goes first, so a busy moment of a shared machine falls on each
 * alike. Budget: p99 through H-CMP ≤ 1.3 × the bare p99, over every line of every slice.
 * Reported besides: the same through a minimal WebSocket-to-SSH relay (children/terminal-relay.ts:
 * no checks; how much of the difference is relaying at all), a bare ssh2 client through a plain
 * TCP forwarder (the same child: one more process that does nothing with the bytes, the least
 * any server in between can add), opening the sessions, and the server's CPU per line.
 *
 * Skipped (said in the log, no figures) where it cannot run: not root.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fleetDown, fleetUp, waitForSsh } from '../../fleet/lib.js';
import type { BenchContext } from '../lib/context.js';
import { ratioBudget } from '../lib/context.js';
import { BenchChild } from '../lib/ipc.js';
import { ADMIN_PASSWORD, login, ProductServer } from '../lib/servers.js';
import { fmt, percentile, sleep } from '../lib/stats.js';

const HOSTS = 5;
const LINE_BYTES = 1024;
const INTERVAL_MS = 100;

type Mode = 'product' | 'relay' | 'bare' | 'hop';
const MODES: Mode[] = ['product', 'relay', 'bare', 'hop'];

interface Slice {
  latencies: number[];
  lines: number;
  mismatches: number;
  cpuMicros: number;
}

export async function terminalSessions(ctx: BenchContext): Promise<void> {
  if (userInfo().uid !== 0) {
    ctx.log('    skipped: needs root (the fleet is network namespaces)');
    return;
  }
  // Quick mode: fewer sessions (each login runs the hosts' login shell, which is slow on small
  // machines) and fewer, shorter slices.
  const sessions = ctx.opts.quick ? 20 : 100;
  const slices = ctx.opts.quick ? 4 : 20;
  const sliceSeconds = ctx.opts.quick ? 1 : 4;
  const warmupSeconds = 0.5;
  const work = mkdtempSync(join(tmpdir(), 'hcmp-bench-terminal-'));
  const fleet = fleetUp(HOSTS, { name: `e${process.pid % 10000}`.slice(0, 6), subnet: '10.119.8', dir: join(work, 'fleet') });
  let product: ProductServer | undefined;
  let clients: BenchChild | undefined;
  let relay: BenchChild<{ url: string; hops: Record<string, number> }> | undefined;
  try {
    await waitForSsh(fleet);
    product = await ProductServer.start('product-terminal', ctx.opts.settings, {
      db: await ctx.dbs.fresh('sqlite', 'terminal'),
      poolPath: join(work, 'pool.json'),
      poolHosts: readFileSync(fleet.poolFile, 'utf8'),
      env: { SSH_USER: 'root', SSH_PRIVATE_KEY_FILE: fleet.keyFile, TERMINAL_MAX_SESSIONS: String(sessions), MOCK_STEP_DELAY_MS: '10' },
    });
    const token = await login(product.url, 'admin', ADMIN_PASSWORD);
    const project = await orderHosts(product.url, token);
    // Session i goes to host i mod 5 (20 sessions per host at full size), for both clients.
    const targets = Array.from({ length: sessions }, (_, i) => ({ host: fleet.hosts[i % HOSTS].address, project }));
    clients = new BenchChild({ name: 'terminal-clients', file: 'terminal-clients.ts' });
    relay = new BenchChild<{ url: string; hops: Record<string, number> }>({
      name: 'terminal-relay',
      file: 'terminal-relay.ts',
      env: { BENCH_KEY_FILE: fleet.keyFile, BENCH_SSH_USER: 'root', BENCH_HOSTS: fleet.hosts.map((h) => h.address).join(',') },
    });
    const { url: relayUrl, hops } = await relay.ready;
    await clients.ready;

    // Every set of sessions is open at once (the same hosts, sshd and shells); then they take
    // turns, slice by slice, so a busy moment of the machine falls on each alike.
    const openSeconds = {} as Record<Mode, number>;
    for (const mode of MODES) {
      openSeconds[mode] = (await clients.call<{ seconds: number }>('open', { mode, targets, url: mode === 'relay' ? relayUrl : product.url, token, user: 'root', keyFile: fleet.keyFile, hops, concurrency: 20 }, 300_000)).seconds;
    }
    const results: Record<Mode, Slice[]> = { product: [], relay: [], bare: [], hop: [] };
    let serverCpuMicros = 0;
    for (let slice = 0; slice < slices; slice++) {
      // Each goes first, second, third and last in turn.
      const order = MODES.map((_, i) => MODES[(i + slice) % MODES.length]);
      for (const mode of order) {
        const before = await product.usage();
        const r = await clients.call<Slice>('run', { mode, seconds: sliceSeconds, warmupSeconds, intervalMs: INTERVAL_MS, lineBytes: LINE_BYTES }, (sliceSeconds + warmupSeconds + 120) * 1000);
        if (mode === 'product') serverCpuMicros += (await product.usage()).cpuMicros - before.cpuMicros;
        if (r.mismatches) throw new Error(`${mode}: ${r.mismatches} lines came back different`);
        results[mode].push(r);
      }
      if ((slice + 1) % 5 === 0 || slice === slices - 1) {
        const upTo = (mode: Mode) => results[mode].flatMap((x) => x.latencies);
        ctx.log(`    after ${slice + 1} slices: p99 through H-CMP ${fmt(percentile(upTo('product'), 99))} ms, minimal relay ${fmt(percentile(upTo('relay'), 99))} ms, bare ssh2 ${fmt(percentile(upTo('bare'), 99))} ms, bare ssh2 through a TCP forwarder ${fmt(percentile(upTo('hop'), 99))} ms`);
      }
    }
    await clients.call('close');

    const all = (mode: Mode) => results[mode].flatMap((r) => r.latencies);
    const lines = (mode: Mode) => results[mode].reduce((n, r) => n + r.lines, 0);
    const cpuPerLine = (micros: number, mode: Mode) => micros / lines(mode);
    const clientCpu = (mode: Mode) => results[mode].reduce((n, r) => n + r.cpuMicros, 0);
    const summary = (mode: Mode) => ({
      p50: percentile(all(mode), 50),
      p99: percentile(all(mode), 99),
      max: Math.max(...all(mode)),
      lines: lines(mode),
      sliceP99: results[mode].map((r) => percentile(r.latencies, 99)),
      openSeconds: openSeconds[mode],
    });
    ctx.detail('8', {
      sessions,
      slices: { count: slices, seconds: sliceSeconds },
      product: { ...summary('product'), clientCpuMicrosPerLine: cpuPerLine(clientCpu('product'), 'product'), serverCpuMicrosPerLine: cpuPerLine(serverCpuMicros, 'product') },
      relay: summary('relay'),
      hop: summary('hop'),
      bare: { ...summary('bare'), clientCpuMicrosPerLine: cpuPerLine(clientCpu('bare'), 'bare') },
    });
    const p99 = (mode: Mode) => percentile(all(mode), 99);
    const ratio = p99('product') / p99('bare');
    ctx.row({
      bench: 8,
      name: `terminal: ${sessions} sessions echoing ${LINE_BYTES} B lines every ${INTERVAL_MS} ms, round trip`,
      figure: `p99 ${fmt(p99('product'))} ms (p50 ${fmt(percentile(all('product'), 50))} ms, ${lines('product')} lines)`,
      baseline: `p99 ${fmt(p99('bare'))} ms (p50 ${fmt(percentile(all('bare'), 50))} ms; bare ssh2)`,
      ratio,
      ...ratioBudget(ratio, { max: 1.3 }),
    });
    // The two diagnostics, reported against the same bare p99.
    for (const [mode, name] of [
      ['relay', 'terminal: the same through a minimal WebSocket-to-SSH relay (no checks)'],
      ['hop', 'terminal: bare ssh2 through a plain TCP forwarder (one more process hop, no work)'],
    ] as const) {
      ctx.row({
        bench: 8,
        name,
        figure: `p99 ${fmt(p99(mode))} ms (p50 ${fmt(percentile(all(mode), 50))} ms)`,
        baseline: `p99 ${fmt(p99('bare'))} ms (bare ssh2)`,
        ratio: p99(mode) / p99('bare'),
        budget: 'report',
        pass: null,
      });
    }
    ctx.row({
      bench: 8,
      name: `terminal: opening ${sessions} sessions (20 at a time)`,
      figure: `${fmt(openSeconds.product)} s (server CPU ${fmt(cpuPerLine(serverCpuMicros, 'product'))} µs per line)`,
      baseline: `${fmt(openSeconds.bare)} s (bare ssh2)`,
      ratio: openSeconds.product / openSeconds.bare,
      budget: 'report',
      pass: null,
    });
  } finally {
    await clients?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await product?.stop().catch(() => undefined);
    fleetDown(fleet.dir);
    rmSync(work, { recursive: true, force: true });
  }
}

/** An order taking every fleet host (the enterprise template's five), completed: its id. */
async function orderHosts(url: string, token: string): Promise<number> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/api/provision`, { method: 'POST', headers, body: JSON.stringify({ serviceName: 'bench-terminal', config: { template: 'enterprise' }, targetInfra: 'vsphere' }) });
  const body = (await res.json()) as { project_id?: number };
  if (res.status !== 200 || !body.project_id) throw new Error(`order: ${res.status} ${JSON.stringify(body)}`);
  for (let waited = 0; ; waited += 200) {
    const history = (await (await fetch(`${url}/api/history`, { headers })).json()) as { id: number; status: string }[];
    const status = history.find((p) => p.id === body.project_id)?.status;
    if (status === 'COMPLETED') return body.project_id;
    if (status === 'FAILED' || waited > 60_000) throw new Error(`the order did not complete (${status})`);
    await sleep(200);
  }
}
