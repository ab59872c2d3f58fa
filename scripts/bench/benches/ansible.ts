/**
 * 6. The Ansible runner on real hosts: a fleet of three network-namespace hosts on this machine
 * (scripts/fleet/lib.ts; needs root) and the default playbooks, standard template.
 *
 * - Overhead: the time from an order to COMPLETED (seen by a provisionStatus subscriber) against
 *   a bare `ansible-playbook` of the same playbook, inventory and variables on the same hosts,
 *   with the same settings, in the same run; rounds alternate which goes first, each starts from
 *   torn-down hosts. Budget ≤ 1.2×.
 * - Latency: from a callback line (its `_timestamp`, written by the JSON-lines callback as it
 *   prints it) to the subscriber's event carrying its log line. The product runs ansible-playbook
 *   through a wrapper that tees the raw lines to a file, so each line's time is known; the lines
 *   are translated as the runner does and matched in order to the events received. Budget p99
 *   ≤ 100 ms.
 *
 * Skipped (said in the log, no figures) where it cannot run: not root, or no ansible-playbook.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { fleetDown, fleetUp, waitForSsh, type Fleet } from '../../fleet/lib.js';
import { loadCatalog } from '../../../server/config/catalog.js';
import { playbookEnvironment } from '../../../server/runners/ansible/ansible-runner.js';
import { PlaybookTranslator } from '../../../server/runners/ansible/events.js';
import { hcmpVars, hcmpVarsYaml, inventoryHosts, inventoryYaml, rolesOf } from '../../../server/runners/ansible/inventory.js';
import { parseProvisionInput } from '../../../server/services/provision-input.js';
import type { BenchContext } from '../lib/context.js';
import { ratioBudget } from '../lib/context.js';
import { ROOT } from '../lib/ipc.js';
import { ADMIN_PASSWORD, ProductServer } from '../lib/servers.js';
import { fmt, median, percentile, sleep } from '../lib/stats.js';

const PLAYBOOKS = join(ROOT, 'playbooks');
const ORDER = { serviceName: 'bench-ansible', config: { template: 'standard', packages: ['nginx'] }, targetInfra: { type: 'vsphere' } };

function missing(): string | null {
  if (userInfo().uid !== 0) return 'needs root (the fleet is network namespaces)';
  if (spawnSync('ansible-playbook', ['--version'], { stdio: 'ignore' }).status !== 0) return 'needs ansible-playbook (apt-get install ansible)';
  return null;
}

/** A bare ansible-playbook of `playbook` against the fleet, its output read and dropped; answers seconds. */
async function bare(fleet: Fleet, playbook: 'provision' | 'teardown'): Promise<number> {
  const catalog = loadCatalog(undefined);
  const spec = parseProvisionInput(ORDER, catalog, 'bench');
  const hosts = inventoryHosts(
    fleet.hosts.map((h) => ({ vmName: h.name, ipAddress: h.address })),
    rolesOf(spec, catalog, fleet.hosts.length),
  );
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-bare-'));
  try {
    for (const sub of ['cp', 'tmp', 'home']) mkdirSync(join(dir, sub), { mode: 0o700 });
    writeFileSync(join(dir, 'known_hosts'), '');
    writeFileSync(join(dir, 'id_key'), readFileSync(fleet.keyFile), { mode: 0o600 });
    writeFileSync(join(dir, 'inventory.yml'), inventoryYaml(hosts));
    writeFileSync(join(dir, 'hcmp.yml'), hcmpVarsYaml(hcmpVars(1, spec, hosts)));
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('ansible-playbook', ['-i', join(dir, 'inventory.yml'), '-e', `@${join(dir, 'hcmp.yml')}`, join(PLAYBOOKS, `${playbook}.yml`)], {
        cwd: PLAYBOOKS,
        // The runner's own settings for a run (one code path: the same environment).
        env: playbookEnvironment({ dir, projectId: 1, user: 'root', hostCount: hosts.length, searchPath: process.env.PATH ?? '/usr/bin:/bin' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', () => undefined);
      child.stderr.on('data', () => undefined);
      child.on('close', resolve);
    });
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`bare ansible-playbook ${playbook}.yml exited ${code}`);
    return seconds;
  } finally {
    spawnSync('pkill', ['-f', `${dir}/cp/`]);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ProductRound {
  seconds: number;
  latenciesMs: number[];
}

async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'admin', password: ADMIN_PASSWORD }) });
  if (res.status !== 200) throw new Error(`login: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** One order through the product, followed live; then its deletion. */
async function productRound(url: string, token: string, teeDir: string): Promise<ProductRound> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const client = createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const received: { message: string; at: number }[] = [];
  try {
    for (const f of readdirSync(teeDir)) rmSync(join(teeDir, f));
    const started = performance.now();
    const res = await fetch(`${url}/api/provision`, { method: 'POST', headers, body: JSON.stringify(ORDER) });
    const body = (await res.json()) as { project_id?: number };
    if (res.status !== 200 || !body.project_id) throw new Error(`order: ${res.status} ${JSON.stringify(body)}`);
    const id = body.project_id;
    const final = await new Promise<string>((resolve, reject) => {
      client.subscribe<{ provisionStatus: { kind: string; status: string; message: string | null } }>(
        { query: 'subscription($id: Int!) { provisionStatus(projectId: $id, afterSeq: 0) { kind status message } }', variables: { id } },
        {
          next: (m) => {
            const e = m.data?.provisionStatus;
            if (!e) return;
            if (e.message) received.push({ message: e.message, at: Date.now() });
            if ((e.kind === 'status' || e.kind === 'error') && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(e.status)) resolve(e.status);
          },
          error: reject,
          complete: () => resolve('ended'),
        },
      );
    });
    const seconds = (performance.now() - started) / 1000;
    if (final !== 'COMPLETED') throw new Error(`the product's run ended ${final}: ${received.slice(-3).map((r) => r.message).join(' | ')}`);
    // The raw lines of this run (not --list-tasks'), with their callback timestamps.
    const lines = readdirSync(teeDir)
      .map((f) => readFileSync(join(teeDir, f), 'utf8'))
      .find((text) => text.includes('v2_playbook_on_stats'));
    if (!lines) throw new Error('no teed output of the run');
    const translator = new PlaybookTranslator(new Map());
    const latenciesMs: number[] = [];
    let cursor = 0;
    for (const line of lines.split('\n')) {
      const stamp = /"_timestamp":"([^"]+)"/.exec(line)?.[1];
      if (!stamp) continue;
      const emitted = Date.parse(stamp.endsWith('Z') ? stamp : `${stamp}Z`);
      for (const out of translator.translate(line)) {
        for (const log of out.kind === 'recap' ? out.logs : [out.log]) {
          const at = received.findIndex((r, i) => i >= cursor && r.message.replace(/^\[[^\]]+\] /, '') === log.replace(/^\[[^\]]+\] /, ''));
          if (at < 0) continue;
          cursor = at + 1;
          latenciesMs.push(received[at].at - emitted);
        }
      }
    }
    if (latenciesMs.length < 20) throw new Error(`only ${latenciesMs.length} callback lines matched the events received`);
    const del = await fetch(`${url}/api/provision/${id}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    if (del.status !== 200) throw new Error(`delete: ${del.status}`);
    for (let waited = 0; ; waited += 500) {
      const history = (await (await fetch(`${url}/api/history`, { headers: { authorization: headers.authorization } })).json()) as { id: number }[];
      if (!history.some((p) => p.id === id)) break;
      if (waited > 180_000) throw new Error('the teardown did not finish within 3 minutes');
      await sleep(500);
    }
    return { seconds, latenciesMs };
  } finally {
    await client.dispose();
  }
}

export async function ansibleRunner(ctx: BenchContext): Promise<void> {
  const why = missing();
  if (why) {
    ctx.log(`    skipped: ${why}`);
    return;
  }
  const rounds = ctx.opts.quick ? 1 : 3;
  const work = mkdtempSync(join(tmpdir(), 'hcmp-bench-ansible-'));
  const teeDir = join(work, 'tee');
  mkdirSync(teeDir);
  // ansible-playbook as the product runs it, its stdout copied to a file as it comes.
  const wrapper = join(work, 'ansible-playbook');
  writeFileSync(wrapper, `#!/bin/bash\nset -o pipefail\nansible-playbook "$@" | tee "${teeDir}/run-$$-$RANDOM.jsonl"\n`);
  chmodSync(wrapper, 0o755);
  const fleet = fleetUp(3, { name: `b${process.pid % 10000}`.slice(0, 6), subnet: '10.119.7', dir: join(work, 'fleet') });
  let product: ProductServer | undefined;
  try {
    await waitForSsh(fleet);
    // Warm up (first contacts, caches) and start from torn-down hosts.
    await bare(fleet, 'provision');
    await bare(fleet, 'teardown');
    product = await ProductServer.start('product-ansible', ctx.opts.settings, {
      db: await ctx.dbs.fresh('sqlite', 'ansible'),
      poolPath: join(work, 'pool.json'),
      poolHosts: readFileSync(fleet.poolFile, 'utf8'),
      env: { RUNNER: 'ansible', ANSIBLE_PLAYBOOK: wrapper, ANSIBLE_PLAYBOOK_DIR: PLAYBOOKS, ANSIBLE_RUN_DIR: join(work, 'runs'), SSH_USER: 'root', SSH_PRIVATE_KEY_FILE: fleet.keyFile },
    });
    const token = await login(product.url);
    const bareSeconds: number[] = [];
    const productSeconds: number[] = [];
    const latencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['bare', 'product'] as const) : (['product', 'bare'] as const);
      for (const which of order) {
        if (which === 'bare') {
          bareSeconds.push(await bare(fleet, 'provision'));
          await bare(fleet, 'teardown');
        } else {
          const r = await productRound(product.url, token, teeDir);
          productSeconds.push(r.seconds);
          latencies.push(...r.latenciesMs);
        }
      }
      ctx.log(`    round ${round + 1}: bare ansible-playbook ${fmt(bareSeconds.at(-1)!)} s, through H-CMP ${fmt(productSeconds.at(-1)!)} s (order to COMPLETED at the subscriber)`);
    }
    ctx.detail('6', { bareSeconds, productSeconds, latencies });
    const ratio = median(productSeconds) / median(bareSeconds);
    ctx.row({
      bench: 6,
      name: 'Ansible run, standard template on 3 hosts: order → COMPLETED',
      figure: `${fmt(median(productSeconds))} s`,
      baseline: `${fmt(median(bareSeconds))} s (bare ansible-playbook)`,
      ratio,
      ...ratioBudget(ratio, { max: 1.2 }),
    });
    const p99 = percentile(latencies, 99);
    ctx.row({
      bench: 6,
      name: 'callback line → subscriber event',
      figure: `p99 ${fmt(p99)} ms (p50 ${fmt(percentile(latencies, 50))} ms, ${latencies.length} lines)`,
      baseline: '',
      ratio: null,
      budget: '≤ 100 ms',
      pass: p99 <= 100,
    });
  } finally {
    await product?.stop().catch(() => undefined);
    fleetDown(fleet.dir);
    spawnSync('pkill', ['-f', `${work}/`]);
    rmSync(work, { recursive: true, force: true });
  }
}
