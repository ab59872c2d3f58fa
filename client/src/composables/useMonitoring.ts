/**
 * The monitoring page's data: the caller's resources and the metrics status, polled every
 * ~10 s into a rolling chart series; the latest runs (history) with their stored log lines,
 * RUNNING ones followed live through `provisionStatus`.
 */
import type { Client } from 'graphql-ws/client';
import { computed, onScopeDispose, ref, shallowRef } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import {
  MonitoringResourcesDocument,
  MonitoringRunsDocument,
  MonitoringStatusDocument,
  ProvisionStatusDocument,
  type MonitoringResourcesQuery,
  type MonitoringRunsQuery,
  type MonitoringStatusQuery,
} from '../graphql/generated/operations';
import { createSubscriptionClient, subscribe } from '../graphql/subscriptions';
import { isFinalEvent } from '../utils/project-status';
import { averages, deriveAlarms, newestFirst, pushPoint, type ChartPoint, type LogLine } from '../utils/monitoring';
import { toApiError } from './useGraphQL';

export const POLL_MS = 10_000;
export const RECENT_RUNS = 5;

type Run = MonitoringRunsQuery['history']['nodes'][number];
export type MonitoringStatus = MonitoringStatusQuery['monitoringStatus'];

let sharedClient: Client | null = null;

export function useMonitoring(options: { pollMs?: number } = {}) {
  const rows = shallowRef<MonitoringResourcesQuery['resources']>([]);
  const status = shallowRef<MonitoringStatus | null>(null);
  const runs = shallowRef<Run[]>([]);
  const series = shallowRef<ChartPoint[]>([]);
  const liveLines = shallowRef<LogLine[]>([]);
  const following = ref(new Set<number>());
  const error = shallowRef<ApiError | null>(null);
  const loading = ref(true);
  const updatedAt = ref<Date | null>(null);

  const unsubscribers = new Map<number, () => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  const average = computed(() => averages(rows.value));
  const alarms = computed(() =>
    deriveAlarms(runs.value, rows.value, { configured: status.value?.metricsConfigured ?? false, reachable: status.value?.metricsReachable ?? null }),
  );
  const storedLines = computed<LogLine[]>(() =>
    runs.value.flatMap((run) => run.logs.map((text, i) => ({ key: `${run.id}-s${i}`, projectId: run.id, serviceName: run.serviceName, seq: i, text }))),
  );
  const logLines = computed(() => newestFirst([...storedLines.value, ...liveLines.value]));

  async function poll(): Promise<void> {
    try {
      const [resources, monitoring] = await Promise.all([api.request(MonitoringResourcesDocument, {}), api.request(MonitoringStatusDocument, {})]);
      if (disposed) return;
      rows.value = resources.resources;
      status.value = monitoring.monitoringStatus;
      const avg = averages(resources.resources);
      if (avg) series.value = pushPoint(series.value, { at: Date.now(), cpu: avg.cpu, memory: avg.memory });
      updatedAt.value = new Date();
      error.value = null;
    } catch (err) {
      if (!disposed) error.value = toApiError(err);
    }
  }

  async function loadRuns(): Promise<void> {
    try {
      const { history } = await api.request(MonitoringRunsDocument, { first: RECENT_RUNS });
      if (disposed) return;
      runs.value = history.nodes;
      liveLines.value = liveLines.value.filter((l) => history.nodes.some((r) => r.id === l.projectId && r.status === 'RUNNING'));
      for (const run of history.nodes) if (run.status === 'RUNNING' || run.status === 'PENDING') follow(run);
    } catch (err) {
      if (!disposed) error.value = toApiError(err);
    }
  }

  function follow(run: Run): void {
    if (unsubscribers.has(run.id)) return;
    sharedClient ??= createSubscriptionClient({ retryAttempts: 0 });
    let order = run.logs.length;
    following.value = new Set([...following.value, run.id]);
    const stop = () => {
      unsubscribers.get(run.id)?.();
      unsubscribers.delete(run.id);
      const next = new Set(following.value);
      next.delete(run.id);
      following.value = next;
    };
    const unsubscribe = subscribe(sharedClient, ProvisionStatusDocument, { projectId: run.id, afterSeq: run.lastSeq }, {
      next: ({ provisionStatus: e }) => {
        if (e.kind === 'log' && e.message) {
          liveLines.value = [...liveLines.value, { key: `${run.id}-l${e.seq}`, projectId: run.id, serviceName: run.serviceName, seq: order++, text: e.message }];
        }
        // COMPLETED, FAILED or CANCELLED: the run is over (its stream ends here too).
        if (isFinalEvent(e)) {
          stop();
          void loadRuns();
          void poll();
        }
      },
      error: () => stop(),
      complete: () => stop(),
    });
    unsubscribers.set(run.id, unsubscribe);
  }

  function schedule(): void {
    timer = setTimeout(async () => {
      await poll();
      if (!disposed) schedule();
    }, options.pollMs ?? POLL_MS);
  }

  async function refresh(): Promise<void> {
    loading.value = true;
    await Promise.all([poll(), loadRuns()]);
    loading.value = false;
  }

  void refresh().then(() => {
    if (!disposed) schedule();
  });

  onScopeDispose(() => {
    disposed = true;
    clearTimeout(timer);
    for (const unsubscribe of unsubscribers.values()) unsubscribe();
    unsubscribers.clear();
  });

  return { rows, status, runs, series, average, alarms, logLines, following, error, loading, updatedAt, refresh };
}
