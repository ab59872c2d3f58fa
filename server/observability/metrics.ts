/**
 * The platform's own metrics, `GET /metrics` in Prometheus' text format (prom-client), one
 * registry per app (tests start several apps in one process; the global registry is never used).
 *
 * A scrape never waits for the database: what needs SQL (pool hosts, jobs nobody claimed) is
 * read by a timer every {@link DATABASE_GAUGES_REFRESH_MS} and the scrape shows the last values;
 * everything else is counted as it happens or read from memory when scraped. Each instance
 * exposes its own; sum them in Prometheus.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { sql, type SqlTarget } from '../db/sql.js';
import { HOST_STATUSES, INFRA_TYPES, type InfraType } from '../entities/index.js';
import type { RunObserver, RunOutcome } from '../runners/dispatcher.js';
import type { ProjectEventBus } from '../services/event-bus.js';
import type { WorkloadPool } from '../services/workload-pool.js';
import { registerMetricsRoute } from './metrics-route.js';
import { REQUEST_BUCKETS, timeRequests, type RequestLabel } from './request-timing.js';

/** How often the gauges that need SQL are read again. */
export const DATABASE_GAUGES_REFRESH_MS = 5_000;

const RUN_OUTCOMES: readonly RunOutcome[] = ['COMPLETED', 'FAILED', 'CANCELLED'];
/** Seconds from a claim to the end of a run: a mock run takes seconds, a playbook minutes (ANSIBLE_RUN_TIMEOUT_MINUTES: 60 by default). */
const PROVISION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/** What the metrics read once the app is built. */
export interface MetricsSources {
  bus: ProjectEventBus;
  dispatcher: { readonly load: { running: number } };
  pool: WorkloadPool;
  /** Plain SQL target (the root EntityManager): counts only, no unit of work. */
  db: SqlTarget;
  postgres: boolean;
}

export class PlatformMetrics implements RunObserver {
  readonly registry = new Registry();
  private readonly provisions: Counter<'infra' | 'status'>;
  private readonly provisionSeconds: Histogram<'infra' | 'status'>;
  private readonly runnerJobs: Gauge<'state'>;
  private readonly poolHosts: Gauge<'infra' | 'state'>;
  private sources: MetricsSources | undefined;
  /** Listeners on the bus's change topics that are the server's own (the dispatcher's), not subscriptions. */
  private internalChangeListeners = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private refreshFailing = false;
  private closed = false;

  constructor(private readonly log: FastifyBaseLogger) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.provisions = new Counter({
      name: 'hcmp_provisions_total',
      help: 'Provisioning runs this instance ended, by infrastructure and final status (COMPLETED, FAILED, CANCELLED); a run cancelled before any instance claimed it is not counted.',
      labelNames: ['infra', 'status'],
      registers,
    });
    this.provisionSeconds = new Histogram({
      name: 'hcmp_provision_duration_seconds',
      help: "Seconds from this instance's claim of a provisioning run to its end (a resumed run: from the resuming instance's claim), by infrastructure and final status; runs settled without running (interrupted and not resumable, or cancelled at the claim) are not observed.",
      labelNames: ['infra', 'status'],
      buckets: PROVISION_BUCKETS,
      registers,
    });
    for (const infra of INFRA_TYPES) {
      for (const status of RUN_OUTCOMES) {
        this.provisions.inc({ infra, status }, 0);
        this.provisionSeconds.zero({ infra, status });
      }
    }
    const metrics = this;
    this.runnerJobs = new Gauge({
      name: 'hcmp_runner_jobs',
      help: `Jobs (orders, resumptions, teardowns) by state: running = running on this instance; queued = waiting for any instance to claim them (the shared queue, read every ${DATABASE_GAUGES_REFRESH_MS / 1000} s).`,
      labelNames: ['state'],
      registers,
      collect() {
        if (metrics.sources) this.set({ state: 'running' }, metrics.sources.dispatcher.load.running);
      },
    });
    this.poolHosts = new Gauge({
      name: 'hcmp_pool_hosts',
      help: `Workload pool hosts by infrastructure and state (available, provisioning, assigned, drained), read every ${DATABASE_GAUGES_REFRESH_MS / 1000} s.`,
      labelNames: ['infra', 'state'],
      registers,
    });
    new Gauge({
      name: 'hcmp_graphql_subscriptions',
      help: 'Open GraphQL subscriptions on this instance: provisionStatus (one project each) and projectChanges (list streams).',
      labelNames: ['subscription'],
      registers,
      collect() {
        const bus = metrics.sources?.bus;
        if (!bus) return;
        this.set({ subscription: 'provisionStatus' }, bus.subscriberCount());
        this.set({ subscription: 'projectChanges' }, Math.max(0, bus.changeListenerCount() - metrics.internalChangeListeners));
      },
    });
    let counted = 0;
    new Counter({
      name: 'hcmp_events_published_total',
      help: 'Project events delivered to the event bus of this instance, watched or not: every committed event it heard of (in-process on SQLite; on PostgreSQL through LISTEN/NOTIFY, from every instance, so do not sum across instances).',
      registers,
      collect() {
        const published = metrics.sources?.bus.published ?? counted;
        this.inc(published - counted);
        counted = published;
      },
    });
  }

  /** The dispatcher's observer: a run ended with `status` (see RunObserver). */
  runFinished(infra: InfraType, status: RunOutcome, seconds: number | null): void {
    this.provisions.inc({ infra, status });
    if (seconds !== null) this.provisionSeconds.observe({ infra, status }, seconds);
  }

  /**
   * Starts reading the sources: the database gauges now, then every DATABASE_GAUGES_REFRESH_MS.
   * Call once the dispatcher has started and before the server listens (the bus's change
   * listeners at that moment are the server's own, not subscriptions).
   */
  async start(sources: MetricsSources): Promise<void> {
    this.sources = sources;
    this.internalChangeListeners = sources.bus.changeListenerCount();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), DATABASE_GAUGES_REFRESH_MS);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** Reads the pool and queue counts; on failure the gauges keep their last values (said once per outage). */
  private async refresh(): Promise<void> {
    const sources = this.sources;
    if (!sources || this.refreshing || this.closed) return;
    this.refreshing = true;
    try {
      const [hosts, queued] = await Promise.all([sources.pool.counts(sources.db), countQueuedJobs(sources.db, sources.postgres)]);
      for (const entry of hosts) {
        for (const state of HOST_STATUSES) this.poolHosts.set({ infra: entry.infra, state }, entry[state]);
      }
      this.runnerJobs.set({ state: 'queued' }, queued);
      if (this.refreshFailing) this.log.info('metrics: pool and queue gauges are read again');
      this.refreshFailing = false;
    } catch (err) {
      if (!this.refreshFailing && !this.closed) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics: cannot read the pool and queue gauges; /metrics shows their last values until the database answers');
      }
      this.refreshFailing = true;
    } finally {
      this.refreshing = false;
    }
  }
}

/**
 * Jobs no instance holds: what the dispatcher's claim query looks for (runners/dispatcher.ts,
 * claimNext), counted.
 */
async function countQueuedJobs(db: SqlTarget, postgres: boolean): Promise<number> {
  const [row]: { n: number | string }[] = await sql(
    db,
    // SQLite is told the index, as in claimNext: claimed_by is null on every finished project too.
    `select count(*) as n from projects${postgres ? '' : ' indexed by projects_status_id_idx'} where claimed_by is null and status in ('PENDING', 'RUNNING', 'DELETING')`,
    [],
  );
  return Number(row.n);
}

/**
 * Sets up the platform's metrics on `http` before any other route: the request timing hooks
 * and `GET /metrics`. Null (and said once in the log) when the endpoint is off: production
 * without METRICS_TOKEN, where nothing is counted and /metrics is not a route.
 */
export function registerPlatformMetrics(http: FastifyInstance, options: Config['metrics'], log: FastifyBaseLogger): PlatformMetrics | null {
  if (!options.enabled) {
    log.info('GET /metrics is off: METRICS_TOKEN is not set (production); set it to let Prometheus scrape this instance');
    return null;
  }
  if (options.token === undefined) log.info('GET /metrics is open without a token (no METRICS_TOKEN; development or test)');
  const metrics = new PlatformMetrics(log);
  timeRequests(
    http,
    new Histogram<RequestLabel>({
      name: 'http_request_duration_seconds',
      help: 'Seconds from receiving an HTTP request to answering it, by route template (/graphql for GraphQL, unmatched for no route, static for console files), method and status code.',
      labelNames: ['route', 'method', 'status'],
      buckets: REQUEST_BUCKETS,
      registers: [metrics.registry],
    }),
  );
  registerMetricsRoute(http, metrics.registry, options.token);
  return metrics;
}
