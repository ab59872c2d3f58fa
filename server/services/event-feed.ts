/**
 * How committed project changes reach every listener, and how worker instances nudge each
 * other. Two implementations behind one interface:
 *
 * - {@link LocalFeed} (embedded SQLite, one process): publishes to the in-process bus right
 *   after the commit; job and control signals are plain callbacks.
 * - {@link PgFeed} (PostgreSQL, any number of processes): the writer sends `NOTIFY` inside its
 *   transaction, so PostgreSQL delivers the message only if the transaction commits, and in
 *   commit order; every instance LISTENs on a dedicated connection and feeds its own bus. A
 *   subscriber on instance A thereby receives the events of a job run by instance B.
 */
import type { EntityManager } from '@mikro-orm/core';
import { deferSql, type SqlTarget } from '../db/sql.js';
import pg from 'pg';
import type { ProjectChangeRecord, ProjectEventBus, ProjectEventRecord } from './event-bus.js';

/** What one committed transaction changed. */
export interface FeedMessage {
  events: ProjectEventRecord[];
  change: ProjectChangeRecord | null;
  /** The project was removed: its streams end. */
  closed?: number;
}

/** Asks the instance running a project to stop it at its next safe point. */
export interface ControlMessage {
  projectId: number;
  action: 'cancel' | 'delete';
}

export interface FeedLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface EventFeed {
  readonly kind: 'local' | 'postgres';
  /** Called inside the write transaction, after its rows are flushed. */
  publishInTransaction(db: SqlTarget, message: FeedMessage): Promise<void>;
  /** Called after the transaction committed. */
  afterCommit(message: FeedMessage): void;
  /** Tells every instance (the one running the project acts) to stop a job. */
  sendControl(message: ControlMessage): Promise<void>;
  /**
   * Jobs may be waiting that this instance did not hear of: after the feed reconnected, or on a
   * `hcmp_jobs` notification (sent by instances of earlier versions). New jobs themselves are
   * announced by their change to PENDING or DELETING (runners/dispatcher.ts).
   */
  onJobs(listener: () => void): void;
  onControl(listener: (message: ControlMessage) => void): void;
  /** Tells every instance that a token was logged out. */
  announceRevocation(jti: string): Promise<void>;
  /** Runs a statement on the feed's own connection (PostgreSQL); answers the rows affected. */
  execute?(sql: string, params: unknown[]): Promise<number>;
  onRevocation(listener: (jti: string) => void): void;
  /** Tells every instance (this one included) that an account's status or role changed. */
  announceAccountChange(username: string): Promise<void>;
  /**
   * Account changes announced by any instance; null when announcements may have been missed
   * (PostgreSQL: the LISTEN connection was lost, and again when it is back).
   */
  onAccountChange(listener: (username: string | null) => void): void;
  /** False while other instances' messages cannot reach this one (PostgreSQL: LISTEN connection lost). */
  readonly connected: boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}

function deliver(bus: ProjectEventBus, message: FeedMessage): void {
  for (const event of message.events) bus.publish(event);
  if (message.change) bus.publishChange(message.change);
  if (message.closed !== undefined) bus.close(message.closed);
}

export class LocalFeed implements EventFeed {
  readonly kind = 'local' as const;
  private jobListeners: (() => void)[] = [];
  private controlListeners: ((m: ControlMessage) => void)[] = [];
  private revocationListeners: ((jti: string) => void)[] = [];
  private accountListeners: ((username: string | null) => void)[] = [];
  /** One process: nothing can be missed. */
  readonly connected = true;

  constructor(private readonly bus: ProjectEventBus) {}

  async announceAccountChange(username: string): Promise<void> {
    for (const l of this.accountListeners) l(username);
  }

  onAccountChange(listener: (username: string | null) => void): void {
    this.accountListeners.push(listener);
  }

  async announceRevocation(jti: string): Promise<void> {
    for (const l of this.revocationListeners) l(jti);
  }

  onRevocation(listener: (jti: string) => void): void {
    this.revocationListeners.push(listener);
  }

  async publishInTransaction(): Promise<void> {}

  afterCommit(message: FeedMessage): void {
    deliver(this.bus, message);
  }

  async sendControl(message: ControlMessage): Promise<void> {
    for (const l of this.controlListeners) l(message);
  }

  onJobs(listener: () => void): void {
    this.jobListeners.push(listener);
  }

  onControl(listener: (message: ControlMessage) => void): void {
    this.controlListeners.push(listener);
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

export const EVENTS_CHANNEL = 'hcmp_events';
export const JOBS_CHANNEL = 'hcmp_jobs';
export const CONTROL_CHANNEL = 'hcmp_control';
export const REVOKED_CHANNEL = 'hcmp_revoked';
export const ACCOUNTS_CHANNEL = 'hcmp_accounts';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; larger messages go by reference. */
const MAX_PAYLOAD = 7800;

interface WireEvent extends Omit<ProjectEventRecord, 'at'> {
  at: string;
}
interface WireChange extends Omit<ProjectChangeRecord, 'updatedAt'> {
  updatedAt: string;
}
/** The message as sent: inline events, or a reference to stored events `from..to` of one project. */
interface WireMessage {
  e?: WireEvent[];
  ref?: { projectId: number; from: number; to: number };
  c?: WireChange | null;
  x?: number;
}

export interface PgFeedOptions {
  url: string;
  bus: ProjectEventBus;
  logger: FeedLogger;
  /** Loads stored events of a project with from ≤ seq ≤ to (messages sent by reference, resync). */
  loadEvents(projectId: number, afterSeq: number, upToSeq?: number): Promise<ProjectEventRecord[]>;
  /** The projects changed since a moment, as list views show them (resync of list streams). */
  loadChanges(since: Date): Promise<ProjectChangeRecord[]>;
  /** Delay before reconnecting a lost LISTEN connection (doubled after each failure, up to 5 s). */
  reconnectDelayMs?: number;
}

/** Resyncs reach back this far before the connection was lost: writers' clocks may differ a little. */
const CLOCK_SKEW_MS = 30_000;
const MAX_RETRY_DELAY_MS = 5_000;

export class PgFeed implements EventFeed {
  readonly kind = 'postgres' as const;
  private client: pg.Client | null = null;
  private closed = false;
  private jobListeners: (() => void)[] = [];
  private controlListeners: ((m: ControlMessage) => void)[] = [];
  private revocationListeners: ((jti: string) => void)[] = [];
  private accountListeners: ((username: string | null) => void)[] = [];
  /** Messages are handled strictly in arrival order, even when one needs a database read. */
  private chain: Promise<void> = Promise.resolve();
  /** The feed connection's statements, in order (see query()). */
  private queries: Promise<void> = Promise.resolve();
  /** The newest seq delivered per project, to fill gaps after a lost connection. */
  private readonly delivered = new Map<number, number>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Counts LISTEN connections: work for an older one stops retrying when a newer one exists. */
  private generation = 0;
  /** When the last LISTEN connection was lost (changes since then are re-read). */
  private lostAt: Date | null = null;

  constructor(private readonly options: PgFeedOptions) {}

  async publishInTransaction(db: SqlTarget, message: FeedMessage): Promise<void> {
    const wire: WireMessage = {};
    if (message.events.length) wire.e = message.events.map((e) => ({ ...e, at: e.at.toISOString() }));
    if (message.change) wire.c = { ...message.change, updatedAt: message.change.updatedAt.toISOString() };
    if (message.closed !== undefined) wire.x = message.closed;
    let payload = JSON.stringify(wire);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD && message.events.length) {
      const seqs = message.events.map((e) => e.seq);
      delete wire.e;
      wire.ref = { projectId: message.events[0].projectId, from: Math.min(...seqs), to: Math.max(...seqs) };
      payload = JSON.stringify(wire);
    }
    // Goes out with the COMMIT in a journal transaction (server/db/sql.ts).
    await deferSql(db, 'select pg_notify(?, ?)', [EVENTS_CHANNEL, payload]);
  }

  afterCommit(): void {}

  async sendControl(message: ControlMessage): Promise<void> {
    await this.notify(CONTROL_CHANNEL, JSON.stringify(message));
  }

  onJobs(listener: () => void): void {
    this.jobListeners.push(listener);
  }

  onControl(listener: (message: ControlMessage) => void): void {
    this.controlListeners.push(listener);
  }

  async announceRevocation(jti: string): Promise<void> {
    await this.notify(REVOKED_CHANNEL, jti);
  }

  async execute(sql: string, params: unknown[]): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  onRevocation(listener: (jti: string) => void): void {
    this.revocationListeners.push(listener);
  }

  async announceAccountChange(username: string): Promise<void> {
    await this.notify(ACCOUNTS_CHANNEL, username);
  }

  onAccountChange(listener: (username: string | null) => void): void {
    this.accountListeners.push(listener);
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Announcements may have been missed (connection lost, or back after a loss). */
  private accountsMayHaveChanged(): void {
    for (const l of this.accountListeners) l(null);
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
    await this.chain;
  }

  private async notify(channel: string, payload: string): Promise<void> {
    await this.query('select pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * One statement at a time on the feed's connection: pg queues a query sent while another runs,
   * but warns that pg 9 will refuse it, and the feed's statements come from many requests at once.
   */
  private query(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('event feed is not connected'));
    const run = this.queries.then(() => client.query(sql, params));
    this.queries = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: 'hcmp-feed' });
    client.on('notification', (n) => this.receive(n.channel, n.payload ?? ''));
    client.on('error', (err) => {
      this.options.logger.warn({ err: err.message }, 'event feed connection lost');
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}; listen ${JOBS_CHANNEL}; listen ${CONTROL_CHANNEL}; listen ${REVOKED_CHANNEL}; listen ${ACCOUNTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.generation++;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.lostAt = new Date();
    this.accountsMayHaveChanged();
    if (this.closed) return;
    const firstDelay = this.options.reconnectDelayMs ?? 1000;
    let delay = firstDelay;
    let failures = 0;
    const retry = () => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.connect()
        .then(() => {
          this.options.logger.info({ attempts: failures + 1 }, 'event feed reconnected');
          this.accountsMayHaveChanged();
          this.resyncAfterLoss(this.generation, this.lostAt!);
          for (const l of this.jobListeners) l();
        })
        .catch((err) => {
          // Said once per outage, not at every attempt.
          if (failures++ === 0) this.options.logger.warn({ err: (err as Error).message }, 'event feed cannot reconnect yet; trying again');
          delay = Math.min(MAX_RETRY_DELAY_MS, delay * 2);
          this.reconnectTimer = setTimeout(retry, delay);
        });
    };
    this.reconnectTimer = setTimeout(retry, firstDelay);
  }

  /**
   * Runs a task of the message chain until it succeeds: while the database still cannot answer
   * (it may accept LISTEN before it serves reads, or fail again), later messages wait behind it,
   * so nothing is delivered out of order. Gives up when the feed closes or its connection is lost
   * again (the next connection's resync covers what this one would have delivered).
   */
  private async persist(generation: number, what: string, task: () => Promise<void>): Promise<void> {
    let delay = 100;
    for (let failures = 0; ; failures++) {
      try {
        await task();
        return;
      } catch (err) {
        if (this.closed || this.generation !== generation || this.client === null) return;
        if (failures === 0) this.options.logger.warn({ err: (err as Error).message }, `event feed: ${what} failed; trying again`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(MAX_RETRY_DELAY_MS, delay * 2);
      }
    }
  }

  /** After a lost connection: every watched project's missed events, then every changed project's summary. */
  private resyncAfterLoss(generation: number, lostAt: Date): void {
    this.enqueue(() => this.persist(generation, 'resync after a lost connection', () => this.resync()));
    this.enqueue(() =>
      this.persist(generation, 'resync of list streams', async () => {
        const changes = await this.options.loadChanges(new Date(lostAt.getTime() - CLOCK_SKEW_MS));
        for (const change of changes) this.options.bus.publishChange(change);
      }),
    );
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.chain = this.chain.then(task).catch((err) => this.options.logger.error({ err }, 'event feed: message handling failed'));
  }

  private receive(channel: string, payload: string): void {
    if (channel === JOBS_CHANNEL) {
      for (const l of this.jobListeners) l();
      return;
    }
    if (channel === REVOKED_CHANNEL) {
      for (const l of this.revocationListeners) l(payload);
      return;
    }
    if (channel === ACCOUNTS_CHANNEL) {
      for (const l of this.accountListeners) l(payload);
      return;
    }
    if (channel === CONTROL_CHANNEL) {
      const message = JSON.parse(payload) as ControlMessage;
      for (const l of this.controlListeners) l(message);
      return;
    }
    if (channel !== EVENTS_CHANNEL) return;
    const generation = this.generation;
    this.enqueue(async () => {
      const wire = JSON.parse(payload) as WireMessage;
      let events: ProjectEventRecord[] = (wire.e ?? []).map((e) => ({ ...e, at: new Date(e.at) }));
      const ref = wire.ref;
      if (ref) {
        // Sent by reference: read from the database, waiting out a database that cannot answer.
        let loaded: ProjectEventRecord[] | null = null;
        await this.persist(generation, 'reading events sent by reference', async () => {
          loaded = await this.options.loadEvents(ref.projectId, ref.from - 1, ref.to);
        });
        if (!loaded) return; // the connection was lost meanwhile: the resync delivers them
        events = loaded;
      }
      const change = wire.c ? { ...wire.c, updatedAt: new Date(wire.c.updatedAt) } : null;
      this.deliver({ events, change, closed: wire.x });
    });
  }

  private deliver(message: FeedMessage): void {
    for (const e of message.events) {
      if (this.options.bus.subscriberCount(e.projectId) > 0) {
        this.delivered.set(e.projectId, Math.max(this.delivered.get(e.projectId) ?? 0, e.seq));
      }
    }
    if (message.closed !== undefined) this.delivered.delete(message.closed);
    deliver(this.options.bus, message);
  }

  /** After a lost connection: re-reads what watched projects may have missed. */
  private async resync(): Promise<void> {
    const watched = this.options.bus.watchedProjects();
    for (const id of [...this.delivered.keys()]) if (!watched.includes(id)) this.delivered.delete(id);
    for (const projectId of watched) {
      const after = this.delivered.get(projectId) ?? 0;
      const missed = await this.options.loadEvents(projectId, after);
      if (missed.length) this.deliver({ events: missed, change: null });
    }
  }
}
