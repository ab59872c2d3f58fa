/**
 * Series for the monitoring charts: one pool host's (`hostSeries`) or every host of a project
 * (`projectSeries`) over the chosen window, asked again every 15 s while the page is visible.
 * A source without data answers `available: false` with its reason, which the chart shows as
 * "no data"; only a failed request is an error.
 */
import { ref, shallowRef, watch, type Ref } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import { HostSeriesDocument, ProjectSeriesDocument, type HostSeriesQuery } from '../graphql/generated/operations';
import type { ChartWindow } from '../utils/monitoring';
import { toApiError } from './useGraphQL';
import { useVisibleInterval } from './useVisibleInterval';

export type HostSeries = HostSeriesQuery['hostSeries'];
export type SeriesTarget = { kind: 'host'; hostId: number; label: string } | { kind: 'project'; projectId: number; label: string };

export const SERIES_REFRESH_MS = 15_000;

/** A target's identity (the chart is asked again when it changes). */
export const seriesTargetKey = (t: SeriesTarget | null): string | null => (t ? (t.kind === 'host' ? `host:${t.hostId}` : `project:${t.projectId}`) : null);

export function useMetricSeries(target: Ref<SeriesTarget | null>, window: Ref<ChartWindow>, options: { refreshMs?: number } = {}) {
  /** The hosts' series (one for a host); null before the first answer for this target and window. */
  const series = shallowRef<HostSeries[] | null>(null);
  const error = shallowRef<ApiError | null>(null);
  const loading = ref(false);
  const updatedAt = ref<Date | null>(null);
  let latest = 0;

  async function load(): Promise<void> {
    const t = target.value;
    const call = ++latest;
    if (!t) {
      series.value = null;
      return;
    }
    loading.value = true;
    try {
      const answer =
        t.kind === 'host'
          ? [(await api.request(HostSeriesDocument, { hostId: t.hostId, window: window.value })).hostSeries]
          : (await api.request(ProjectSeriesDocument, { projectId: t.projectId, window: window.value })).projectSeries;
      if (call !== latest) return;
      series.value = answer;
      error.value = null;
      updatedAt.value = new Date();
    } catch (err) {
      if (call === latest) error.value = toApiError(err);
    } finally {
      if (call === latest) loading.value = false;
    }
  }

  watch(
    [() => seriesTargetKey(target.value), window],
    () => {
      series.value = null;
      error.value = null;
      void load();
    },
    { immediate: true },
  );
  useVisibleInterval(load, options.refreshMs ?? SERIES_REFRESH_MS);
  return { series, error, loading, updatedAt, reload: load };
}
