/**
 * Debian's real Prometheus for tests: the `prometheus` binary on a free port, its data in a
 * temporary directory, scraping every second. Its configuration is deploy/prometheus's, with the
 * paths and addresses of the test put in: the file_sd job for the hosts H-CMP registers, the
 * platform job for H-CMP's own /metrics, and the alerting rules (their `for:` cut to 0 s). Skipped with a message where
 * the binary is missing, unless REQUIRE_PROMETHEUS=1 (CI).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './private-postgres.js';
import { ROOT } from './process.js';

export const PROMETHEUS_REQUIRED = /^(1|true|yes)$/i.test(process.env.REQUIRE_PROMETHEUS ?? '');

export function shouldRunPrometheus(suite: string): boolean {
  const missing = ['prometheus', 'promtool'].filter((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).status !== 0);
  if (!missing.length) return true;
  if (PROMETHEUS_REQUIRED) throw new Error(`REQUIRE_PROMETHEUS is set but ${missing.join(' and ')} is not installed (apt-get install prometheus)`);
  console.warn(`SKIPPING suite "${suite}": ${missing.join(' and ')} not installed (apt-get install prometheus).`);
  return false;
}

export interface TestPrometheus {
  url: string;
  /** The file_sd file H-CMP should write (PROMETHEUS_SD_FILE). */
  sdFile: string;
  /** Runs an instant query; answers the result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** The scrape targets Prometheus has now. */
  targets(): Promise<{ labels: Record<string, string>; health: string; scrapeUrl: string }[]>;
  /** Points the platform job at H-CMP's address (host:port) and reloads the configuration (SIGHUP). */
  scrapePlatform(address: string): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface PrometheusOptions {
  /** H-CMP's address (host:port) for the platform job; omitted: no platform job. */
  platform?: string;
  /** Scrape and evaluation interval, seconds. */
  intervalSeconds?: number;
  /** Keep the rules' `for:` durations (default: cut to 0 s, so alerts fire at once). */
  keepRuleDurations?: boolean;
}

/** deploy/prometheus/prometheus.yml with the test's paths, addresses and a fast interval. */
function configFor(dir: string, sdFile: string, options: PrometheusOptions): string {
  const interval = `${options.intervalSeconds ?? 1}s`;
  const shipped = readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8');
  let config = shipped
    .replace(/scrape_interval: \S+/g, `scrape_interval: ${interval}`)
    .replace(/evaluation_interval: \S+/g, `evaluation_interval: ${interval}`)
    .replace(/refresh_interval: \S+/g, 'refresh_interval: 1s')
    .replace('/var/lib/hcmp/prometheus-targets.json', sdFile)
    .replace(/- hcmp-alerts\.yml/, `- ${join(dir, 'hcmp-alerts.yml')}`);
  // The shipped rules, their waiting times cut to nothing, so an alert fires at its first evaluation.
  const rules = readFileSync(join(ROOT, 'deploy', 'prometheus', 'hcmp-alerts.yml'), 'utf8');
  writeFileSync(join(dir, 'hcmp-alerts.yml'), options.keepRuleDurations ? rules : rules.replace(/^(\s+)for: \S+$/gm, '$1for: 0s'));
  if (options.platform) config = config.replace('localhost:8000', options.platform);
  // No token file in tests (H-CMP's /metrics is open in test mode).
  config = config.replace(/^\s*authorization:\n\s*credentials_file: .*\n/m, '');
  if (!options.platform) config = config.replace(/\n  - job_name: hcmp\n[\s\S]*$/, '\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  return join(dir, 'prometheus.yml');
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-prometheus-'));
  const sdFile = join(dir, 'targets.json');
  writeFileSync(sdFile, '[]\n');
  let configFile = configFor(dir, sdFile, options);
  const check = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`promtool check config failed:\n${check.stdout}${check.stderr}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let log = '';

  const start = async () => {
    child = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 200; i++) {
      try {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not yet
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`prometheus did not get ready:\n${log.slice(-3000)}`);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  };
  const api = async (path: string) => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: any; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  await start();
  return {
    url,
    sdFile,
    query: async (promql) => (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    targets: async () => (await api('/api/v1/targets?state=active')).activeTargets,
    async scrapePlatform(address) {
      configFile = configFor(dir, sdFile, { ...options, platform: address });
      const check = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
      if (check.status !== 0) throw new Error(`promtool check config failed:\n${check.stdout}${check.stderr}`);
      child?.kill('SIGHUP');
      for (let i = 0; i < 100; i++) {
        const jobs = ((await api('/api/v1/targets?state=active')).activeTargets as { labels: Record<string, string> }[]).map((t) => t.labels.job);
        if (jobs.includes('hcmp')) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`prometheus did not take up the platform job:\n${log.slice(-2000)}`);
    },
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
