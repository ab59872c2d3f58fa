/**
 * The monitoring page's figures and feeds: the metrics status, the summary of the caller's
 * resources (counted by the server), the alerts Prometheus reports firing on the caller's
 * hosts — asked again every 15 s while the page is visible — and the latest runs (history)
 * with their stored log lines, RUNNING ones followed live through `provisionStatus`. The rows
 * themselves are paged by useResourceList.
 */
import type { Client } from 'graphql-ws/client';
import { computed, onScopeDispose, ref, shallowRef } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import {
  HostAlertsDocument,
  MonitoringRunsDocument,
  MonitoringStatusDocument,
  ProvisionStatusDocument,
  ResourceSummaryDocument,
  type HostAlertsQuery,
  type MonitoringRunsQuery,
  type MonitoringStatusQuery,
  type ResourceSummaryQuery,
} from '../graphql/generated/operations';
import { createSubscriptionClient, subscribe } from '../graphql/subscriptions';
import { isFinalEvent } from '../utils/project-status';
import { deriveAlarms, newestFirst, type LogLine } from '../utils/monitoring';
import { toApiError } from './useGraphQL';
import { useVisibleInterval } from './useVisibleInterval';

export const POLL_MS = 15_000;
export const RECENT_RUNS = 5;

type Run = MonitoringRunsQuery['history']['nodes'][number];
export type MonitoringStatus = MonitoringStatusQuery['monitoringStatus'];
export type ResourceSummary = ResourceSummaryQuery['resourceSummary'];
export type HostAlert = HostAlertsQuery['hostAlerts'][number];

let sharedClient: Client | null = null;

export function useMonitoring(options: { pollMs?: number } = {}) {
  const status = shallowRef<MonitoringStatus | null>(null);
  const summary = shallowRef<ResourceSummary | null>(null);
  const hostAlerts = shallowRef<HostAlert[]>([]);
  const runs = shallowRef<Run[]>([]);
  const liveLines = shallowRef<LogLine[]>([]);
  const following = ref(new Set<number>());
  const error = shallowRef<ApiError | null>(null);
  const loading = ref(true);
  const updatedAt = ref<Date | null>(null);

  const unsubscribers = new Map<number, () => void>();
  let disposed = false;

  const alarms = computed(() =>
    deriveAlarms(runs.value, summary.value?.metrics?.silentHosts ?? [], { configured: status.value?.metricsConfigured ?? false, reachable: status.value?.metricsReachable ?? null }, hostAlerts.value),
  );
  const storedLines = computed<LogLine[]>(() =>
    runs.value.flatMap((run) => run.logs.map((text, i) => ({ key: `${run.id}-s${i}`, projectId: run.id, serviceName: run.serviceName, seq: i, text }))),
  );
  const logLines = computed(() => newestFirst([...storedLines.value, ...liveLines.value]));

  async function poll(): Promise<void> {
    try {
      const [monitoring, counts, alerts] = await Promise.all([api.request(MonitoringStatusDocument, {}), api.request(ResourceSummaryDocument, {}), api.request(HostAlertsDocument, {})]);
      if (disposed) return;
      status.value = monitoring.monitoringStatus;
      summary.value = counts.resourceSummary;
      hostAlerts.value = alerts.hostAlerts;
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

  async function refresh(): Promise<void> {
    loading.value = true;
    await Promise.all([poll(), loadRuns()]);
    loading.value = false;
  }

  void refresh();
  useVisibleInterval(poll, options.pollMs ?? POLL_MS);

  onScopeDispose(() => {
    disposed = true;
    for (const unsubscribe of unsubscribers.values()) unsubscribe();
    unsubscribers.clear();
  });

  return { status, summary, hostAlerts, runs, alarms, logLines, following, error, loading, updatedAt, refresh };
}
