/**
 * One provisioning run followed live: the `provisionStatus` events of a project, applied in
 * seq order exactly once (a seq at or below the last applied one is ignored; one that arrives
 * early waits for the gap to fill), the status, log lines, resources and error they carry.
 *
 * The run survives reloads and dropped connections: { projectId, lastSeq } and the lines shown
 * so far are kept in sessionStorage, and the subscription is (re)opened with afterSeq = lastSeq,
 * so the server replays exactly what was missed.
 */
import type { Client } from 'graphql-ws/client';
import { onScopeDispose, reactive } from 'vue';
import type { ApiError } from '../graphql/client';
import { type EventKind, type ProjectStatus, ProvisionStatusDocument, type ProvisionStatusSubscription } from '../graphql/generated/operations';
import { createSubscriptionClient, subscribe, type SubscriptionSink } from '../graphql/subscriptions';
import { readSessionJson, removeSession, writeSessionJson } from '../utils/session-storage';

export const RUN_STORAGE_KEY = 'hcmp.run';
const FINAL: ProjectStatus[] = ['COMPLETED', 'FAILED'];

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
}

export type RunConnection = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

export type SubscribeRun = (projectId: number, afterSeq: number, sink: SubscriptionSink<ProvisionStatusSubscription>) => () => void;

export interface ProvisionRunOptions {
  subscribe?: SubscribeRun;
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
  });

  /** Events that arrived before the ones they follow. */
  let early = new Map<number, RunEvent>();
  let unsubscribe: (() => void) | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retries = 0;
  /** Bumped by every connect and stop: callbacks of an older subscription are ignored. */
  let generation = 0;

  const finished = () => FINAL.includes(state.status);

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
    };
    writeSessionJson(RUN_STORAGE_KEY, stored);
  }

  function apply(event: RunEvent): void {
    state.lastSeq = event.seq;
    state.status = event.status;
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
    Object.assign(state, { projectId: null, serviceName: '', lastSeq: 0, lines: [], status: 'PENDING', resources: null, error: null, streamError: null });
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
    });
    connect();
    return true;
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

  return { state, start, resume, reconnect, dismiss, receive, finished };
}

export type ProvisionRun = ReturnType<typeof useProvisionRun>;
