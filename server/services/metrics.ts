/**
 * Host metrics for "my resources" and the monitoring page: CPU / memory / disk usage per IP
 * address, read from Prometheus (node-exporter series). Metrics are a nice-to-have: a slow,
 * down or odd Prometheus means "no metrics" and a logged warning, never a failed request.
 */

/** Usage in percent, rounded to one decimal. */
export interface HostUsage {
  cpu: number;
  memory: number;
  disk: number;
}

export interface MetricsStatus {
  configured: boolean;
  /** null when not configured. */
  reachable: boolean | null;
  lastError: string | null;
}

export interface MetricsSource {
  readonly configured: boolean;
  /** Usage of those of `ips` the source knows; the others are absent from the map. */
  usage(ips: string[]): Promise<Map<string, HostUsage>>;
  /** Whether the source answers (asks it, within the cache window). */
  status(): Promise<MetricsStatus>;
}

interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/** PROMETHEUS_URL unset: nothing to ask. */
export class NoMetricsSource implements MetricsSource {
  readonly configured = false;
  async usage(): Promise<Map<string, HostUsage>> {
    return new Map();
  }
  async status(): Promise<MetricsStatus> {
    return { configured: false, reachable: null, lastError: null };
  }
}

export const PROMETHEUS_QUERIES = {
  cpu: '100 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])) * 100',
  memory: '(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100',
  disk: '(1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"}) * 100',
} as const;

type MetricName = keyof typeof PROMETHEUS_QUERIES;

export interface PrometheusOptions {
  /** Per request to Prometheus; default 2 s. */
  timeoutMs?: number;
  /** How long an answer (or a failure) is reused; default 5 s. */
  cacheMs?: number;
}

interface Snapshot {
  at: number;
  byIp: Map<string, HostUsage>;
  error: string | null;
}

/** "10.0.0.5:9100" → "10.0.0.5", "[fd00::1]:9100" → "fd00::1". */
export function ipOfInstance(instance: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(instance);
  if (bracketed) return bracketed[1];
  const hostPort = /^([^:]+):\d+$/.exec(instance);
  return hostPort ? hostPort[1] : instance;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** The instance → value pairs of an instant-vector answer; anything else is an error. */
function vectorOf(body: unknown): Map<string, number> {
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (!b || b.status !== 'success' || b.data?.resultType !== 'vector' || !Array.isArray(b.data.result)) {
    throw new Error('unexpected answer (not a successful instant vector)');
  }
  const values = new Map<string, number>();
  for (const sample of b.data.result as { metric?: Record<string, unknown>; value?: unknown }[]) {
    const instance = sample?.metric?.instance;
    const raw = Array.isArray(sample?.value) ? sample.value[1] : undefined;
    const value = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : NaN;
    if (typeof instance !== 'string' || !Number.isFinite(value)) continue;
    const ip = ipOfInstance(instance);
    if (!values.has(ip)) values.set(ip, round1(Math.min(100, Math.max(0, value))));
  }
  return values;
}

export class PrometheusMetricsSource implements MetricsSource {
  readonly configured = true;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private snapshot: Snapshot | null = null;
  private inFlight: Promise<Snapshot> | null = null;

  constructor(url: string, private readonly log: WarnLogger, options: PrometheusOptions = {}) {
    this.base = url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.cacheMs = options.cacheMs ?? 5_000;
  }

  async usage(ips: string[]): Promise<Map<string, HostUsage>> {
    const { byIp } = await this.current();
    const found = new Map<string, HostUsage>();
    for (const ip of ips) {
      const u = byIp.get(ip);
      if (u) found.set(ip, u);
    }
    return found;
  }

  async status(): Promise<MetricsStatus> {
    const { error } = await this.current();
    return { configured: true, reachable: error === null, lastError: error };
  }

  /** The cached snapshot, or one fresh fetch shared by every caller waiting for it. */
  private current(): Promise<Snapshot> {
    if (this.snapshot && Date.now() - this.snapshot.at < this.cacheMs) return Promise.resolve(this.snapshot);
    this.inFlight ??= this.fetchAll().then((s) => {
      this.snapshot = s;
      this.inFlight = null;
      return s;
    });
    return this.inFlight;
  }

  private async fetchAll(): Promise<Snapshot> {
    try {
      const names = Object.keys(PROMETHEUS_QUERIES) as MetricName[];
      const vectors = await Promise.all(names.map((n) => this.query(PROMETHEUS_QUERIES[n])));
      const [cpu, memory, disk] = vectors;
      const byIp = new Map<string, HostUsage>();
      for (const ip of new Set([...cpu.keys(), ...memory.keys(), ...disk.keys()])) {
        byIp.set(ip, { cpu: cpu.get(ip) ?? 0, memory: memory.get(ip) ?? 0, disk: disk.get(ip) ?? 0 });
      }
      return { at: Date.now(), byIp, error: null };
    } catch (err) {
      const error = describe(err, this.timeoutMs);
      this.log.warn({ prometheus: this.base, error }, 'metrics unavailable (Prometheus query failed)');
      return { at: Date.now(), byIp: new Map(), error };
    }
  }

  private async query(promql: string): Promise<Map<string, number>> {
    const url = `${this.base}/api/v1/query?query=${encodeURIComponent(promql)}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${res.status}`);
    }
    return vectorOf(await res.json());
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = (err as { cause?: { code?: unknown } }).cause;
    if (cause && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
    return err.message;
  }
  return String(err);
}

export function createMetricsSource(prometheusUrl: string | undefined, log: WarnLogger, options?: PrometheusOptions): MetricsSource {
  return prometheusUrl ? new PrometheusMetricsSource(prometheusUrl, log, options) : new NoMetricsSource();
}
