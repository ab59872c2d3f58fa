/**
 * Readiness and liveness, the usual split:
 *
 * - `/healthz` (readiness): can this instance serve? It asks the database a cheap question with
 *   a short timeout and answers 503 `{"status":"degraded", "database": {…, "reachable": false}}`
 *   while it gets no answer, so a load balancer sends requests elsewhere until it is back.
 * - `/livez` (liveness): is the process itself fine? 200 as long as it answers at all; a
 *   database outage is no reason to restart the process (it would only lose its running jobs).
 */
import type { FastifyInstance } from 'fastify';
import type { DatabaseInfo } from './db/orm.js';
import { HEALTHZ_SCHEMA, LIVEZ_SCHEMA } from './rest/schemas/platform.schema.js';

/** How long /healthz waits for the database before it calls it unreachable. */
export const HEALTH_PROBE_TIMEOUT_MS = 2_000;

export interface HealthOptions {
  database: DatabaseInfo;
  /** A cheap statement on the database (`select 1`); rejects or hangs when it is unreachable. */
  probe: () => Promise<unknown>;
  runner: () => Record<string, unknown>;
  probeTimeoutMs?: number;
}

type ProbeResult = { reachable: true; latency_ms: number } | { reachable: false; error: string };

/** What /healthz says of a failure: the driver's code or a short reason, never a host or a password. */
function failureOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  const message = err instanceof Error ? err.message : String(err);
  return /timed out/.test(message) ? message : 'unreachable';
}

async function probeDatabase(probe: () => Promise<unknown>, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { reachable: true, latency_ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { reachable: false, error: failureOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(http: FastifyInstance, options: HealthOptions): void {
  const { database } = options;
  http.get('/healthz', { schema: HEALTHZ_SCHEMA }, async (_request, reply) => {
    const probe = await probeDatabase(options.probe, options.probeTimeoutMs ?? HEALTH_PROBE_TIMEOUT_MS);
    void reply.header('cache-control', 'no-store');
    if (!probe.reachable) void reply.code(503);
    return {
      status: probe.reachable ? 'ok' : 'degraded',
      database: {
        backend: database.backend,
        fell_back: database.fellBack,
        ...(database.fallbackReason ? { reason: database.fallbackReason } : {}),
        ...probe,
      },
      runner: options.runner(),
    };
  });
  http.get('/livez', { schema: LIVEZ_SCHEMA }, async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    return { status: 'ok', uptime_seconds: Math.round(process.uptime()) };
  });
}
