/**
 * One provisioning run followed live: the `provisionStatus` events of a project, applied in
 * seq order exactly once (a seq at or below the last applied one is ignored; one that arrives
 * early waits for the gap to fill), the status, log lines, resources and error they carry.
 *
 * The run survives reloads and dropped connections: { projectId, lastSeq } and the lines shown
 * so far are kept in sessionStorage, and the subscription is (re)opened with afterSeq = lastSeq,
 * so the server replays exactly what was missed.
 *
 * A run ends with a status (or error) event COMPLETED, FAILED or CANCELLED, as the server's
 * stream does; DELETING is still going (a teardown, then the project is gone). While it is
 * PENDING or RUNNING it can be cancelled (`cancelProvision`: it stops at its next safe point and
 * ends CANCELLED); a FAILED or CANCELLED run can be retried (`retryProvision`), which goes on
 * in the same window: the stream is opened again after the last seq shown and the retry's
 * events (PENDING, RUNNING, …) follow the earlier ones.
 */
import type { Client } from 'graphql-ws/client';
import { onScopeDispose, reactive } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import {
  CancelProvisionDocument,
  type CancelProvisionMutation,
  type EventKind,
  type ProjectStatus,
  ProvisionStatusDocument,
  type ProvisionStatusSubscription,
  RetryProvisionDocument,
  type RetryProvisionMutation,
} from '../graphql/generated/operations';
import { createSubscriptionClient, subscribe, type SubscriptionSink } from '../graphql/subscriptions';
import { canRetry, isFinalStatus } from '../utils/project-status';
import { readSessionJson, removeSession, writeSessionJson } from '../utils/session-storage';
import { toApiError } from './useGraphQL';

export const RUN_STORAGE_KEY = 'hcmp.run';

export type RunEvent = ProvisionStatusSubscription['provisionStatus'];

export interface RunLine {
  seq: number;
  kind: EventKind;
  status: ProjectStatus;
  message: string | null;
}

export interface RunResources {
  albIp: string;
  webUrl: string;
  dbVip: string;
  sshTargets: string[];
}

/** What sessionStorage keeps of a live run. */
export interface StoredRun {
  projectId: number;
  serviceName: string;
  lastSeq: number;
  lines: RunLine[];
  status: ProjectStatus;
  resources: RunResources | null;
  error: string | null;
  /** "cancel" or "delete" while the run was asked to stop and has not stopped yet. */
  pendingAction?: string | null;
  attempt?: number;
}

export type RunConnection = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

export type SubscribeRun = (projectId: number, afterSeq: number, sink: SubscriptionSink<ProvisionStatusSubscription>) => () => void;
export type CancelRun = (projectId: number) => Promise<CancelProvisionMutation['cancelProvision']>;
export type RetryRun = (projectId: number) => Promise<RetryProvisionMutation['retryProvision']>;
export type RunAction = 'cancel' | 'retry';

export interface ProvisionRunOptions {
  subscribe?: SubscribeRun;
  /** cancelProvision (tests pass a fake). */
  cancel?: CancelRun;
  /** retryProvision (tests pass a fake). */
  retry?: RetryRun;
  /** First wait before reopening a dropped subscription; doubles up to 8 s. */
  retryDelayMs?: number;
  maxRetries?: number;
}

let sharedClient: Client | null = null;
const defaultSubscribe: SubscribeRun = (projectId, afterSeq, sink) => {
  // Retries are ours (with the newest afterSeq), not graphql-ws's (which would resend the first one).
  sharedClient ??= createSubscriptionClient({ retryAttempts: 0 });
  return subscribe(sharedClient, ProvisionStatusDocument, { projectId, afterSeq }, sink);
};
const defaultCancel: CancelRun = async (id) => (await api.request(CancelProvisionDocument, { id })).cancelProvision;
const defaultRetry: RetryRun = async (id) => (await api.request(RetryProvisionDocument, { id })).retryProvision;

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));

export function resourcesOf(data: Record<string, unknown> | null): RunResources | null {
  if (!data) return null;
  const targets = Array.isArray(data.ssh_targets) ? data.ssh_targets : [];
  return {
    albIp: str(data.alb_ip),
    webUrl: str(data.web_url),
    dbVip: str(data.db_vip),
    sshTargets: targets.map((t) => {
      const target = (t ?? {}) as Record<string, unknown>;
      return `${str(target.user)}@${str(target.host)}:${str(target.port)}`;
    }),
  };
}

function isStoredRun(value: unknown): value is StoredRun {
  const v = value as Partial<StoredRun> | null;
  return !!v && typeof v.projectId === 'number' && typeof v.lastSeq === 'number' && Array.isArray(v.lines);
}

export function useProvisionRun(options: ProvisionRunOptions = {}) {
  const doSubscribe = options.subscribe ?? defaultSubscribe;
  const doCancel = options.cancel ?? defaultCancel;
  const doRetry = options.retry ?? defaultRetry;
  const baseDelay = options.retryDelayMs ?? 500;
  const maxRetries = options.maxRetries ?? 20;

  const state = reactive({
    open: false,
    projectId: null as number | null,
    serviceName: '',
    lastSeq: 0,
    lines: [] as RunLine[],
    status: 'PENDING' as ProjectStatus,
    resources: null as RunResources | null,
    error: null as string | null,
    /** Why following the run stopped early (not the run's own failure). */
    streamError: null as ApiError | null,
    connection: 'idle' as RunConnection,
    /** "cancel" (or "delete") once a stop was asked and until the run reaches it. */
    pendingAction: null as string | null,
    /** 1 for the first run, +1 per retry (known once a retry was made from here). */
    attempt: 1,
    /** A cancel or retry request on its way. */
    acting: null as RunAction | null,
    /** Why the last cancel or retry was refused. */
    actionError: null as ApiError | null,
  });

  /** Events that arrived before the ones they follow. */
  let early = new Map<number, RunEvent>();
  let unsubscribe: (() => void) | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retries = 0;
  /** Bumped by every connect and stop: callbacks of an older subscription are ignored. */
  let generation = 0;

  /** The run ended: its last status (or error) event was COMPLETED, FAILED or CANCELLED. */
  const finished = () => isFinalStatus(state.status);

  function persist(): void {
    if (state.projectId === null) return;
    const stored: StoredRun = {
      projectId: state.projectId,
      serviceName: state.serviceName,
      lastSeq: state.lastSeq,
      lines: state.lines,
      status: state.status,
      resources: state.resources,
      error: state.error,
      pendingAction: state.pendingAction,
      attempt: state.attempt,
    };
    writeSessionJson(RUN_STORAGE_KEY, stored);
  }

  function apply(event: RunEvent): void {
    state.lastSeq = event.seq;
    // Only status and error events change the status (the server's rule for ending a stream too):
    // the first line of a retry still carries FAILED / CANCELLED, and must not end the run again.
    if (event.kind === 'status' || event.kind === 'error') {
      state.status = event.status;
      if (event.status !== 'RUNNING' && event.status !== 'PENDING') state.pendingAction = null;
    }
    state.lines.push({ seq: event.seq, kind: event.kind, status: event.status, message: event.message ?? null });
    if (event.kind === 'resources') state.resources = resourcesOf(event.data ?? null);
    if (event.kind === 'error') state.error = event.message ?? '';
  }

  /** Applies an event in order, once. */
  function receive(event: RunEvent): void {
    if (event.projectId !== state.projectId || event.seq <= state.lastSeq) return;
    early.set(event.seq, event);
    let next = early.get(state.lastSeq + 1);
    while (next) {
      early.delete(next.seq);
      apply(next);
      next = early.get(state.lastSeq + 1);
    }
    for (const seq of early.keys()) if (seq <= state.lastSeq) early.delete(seq);
    retries = 0;
    state.connection = 'live';
    persist();
    if (finished()) stop('closed');
  }

  function stop(connection: RunConnection): void {
    generation += 1;
    clearTimeout(retryTimer);
    const current = unsubscribe;
    unsubscribe = null;
    current?.();
    state.connection = connection;
  }

  function connect(): void {
    if (state.projectId === null || finished()) return;
    const projectId = state.projectId;
    state.connection = retries > 0 ? 'reconnecting' : 'connecting';
    const mine = ++generation;
    const current = () => mine === generation;
    const reopen = () => {
      if (!current()) return;
      generation += 1;
      unsubscribe = null;
      if (finished() || state.projectId !== projectId) return;
      if (retries >= maxRetries) {
        state.connection = 'closed';
        return;
      }
      state.connection = 'reconnecting';
      retryTimer = setTimeout(connect, Math.min(baseDelay * 2 ** retries, 8000));
      retries += 1;
    };
    unsubscribe = doSubscribe(projectId, state.lastSeq, {
      next: (data) => {
        if (current()) receive(data.provisionStatus);
      },
      error: (error) => {
        if (!current()) return;
        if (error.code === 'NETWORK_ERROR') return reopen();
        generation += 1;
        unsubscribe = null;
        state.streamError = error;
        state.connection = 'closed';
      },
      // The server completes after the final status; completing earlier means the stream was cut.
      complete: reopen,
    });
  }

  function reset(): void {
    stop('idle');
    early = new Map();
    retries = 0;
    Object.assign(state, {
      projectId: null,
      serviceName: '',
      lastSeq: 0,
      lines: [],
      status: 'PENDING',
      resources: null,
      error: null,
      streamError: null,
      pendingAction: null,
      attempt: 1,
      acting: null,
      actionError: null,
    });
  }

  /** Opens the overlay on a new run and follows it from its first event. */
  function start(projectId: number, serviceName: string): void {
    reset();
    Object.assign(state, { open: true, projectId, serviceName });
    persist();
    connect();
  }

  /** Picks up the run kept in sessionStorage (after a reload); false when there is none. */
  function resume(): boolean {
    const stored = readSessionJson(RUN_STORAGE_KEY);
    if (!isStoredRun(stored)) return false;
    reset();
    Object.assign(state, {
      open: true,
      projectId: stored.projectId,
      serviceName: stored.serviceName ?? '',
      lastSeq: stored.lastSeq,
      lines: stored.lines,
      status: stored.status ?? 'PENDING',
      resources: stored.resources ?? null,
      error: stored.error ?? null,
      pendingAction: stored.pendingAction ?? null,
      attempt: stored.attempt ?? 1,
    });
    connect();
    return true;
  }

  /**
   * Asks the server to cancel the run (PENDING or RUNNING); the stream then carries it to
   * CANCELLED. Resolves false when refused (the reason is in `actionError`).
   */
  async function cancel(): Promise<boolean> {
    const projectId = state.projectId;
    if (projectId === null || state.acting || finished()) return false;
    state.acting = 'cancel';
    state.actionError = null;
    try {
      const answer = await doCancel(projectId);
      if (state.projectId !== projectId) return false;
      // Still running: it stops at its next safe point. Already CANCELLED: the stream says so.
      if (!isFinalStatus(answer.status)) state.pendingAction = answer.pendingAction ?? null;
      persist();
      return true;
    } catch (err) {
      if (state.projectId === projectId) state.actionError = toApiError(err);
      return false;
    } finally {
      if (state.projectId === projectId) state.acting = null;
    }
  }

  /**
   * Runs a FAILED or CANCELLED project again and follows it on: the stream is opened again
   * after the last seq shown. Resolves false when refused (the reason is in `actionError`).
   */
  async function retry(): Promise<boolean> {
    const projectId = state.projectId;
    if (projectId === null || state.acting || !canRetry(state.status, state.pendingAction)) return false;
    state.acting = 'retry';
    state.actionError = null;
    try {
      const answer = await doRetry(projectId);
      if (state.projectId !== projectId) return false;
      stop('idle');
      early = new Map();
      retries = 0;
      Object.assign(state, {
        status: answer.status,
        attempt: answer.attempt,
        pendingAction: answer.pendingAction ?? null,
        resources: null,
        error: null,
        streamError: null,
      });
      persist();
      connect();
      return true;
    } catch (err) {
      if (state.projectId === projectId) state.actionError = toApiError(err);
      return false;
    } finally {
      if (state.projectId === projectId) state.acting = null;
    }
  }

  /** Simulates or handles a lost connection: drops the stream and reopens it after lastSeq. */
  function reconnect(): void {
    stop('reconnecting');
    connect();
  }

  /** Closes the overlay and forgets the run (it goes on on the server; History shows it). */
  function dismiss(): void {
    reset();
    state.open = false;
    removeSession(RUN_STORAGE_KEY);
  }

  onScopeDispose(() => stop('closed'));

  return { state, start, resume, reconnect, dismiss, receive, finished, cancel, retry };
}

export type ProvisionRun = ReturnType<typeof useProvisionRun>;
