/**
 * The provisioning history list: keyset pages of `history` (filters, load more, refresh),
 * kept current by the `projectChanges` subscription — new projects appear at the top, statuses
 * change in place, deleted ones leave — and the row actions: cancel, retry, admin deletion.
 * Changes that arrive while a page is loading wait and are applied on top of it.
 *
 * A live feed that drops is reopened on its own, with a growing wait between tries
 * (`reconnecting` meanwhile); once it is connected again the first page is loaded again, so
 * that what changed while it was down is not missed.
 */
import { onScopeDispose, reactive, ref, shallowRef, watch } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import {
  CancelProvisionDocument,
  DeleteProjectDocument,
  HistoryPageDocument,
  HistoryProjectDocument,
  ProjectChangesDocument,
  RetryProvisionDocument,
  type ProjectChangesSubscription,
} from '../graphql/generated/operations';
import { createSubscriptionClient, subscribe, type SubscriptionSink } from '../graphql/subscriptions';
import { fillRow, mergeChange, type HistoryFilter, type HistoryRow, type ProjectChange } from '../utils/history';
import { toApiError } from './useGraphQL';

export const HISTORY_PAGE_SIZE = 20;

/** What the live feed reports: its changes, and that its connection is open (once per connection). */
export interface ChangesSink extends SubscriptionSink<ProjectChangesSubscription> {
  connected(): void;
}
export type SubscribeChanges = (sink: ChangesSink) => () => void;
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'closed';

const defaultSubscribe: SubscribeChanges = (sink) => {
  // A client of its own per try, without graphql-ws's retries (they would reconnect silently and
  // miss what happened meanwhile): a drop reaches useHistory, which reopens it and reloads.
  const client = createSubscriptionClient({ retryAttempts: 0 });
  const stopListening = client.on('connected', () => sink.connected());
  const stop = subscribe(client, ProjectChangesDocument, {}, sink);
  return () => {
    stop();
    stopListening();
    void client.dispose();
  };
};

export interface HistoryOptions {
  pageSize?: number;
  subscribe?: SubscribeChanges;
  /** First wait before reopening a dropped live feed; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export function useHistory(options: HistoryOptions = {}) {
  const pageSize = options.pageSize ?? HISTORY_PAGE_SIZE;
  const doSubscribe = options.subscribe ?? defaultSubscribe;
  const baseDelay = options.retryDelayMs ?? 500;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;

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
  /** Bumped by every (re)subscription and stop: callbacks of an older feed are ignored. */
  let feed = 0;
  let retries = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

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

  function stopFeed(): void {
    feed += 1;
    clearTimeout(retryTimer);
    const current = unsubscribe;
    unsubscribe = null;
    current?.();
  }

  /** Opens the live feed; after a drop, `retries` > 0 and the first page is reloaded once it is back. */
  function follow(): void {
    stopFeed();
    live.value = retries > 0 ? 'reconnecting' : 'connecting';
    const mine = feed;
    const current = () => mine === feed;
    const dropped = () => {
      if (!current()) return;
      stopFeed();
      live.value = 'reconnecting';
      retryTimer = setTimeout(follow, Math.min(baseDelay * 2 ** retries, maxDelay));
      retries += 1;
    };
    unsubscribe = doSubscribe({
      connected: () => {
        if (!current()) return;
        const wasDown = retries > 0;
        retries = 0;
        live.value = 'live';
        if (wasDown) void reload();
      },
      next: (data) => {
        if (current()) apply(data.projectChanges);
      },
      error: (err) => {
        if (!current()) return;
        if (err.code === 'NETWORK_ERROR') return dropped();
        // Refused (a rejected token ends the session anyway): no point in trying again.
        stopFeed();
        live.value = 'closed';
      },
      // projectChanges never ends on its own: completing means the stream was cut.
      complete: dropped,
    });
  }

  /** Reloads the first page; reopens the live feed at once if it is down. */
  async function refresh(): Promise<void> {
    if (live.value === 'closed' || live.value === 'reconnecting') {
      retries = 0;
      follow();
    }
    await reload();
  }

  /** Changes one row in place (when it is still listed). */
  function patchRow(id: number, patch: Partial<HistoryRow>): void {
    rows.value = rows.value.map((r) => (r.id === id ? { ...r, ...patch } : r));
  }

  /** Admin: deletes a project; resolves with the error, or null. */
  async function remove(id: number): Promise<ApiError | null> {
    try {
      await api.request(DeleteProjectDocument, { id });
      // The teardown goes on on the server: the row says so until its deletion arrives live (a
      // running job first stops at its next safe point: the delete stays pending meanwhile).
      patchRow(id, { status: 'DELETING', pendingAction: 'delete' });
      return null;
    } catch (err) {
      return toApiError(err);
    }
  }

  /** Cancels a PENDING or RUNNING project; resolves with the error, or null. */
  async function cancel(id: number): Promise<ApiError | null> {
    try {
      const { cancelProvision: p } = await api.request(CancelProvisionDocument, { id });
      const row = rows.value.find((r) => r.id === id);
      // A live change may already have brought a newer state.
      if (row && p.lastSeq >= row.lastSeq) patchRow(id, { status: p.status, pendingAction: p.pendingAction ?? null, attempt: p.attempt, lastSeq: p.lastSeq, updatedAt: p.updatedAt });
      return null;
    } catch (err) {
      return toApiError(err);
    }
  }

  /** Runs a FAILED or CANCELLED project again; resolves with the error, or null. */
  async function retry(id: number): Promise<ApiError | null> {
    try {
      const { retryProvision: p } = await api.request(RetryProvisionDocument, { id });
      const row = rows.value.find((r) => r.id === id);
      if (row && p.lastSeq >= row.lastSeq) {
        patchRow(id, { status: p.status, pendingAction: p.pendingAction ?? null, attempt: p.attempt, assignedIp: p.assignedIp ?? null, lastSeq: p.lastSeq, updatedAt: p.updatedAt });
      } else if (row) {
        patchRow(id, { attempt: p.attempt });
      }
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
    stopFeed();
    generation += 1;
  });

  return { rows, filter, hasNextPage, loading, loadingMore, loaded, error, live, start, refresh, reload, loadMore, remove, cancel, retry, apply };
}
