/**
 * The one writer of a project's progress. Each write runs in a transaction with the project
 * row locked, appends numbered events, updates `status`, `assigned_ip` and `details` so they
 * always agree with the events, and hands them to the event feed, which delivers them only
 * once the transaction committed.
 */
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { backendOf, type Orm } from '../db/orm.js';
import { IdempotencyKey, LIVE_STATUSES, PORTAL_USAGE_OWNER, Project, ProvisionEvent, type ProjectResources, type ProjectStatus } from '../entities/index.js';
import type { ProjectChangeRecord, ProjectEventRecord } from './event-bus.js';
import type { EventFeed, FeedMessage } from './event-feed.js';

export type EventDraft =
  | { kind: 'status'; status: ProjectStatus }
  | { kind: 'log'; message: string }
  | { kind: 'resources'; resources: ProjectResources }
  | { kind: 'error'; message: string };

/** The project was deleted while something still wanted to write to it. */
export class ProjectGoneError extends Error {
  constructor(readonly projectId: number) {
    super(`Project ${projectId} no longer exists`);
    this.name = 'ProjectGoneError';
  }
}

export interface JournalScope {
  em: EntityManager;
  project: Project;
}

export function toEventRecord(event: ProvisionEvent): ProjectEventRecord {
  return {
    projectId: event.projectId,
    seq: event.seq,
    at: event.at,
    kind: event.kind,
    status: event.status,
    message: event.message ?? null,
    data: event.data ?? null,
  };
}

/** The list-view summary of a project as it is now (or was, when `deleted`). */
export function toChangeRecord(project: Project, deleted = false): ProjectChangeRecord {
  return {
    id: project.id,
    serviceName: project.serviceName,
    status: project.status,
    assignedIp: project.assignedIp ?? null,
    owner: project.owner,
    infra: project.infra,
    lastSeq: project.lastSeq,
    updatedAt: project.updatedAt,
    deleted,
  };
}

/** Applies one draft to the project and returns the event row that records it. */
function applyDraft(em: EntityManager, project: Project, draft: EventDraft, at: Date): ProvisionEvent {
  const details = project.details;
  let message: string | null = null;
  let data: Record<string, unknown> | null = null;
  switch (draft.kind) {
    case 'status':
      project.status = draft.status;
      project.details = { ...details, status: draft.status };
      break;
    case 'log':
      message = draft.message;
      project.details = { ...details, logs: [...details.logs, draft.message] };
      break;
    case 'resources':
      data = { ...draft.resources };
      project.assignedIp = draft.resources.alb_ip || null;
      project.details = { ...details, resources: draft.resources };
      break;
    case 'error':
      message = draft.message;
      project.status = 'FAILED';
      project.details = {
        ...details,
        status: 'FAILED',
        logs: [...details.logs, `Error: ${draft.message}`],
        error: { message: draft.message },
      };
      break;
  }
  project.lastSeq += 1;
  project.updatedAt = at;
  return em.create(ProvisionEvent, {
    projectId: project.id,
    seq: project.lastSeq,
    at,
    kind: draft.kind,
    status: project.status,
    message,
    data,
  });
}

/**
 * One transaction of journal work: lock projects, append events to them, remove them. What it
 * did is sent to listeners through the feed (inside the transaction on PostgreSQL, after the
 * commit in the embedded mode).
 */
export class JournalTx {
  private readonly touched = new Map<number, { project: Project; events: ProvisionEvent[] }>();
  private readonly removed: Project[] = [];
  /** Whether each project counted as live when this transaction first touched it. */
  private readonly liveBefore = new Map<number, boolean>();

  constructor(
    readonly em: EntityManager,
    private readonly lockMode: LockMode | undefined,
  ) {}

  /** Loads the project, locked against concurrent writers where the database can. */
  async lock(projectId: number): Promise<Project | null> {
    return this.em.findOne(Project, projectId, { lockMode: this.lockMode, refresh: true });
  }

  /** Appends events to a project loaded in this transaction (or just created and flushed). */
  append(project: Project, ...drafts: EventDraft[]): void {
    this.noteLiveness(project);
    let entry = this.touched.get(project.id);
    if (!entry) {
      entry = { project, events: [] };
      this.touched.set(project.id, entry);
    }
    const at = new Date();
    for (const draft of drafts) entry.events.push(applyDraft(this.em, project, draft, at));
  }

  /** Marks the project as changed (a list view should redraw it) without an event. */
  touch(project: Project): void {
    this.noteLiveness(project);
    if (!this.touched.has(project.id)) this.touched.set(project.id, { project, events: [] });
    project.updatedAt = new Date();
  }

  /** Deletes the project with its events and idempotency keys; its streams end after the commit. */
  async remove(project: Project): Promise<void> {
    this.noteLiveness(project);
    this.touched.delete(project.id);
    await this.em.nativeDelete(ProvisionEvent, { projectId: project.id });
    await this.em.nativeDelete(IdempotencyKey, { projectId: project.id });
    this.em.remove(project);
    this.removed.push(project);
  }

  /** A project never recorded before (no event yet) is being created: it was not live. */
  private noteLiveness(project: Project): void {
    if (!this.liveBefore.has(project.id)) {
      this.liveBefore.set(project.id, project.lastSeq > 0 && LIVE_STATUSES.includes(project.status));
    }
  }

  /** Moves the usage totals (owner and portal rows) of projects that became live or stopped being live. */
  private async updateUsage(): Promise<void> {
    const gone = new Set(this.removed.map((p) => p.id));
    const changes = [...this.touched.values()].map((t) => t.project).concat(this.removed);
    for (const project of changes) {
      const before = this.liveBefore.get(project.id) ?? false;
      const after = !gone.has(project.id) && LIVE_STATUSES.includes(project.status);
      if (before === after) continue;
      const sign = after ? 1 : -1;
      const delta = [sign, sign * project.hostCount, sign * project.vcpu, sign * project.memoryGb, sign * project.diskGb];
      // Always the portal row first, then the owner's: one lock order for every transaction.
      for (const owner of [PORTAL_USAGE_OWNER, project.owner]) {
        await this.em.getConnection().execute(
          `insert into usage_totals (owner, live_projects, hosts, vcpu, memory_gb, disk_gb) values (?, ?, ?, ?, ?, ?)
           on conflict (owner) do update set live_projects = usage_totals.live_projects + excluded.live_projects,
             hosts = usage_totals.hosts + excluded.hosts, vcpu = usage_totals.vcpu + excluded.vcpu,
             memory_gb = usage_totals.memory_gb + excluded.memory_gb, disk_gb = usage_totals.disk_gb + excluded.disk_gb`,
          [owner, ...delta],
          'run',
          this.em.getTransactionContext(),
        );
      }
    }
  }

  /** Flushes and returns what listeners must be told. */
  async finish(): Promise<FeedMessage[]> {
    await this.em.flush();
    await this.updateUsage();
    const messages: FeedMessage[] = [];
    for (const { project, events } of this.touched.values()) {
      messages.push({ events: events.map(toEventRecord), change: toChangeRecord(project) });
    }
    for (const project of this.removed) {
      messages.push({ events: [], change: toChangeRecord(project, true), closed: project.id });
    }
    return messages;
  }
}

export class ProjectJournal {
  private readonly lockMode: LockMode | undefined;
  private readonly synchronousDriver: boolean;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly orm: Orm,
    private readonly feed: EventFeed,
  ) {
    this.lockMode = backendOf(orm) === 'postgresql' ? LockMode.PESSIMISTIC_WRITE : undefined;
    this.synchronousDriver = backendOf(orm) === 'sqlite';
  }

  /** Runs `fn` in one transaction; listeners hear of its changes only once it committed. */
  async transact<T>(fn: (tx: JournalTx) => Promise<T>, em: EntityManager = this.orm.em.fork()): Promise<T> {
    if (this.synchronousDriver) return this.oneAtATime(() => this.run(fn, em));
    return this.run(fn, em);
  }

  /**
   * better-sqlite3 answers synchronously, so many jobs' transactions would run back to back as
   * one long chain of promise continuations while HTTP requests and timers wait for all of them.
   * SQLite runs one transaction at a time anyway (one connection); here they also take turns
   * with the event loop: each starts in a later turn than the one before it.
   */
  private oneAtATime<T>(task: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    return previous
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(task)
      .finally(release);
  }

  private async run<T>(fn: (tx: JournalTx) => Promise<T>, em: EntityManager): Promise<T> {
    const { result, messages } = await em.transactional(async (tem) => {
      const tx = new JournalTx(tem, this.lockMode);
      const result = await fn(tx);
      const messages = await tx.finish();
      for (const message of messages) await this.feed.publishInTransaction(tem, message);
      return { result, messages };
    });
    for (const message of messages) this.feed.afterCommit(message);
    return result;
  }

  /** Loads the project inside a transaction, locked against concurrent writers where the database can. */
  async lockProject(em: EntityManager, projectId: number): Promise<Project | null> {
    return em.findOne(Project, projectId, { lockMode: this.lockMode, refresh: true });
  }

  /**
   * Runs `build` in one transaction with the project locked; the drafts it returns become
   * events. `build` may do other work in the same transaction (take hosts, return them).
   */
  async write(
    projectId: number,
    build: (scope: JournalScope) => Promise<EventDraft[]> | EventDraft[],
  ): Promise<void> {
    await this.transact(async (tx) => {
      const project = await tx.lock(projectId);
      if (!project) throw new ProjectGoneError(projectId);
      tx.append(project, ...(await build({ em: tx.em, project })));
    });
  }

  /** Appends drafts with no other work. */
  append(projectId: number, ...drafts: EventDraft[]): Promise<void> {
    return this.write(projectId, () => drafts);
  }
}
