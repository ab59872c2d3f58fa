/**
 * The provisioning history list: keyset pages of `history` (filters, load more, refresh),
 * kept current by the `projectChanges` subscription — new projects appear at the top, statuses
 * change in place, deleted ones leave — and admin deletion. Changes that arrive while a page
 * is loading wait and are applied on top of it.
 */
import type { Client } from 'graphql-ws/client';
import { onScopeDispose, reactive, ref, shallowRef, watch } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import { DeleteProjectDocument, HistoryPageDocument, HistoryProjectDocument, ProjectChangesDocument, type ProjectChangesSubscription } from '../graphql/generated/operations';
import { createSubscriptionClient, subscribe, type SubscriptionSink } from '../graphql/subscriptions';
import { fillRow, mergeChange, type HistoryFilter, type HistoryRow, type ProjectChange } from '../utils/history';
import { toApiError } from './useGraphQL';

export const HISTORY_PAGE_SIZE = 20;

export type SubscribeChanges = (sink: SubscriptionSink<ProjectChangesSubscription>) => () => void;
export type LiveState = 'connecting' | 'live' | 'closed';

let sharedClient: Client | null = null;
const defaultSubscribe: SubscribeChanges = (sink) => {
  sharedClient ??= createSubscriptionClient();
  return subscribe(sharedClient, ProjectChangesDocument, {}, sink);
};

export interface HistoryOptions {
  pageSize?: number;
  subscribe?: SubscribeChanges;
}

export function useHistory(options: HistoryOptions = {}) {
  const pageSize = options.pageSize ?? HISTORY_PAGE_SIZE;
  const doSubscribe = options.subscribe ?? defaultSubscribe;

  const rows = shallowRef<HistoryRow[]>([]);
  const filter = reactive<HistoryFilter>({ status: null, infra: null });
  const hasNextPage = ref(false);
  const endCursor = ref<string | null>(null);
  const loading = ref(false);
  const loadingMore = ref(false);
  const loaded = ref(false);
  const error = shallowRef<ApiError | null>(null);
  const live = ref<LiveState>('closed');

  /** Bumped by every reload: answers of an older one are dropped. */
  let generation = 0;
  let held: ProjectChange[] | null = null;
  let unsubscribe: (() => void) | null = null;

  async function loadRow(id: number): Promise<void> {
    try {
      const { project } = await api.request(HistoryProjectDocument, { id });
      rows.value = fillRow(rows.value, project);
    } catch {
      // Deleted meanwhile (its deletion arrives as a change) or unreachable: the summary stays.
    }
  }

  function apply(change: ProjectChange): void {
    if (held) {
      held.push(change);
      return;
    }
    const result = mergeChange(rows.value, change, filter, hasNextPage.value);
    rows.value = result.rows;
    if (result.needsLoad !== null) void loadRow(result.needsLoad);
  }

  function release(): void {
    const waiting = held ?? [];
    held = null;
    for (const change of waiting) apply(change);
  }

  async function reload(): Promise<void> {
    const mine = ++generation;
    held ??= [];
    loading.value = true;
    error.value = null;
    try {
      const { history } = await api.request(HistoryPageDocument, { first: pageSize, status: filter.status, infra: filter.infra });
      if (mine !== generation) return;
      rows.value = history.nodes;
      hasNextPage.value = history.pageInfo.hasNextPage;
      endCursor.value = history.pageInfo.endCursor;
      loaded.value = true;
    } catch (err) {
      if (mine === generation) error.value = toApiError(err);
    } finally {
      if (mine === generation) {
        loading.value = false;
        release();
      }
    }
  }

  async function loadMore(): Promise<void> {
    if (!hasNextPage.value || loadingMore.value || loading.value) return;
    const mine = generation;
    loadingMore.value = true;
    error.value = null;
    try {
      const { history } = await api.request(HistoryPageDocument, { first: pageSize, after: endCursor.value, status: filter.status, infra: filter.infra });
      if (mine !== generation) return;
      const known = new Set(rows.value.map((r) => r.id));
      rows.value = [...rows.value, ...history.nodes.filter((n) => !known.has(n.id))];
      hasNextPage.value = history.pageInfo.hasNextPage;
      endCursor.value = history.pageInfo.endCursor;
    } catch (err) {
      if (mine === generation) error.value = toApiError(err);
    } finally {
      loadingMore.value = false;
    }
  }

  function follow(): void {
    unsubscribe?.();
    live.value = 'connecting';
    let current = true;
    const stop = doSubscribe({
      next: (data) => {
        if (!current) return;
        live.value = 'live';
        apply(data.projectChanges);
      },
      error: () => {
        if (current) live.value = 'closed';
      },
      complete: () => {
        if (current) live.value = 'closed';
      },
    });
    unsubscribe = () => {
      current = false;
      stop();
    };
    // graphql-ws sends no acknowledgement of a subscription; it is live once the socket is.
    if (live.value === 'connecting') live.value = 'live';
  }

  /** Reloads the first page; reopens the live feed if it had closed. */
  async function refresh(): Promise<void> {
    if (live.value === 'closed') follow();
    await reload();
  }

  /** Admin: deletes a project; resolves with the error, or null. */
  async function remove(id: number): Promise<ApiError | null> {
    try {
      await api.request(DeleteProjectDocument, { id });
      rows.value = rows.value.filter((r) => r.id !== id);
      return null;
    } catch (err) {
      return toApiError(err);
    }
  }

  watch(
    () => [filter.status, filter.infra],
    () => void reload(),
  );

  function start(): void {
    follow();
    void reload();
  }

  onScopeDispose(() => {
    unsubscribe?.();
    unsubscribe = null;
    generation += 1;
  });

  return { rows, filter, hasNextPage, loading, loadingMore, loaded, error, live, start, refresh, reload, loadMore, remove, apply };
}
