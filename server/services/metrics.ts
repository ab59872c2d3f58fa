/**
 * Host metrics for "my resources" and the monitoring page, read from Prometheus (node-exporter
 * series, matched to hosts by address: the `instance` label is `<address>:<port>`): the current
 * CPU / memory / disk use, network in and out, load and uptime per host; time series of them for
 * charts (range queries); the alerts Prometheus reports as firing. Metrics are a nice-to-have: a
 * slow, down or odd Prometheus means "no data" within 2 s and a logged warning, never a failed
 * request.
 */

/** CPU, memory and disk in percent, rounded to one decimal; the rest in their own units. */
export interface HostUsage {
  cpu: number;
  memory: number;
  disk: number;
  /** Bytes per second received / sent on the host's network devices (loopback left out). */
  networkIn: number;
  networkOut: number;
  /** The 1-minute load average. */
  load1: number;
  uptimeSeconds: number;
}

/** How far back a chart looks, and the step of its points (about 240 points each). */
export const METRIC_WINDOWS = {
  H1: { seconds: 3_600, stepSeconds: 15 },
  H6: { seconds: 6 * 3_600, stepSeconds: 90 },
  H24: { seconds: 24 * 3_600, stepSeconds: 360 },
} as const;
export type MetricWindow = keyof typeof METRIC_WINDOWS;

/** One point of a series; `value` null where Prometheus has none (a gap in the chart). */
export interface SeriesPoint {
  at: Date;
  value: number | null;
}

export type SeriesName = 'cpu' | 'memory' | 'disk' | 'networkIn' | 'networkOut' | 'load1';

export interface HostSeriesData {
  window: MetricWindow;
  stepSeconds: number;
  /** False when Prometheus could not be asked (not configured, down, slow): then every series is empty. */
  available: boolean;
  reason: string | null;
  series: Record<SeriesName, SeriesPoint[]>;
}

/** An alert Prometheus reports as firing, on one host (by address). */
export interface FiringAlert {
  name: string;
  severity: string;
  address: string;
  activeAt: Date | null;
  summary: string;
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
  /** Series of the hosts at `ips` over `window` (hosts the source does not know get empty series). */
  series(ips: string[], window: MetricWindow): Promise<Map<string, HostSeriesData>>;
  /** Alerts firing now on any of `ips`. */
  alerts(ips: string[]): Promise<FiringAlert[]>;
  /** Whether the source answers (asks it, within the cache window). */
  status(): Promise<MetricsStatus>;
}

interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

const SERIES_NAMES: SeriesName[] = ['cpu', 'memory', 'disk', 'networkIn', 'networkOut', 'load1'];

function emptySeries(window: MetricWindow, reason: string | null): HostSeriesData {
  return {
    window,
    stepSeconds: METRIC_WINDOWS[window].stepSeconds,
    available: false,
    reason,
    series: Object.fromEntries(SERIES_NAMES.map((n) => [n, []])) as unknown as Record<SeriesName, SeriesPoint[]>,
  };
}

/** PROMETHEUS_URL unset: nothing to ask. */
export class NoMetricsSource implements MetricsSource {
  readonly configured = false;
  async usage(): Promise<Map<string, HostUsage>> {
    return new Map();
  }
  async series(ips: string[], window: MetricWindow): Promise<Map<string, HostSeriesData>> {
    return new Map(ips.map((ip) => [ip, emptySeries(window, 'PROMETHEUS_URL is not set')]));
  }
  async alerts(): Promise<FiringAlert[]> {
    return [];
  }
  async status(): Promise<MetricsStatus> {
    return { configured: false, reachable: null, lastError: null };
  }
}

/** Devices left out of network figures: loopback and the bridges and virtual links of containers. */
const NET_DEVICES = 'device!~"lo|veth.*|docker.*|br-.*|virbr.*"';

/**
 * The node-exporter queries, each answering one value per `instance`. `{sel}` is where a series
 * query narrows them to its hosts (`,instance=~"…"`); the current-usage queries ask for all.
 */
export const PROMETHEUS_TEMPLATES = {
  cpu: '100 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"{sel}}[1m])) * 100',
  memory: '(1 - node_memory_MemAvailable_bytes{sel0} / node_memory_MemTotal_bytes{sel0}) * 100',
  disk: '(1 - node_filesystem_avail_bytes{mountpoint="/"{sel}} / node_filesystem_size_bytes{mountpoint="/"{sel}}) * 100',
  networkIn: `sum by (instance) (rate(node_network_receive_bytes_total{${NET_DEVICES}{sel}}[1m]))`,
  networkOut: `sum by (instance) (rate(node_network_transmit_bytes_total{${NET_DEVICES}{sel}}[1m]))`,
  load1: 'node_load1{sel0}',
  uptimeSeconds: 'time() - node_boot_time_seconds{sel0}',
} as const;

type MetricName = keyof typeof PROMETHEUS_TEMPLATES;
const PERCENT: ReadonlySet<MetricName> = new Set(['cpu', 'memory', 'disk']);

/** A template with its host selector: `{sel}` follows other matchers, `{sel0}` is a whole matcher block. */
function withSelector(template: string, selector: string): string {
  return template.replaceAll('{sel0}', selector ? `{${selector.replace(/^,/, '')}}` : '').replaceAll('{sel}', selector);
}

/** The queries of the current figures, for every host Prometheus knows. */
export const PROMETHEUS_QUERIES = Object.fromEntries(
  Object.entries(PROMETHEUS_TEMPLATES).map(([name, template]) => [name, withSelector(template, '')]),
) as Record<MetricName, string>;

/** A matcher for the `instance` label of these addresses (any port). */
export function instanceSelector(ips: string[]): string {
  const alternatives = ips.map((ip) => `${ip.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')}:[0-9]+`);
  return `,instance=~"${alternatives.join('|')}"`;
}

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
function vectorOf(body: unknown, percent = true): Map<string, number> {
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
    if (!values.has(ip)) values.set(ip, round1(percent ? Math.min(100, Math.max(0, value)) : Math.max(0, value)));
  }
  return values;
}

/** The address → points of a range-vector answer; anything else is an error. */
function matrixOf(body: unknown, percent: boolean): Map<string, SeriesPoint[]> {
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (!b || b.status !== 'success' || b.data?.resultType !== 'matrix' || !Array.isArray(b.data.result)) {
    throw new Error('unexpected answer (not a successful range vector)');
  }
  const out = new Map<string, SeriesPoint[]>();
  for (const series of b.data.result as { metric?: Record<string, unknown>; values?: unknown }[]) {
    const instance = series?.metric?.instance;
    if (typeof instance !== 'string' || !Array.isArray(series.values)) continue;
    const points: SeriesPoint[] = [];
    for (const pair of series.values as unknown[]) {
      if (!Array.isArray(pair)) continue;
      const at = Number(pair[0]);
      const value = Number(pair[1]);
      if (!Number.isFinite(at)) continue;
      points.push({ at: new Date(at * 1000), value: Number.isFinite(value) ? round1(percent ? Math.min(100, Math.max(0, value)) : Math.max(0, value)) : null });
    }
    const ip = ipOfInstance(instance);
    if (!out.has(ip)) out.set(ip, points);
  }
  return out;
}

/**
 * The points a chart shows: one per step over the window, `null` where Prometheus had no value
 * (the host was not scraped then), so a chart shows a gap instead of joining across it.
 */
function onGrid(points: SeriesPoint[], start: number, end: number, stepSeconds: number): SeriesPoint[] {
  const byTime = new Map(points.map((p) => [Math.round(p.at.getTime() / 1000), p.value]));
  const grid: SeriesPoint[] = [];
  for (let t = start; t <= end; t += stepSeconds) grid.push({ at: new Date(t * 1000), value: byTime.get(t) ?? null });
  return grid;
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
      const vectors = await Promise.all(names.map((n) => this.query(PROMETHEUS_QUERIES[n], PERCENT.has(n))));
      const value = Object.fromEntries(names.map((n, i) => [n, vectors[i]])) as Record<MetricName, Map<string, number>>;
      const byIp = new Map<string, HostUsage>();
      for (const ip of new Set(vectors.flatMap((v) => [...v.keys()]))) {
        const usage = Object.fromEntries(names.map((n) => [n, value[n].get(ip) ?? 0])) as unknown as HostUsage;
        byIp.set(ip, usage);
      }
      return { at: Date.now(), byIp, error: null };
    } catch (err) {
      const error = describe(err, this.timeoutMs);
      this.log.warn({ prometheus: this.base, error }, 'metrics unavailable (Prometheus query failed)');
      return { at: Date.now(), byIp: new Map(), error };
    }
  }

  async series(ips: string[], window: MetricWindow): Promise<Map<string, HostSeriesData>> {
    const out = new Map<string, HostSeriesData>();
    if (!ips.length) return out;
    const { seconds, stepSeconds } = METRIC_WINDOWS[window];
    // Aligned to the step, so the points of a chart stay put as it is refreshed.
    const end = Math.floor(Date.now() / 1000 / stepSeconds) * stepSeconds;
    const start = end - seconds;
    const selector = instanceSelector(ips);
    try {
      const matrices = await Promise.all(
        SERIES_NAMES.map((name) =>
          this.get(`/api/v1/query_range?query=${encodeURIComponent(withSelector(PROMETHEUS_TEMPLATES[name], selector))}&start=${start}&end=${end}&step=${stepSeconds}`).then((body) =>
            matrixOf(body, PERCENT.has(name)),
          ),
        ),
      );
      for (const ip of ips) {
        const series = Object.fromEntries(SERIES_NAMES.map((name, i) => [name, onGrid(matrices[i].get(ip) ?? [], start, end, stepSeconds)])) as unknown as Record<SeriesName, SeriesPoint[]>;
        out.set(ip, { window, stepSeconds, available: true, reason: null, series });
      }
    } catch (err) {
      const reason = describe(err, this.timeoutMs);
      this.log.warn({ prometheus: this.base, error: reason }, 'metric series unavailable (Prometheus query failed)');
      for (const ip of ips) out.set(ip, emptySeries(window, reason));
    }
    return out;
  }

  async alerts(ips: string[]): Promise<FiringAlert[]> {
    if (!ips.length) return [];
    const wanted = new Set(ips);
    try {
      const body = (await this.get('/api/v1/alerts')) as { status?: unknown; data?: { alerts?: unknown } };
      if (body?.status !== 'success' || !Array.isArray(body.data?.alerts)) throw new Error('unexpected answer (no alert list)');
      const out: FiringAlert[] = [];
      for (const a of body.data!.alerts as { labels?: Record<string, string>; annotations?: Record<string, string>; state?: string; activeAt?: string }[]) {
        const instance = a.labels?.instance;
        if (a.state !== 'firing' || typeof instance !== 'string') continue;
        const address = ipOfInstance(instance);
        if (!wanted.has(address)) continue;
        const activeAt = a.activeAt ? new Date(a.activeAt) : null;
        out.push({
          name: a.labels?.alertname ?? 'unnamed',
          severity: a.labels?.severity ?? 'none',
          address,
          activeAt: activeAt && Number.isFinite(activeAt.getTime()) ? activeAt : null,
          summary: a.annotations?.summary ?? a.annotations?.description ?? '',
        });
      }
      return out.sort((x, y) => (y.activeAt?.getTime() ?? 0) - (x.activeAt?.getTime() ?? 0));
    } catch (err) {
      this.log.warn({ prometheus: this.base, error: describe(err, this.timeoutMs) }, 'alerts unavailable (Prometheus query failed)');
      return [];
    }
  }

  private async query(promql: string, percent: boolean): Promise<Map<string, number>> {
    return vectorOf(await this.get(`/api/v1/query?query=${encodeURIComponent(promql)}`), percent);
  }

  private async get(path: string): Promise<unknown> {
    const res = await fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${res.status}`);
    }
    return res.json();
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
