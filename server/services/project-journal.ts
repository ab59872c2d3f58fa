/**
 * The one writer of a project's progress. Each write runs in a transaction with the project
 * row locked, appends numbered events, updates `status`, `assigned_ip` and `details` so they
 * always agree with the events, and hands them to the event feed, which delivers them only
 * once the transaction committed.
 */
import type { EntityManager } from '@mikro-orm/core';
import { backendOf, type Orm } from '../db/orm.js';
import { deferSql, sql, SqlTransaction, transaction, type SqlTarget } from '../db/sql.js';
import { LIVE_STATUSES, PORTAL_USAGE_OWNER, Project, ProvisionEvent, type ProjectResources, type ProjectStatus } from '../entities/index.js';
import { readProject } from './project-rows.js';
import { resourceEntries } from './resources.js';
import type { ProjectChangeRecord, ProjectEventRecord } from './event-bus.js';
import type { EventFeed, FeedMessage } from './event-feed.js';
import { QuotaExceededError, type UsageGuard, type UsageTotals } from './quotas.js';

export type EventDraft =
  | { kind: 'status'; status: ProjectStatus }
  | { kind: 'log'; message: string }
  | { kind: 'resources'; resources: ProjectResources }
  | { kind: 'error'; message: string };

/** The last event a journal transaction appended to a project ({@link JournalTx.receiptOf}). */
export interface WriteReceipt {
  projectId: number;
  seq: number;
  at: Date;
}

/** Usage totals as rows of usage_totals give them. */
function totalsOf(rows: Record<string, unknown>[]): Map<string, UsageTotals> {
  return new Map(
    rows.map((r) => [
      String(r.owner),
      { liveProjects: Number(r.live_projects), hosts: Number(r.hosts), vcpu: Number(r.vcpu), memoryGb: Number(r.memory_gb), diskGb: Number(r.disk_gb) },
    ]),
  );
}

/**
 * PostgreSQL refused a transaction's usage totals inside the statement that moved them (see
 * JournalTx.settleUsage); the transaction rolled back. Carries what it would have added, to
 * word the error from the totals as they are now.
 */
class UsageLimitExceeded extends Error {
  constructor(
    readonly deltas: Map<string, number[]>,
    readonly guards: UsageGuard[],
  ) {
    super('a usage limit was exceeded');
  }
}

/** The project was deleted while something still wanted to write to it. */
export class ProjectGoneError extends Error {
  constructor(readonly projectId: number) {
    super(`Project ${projectId} no longer exists`);
    this.name = 'ProjectGoneError';
  }
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

/** Applies one draft to the project and returns the event that records it. */
function applyDraft(project: Project, draft: EventDraft, at: Date): ProjectEventRecord {
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
  return { projectId: project.id, seq: project.lastSeq, at, kind: draft.kind, status: project.status, message, data };
}

/** The columns a journal transaction may change, as stored. */
function mutableColumns(p: Project): unknown[] {
  return [
    p.status,
    p.assignedIp ?? null,
    JSON.stringify(p.details),
    p.lastSeq,
    p.updatedAt,
    p.completedSteps == null ? null : JSON.stringify(p.completedSteps),
    p.claimedBy ?? null,
    p.pendingAction ?? null,
    p.attempt,
  ];
}

/** What a project's rows in project_resources derive from (compared before and after a transaction). */
const resourcesKey = (p: Project): string | null => (p.assignedIp != null && p.details.resources ? `${p.assignedIp}\n${JSON.stringify(p.details.resources)}` : null);

const sameColumns = (a: unknown[], b: unknown[]) => a.every((v, i) => (v instanceof Date ? v.getTime() === (b[i] as Date).getTime() : v === b[i]));

/**
 * One transaction of journal work: lock projects, append events to them, remove them. What it
 * did is sent to listeners through the feed (inside the transaction on PostgreSQL, after the
 * commit in the embedded mode).
 */
export class JournalTx {
  private readonly touched = new Map<number, { project: Project; events: ProjectEventRecord[] }>();
  private readonly removed: Project[] = [];
  /** Every project loaded or created here, with its columns as they were then (written back if changed). */
  private readonly loaded = new Map<number, { project: Project; before: unknown[]; resourcesBefore: string | null }>();
  /** Whether each project counted as live when this transaction first touched it. */
  private readonly liveBefore = new Map<number, boolean>();
  private readonly guards: UsageGuard[] = [];

  /**
   * The journal writes with plain SQL, not through the ORM's unit of work: a flush cost ~250 µs
   * per statement where the statement costs 20-40 µs (docs/BENCHMARKS.md), and every order and
   * every runner step goes through here. `db` is the transaction (a hand-run one, or an
   * EntityManager's when the caller had one), for the other services' statements inside it;
   * only plain SQL (server/db/sql.ts) runs there.
   */
  constructor(
    readonly db: SqlTarget,
    private readonly postgres: boolean,
  ) {}

  private execute<T = Record<string, unknown>[]>(text: string, params: unknown[], method: 'all' | 'run' = 'all'): Promise<T> {
    return (method === 'run' ? sql(this.db, text, params, 'run') : sql(this.db, text, params)) as Promise<T>;
  }

  /** Loads the project, locked against concurrent writers where the database can. */
  async lock(projectId: number): Promise<Project | null> {
    const known = this.loaded.get(projectId);
    if (known) return known.project;
    const project = await readProject(this.db, projectId, this.postgres);
    if (project) this.loaded.set(projectId, { project, before: mutableColumns(project), resourcesBefore: resourcesKey(project) });
    return project;
  }

  /**
   * Inserts a new project with its first events already applied (one INSERT, no UPDATE after
   * it) and returns it with its id. `fields.lastSeq` must be 0.
   */
  async create(fields: Omit<Project, 'id'>, ...drafts: EventDraft[]): Promise<Project> {
    const project: Project = { ...fields, id: 0 };
    const at = new Date();
    const events = drafts.map((draft) => applyDraft(project, draft, at));
    const insert = `insert into projects (service_name, status, assigned_ip, template_type, owner, infra, details, last_seq, created_at, updated_at,
                             host_count, vcpu, memory_gb, disk_gb, completed_steps, claimed_by, pending_action, attempt)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    const values = [
      project.serviceName,
      project.status,
      project.assignedIp ?? null,
      project.templateType,
      project.owner,
      project.infra,
      JSON.stringify(project.details),
      project.lastSeq,
      project.createdAt,
      project.updatedAt,
      project.hostCount,
      project.vcpu,
      project.memoryGb,
      project.diskGb,
      project.completedSteps == null ? null : JSON.stringify(project.completedSteps),
      project.claimedBy ?? null,
      project.pendingAction ?? null,
      project.attempt,
    ];
    // SQLite answers the new rowid with the insert itself; RETURNING there costs a second pass.
    project.id = this.postgres
      ? Number((await this.execute<{ id: number }[]>(`${insert} returning id`, values))[0].id)
      : Number((await sql(this.db, insert, values, 'run')).insertId);
    if (!Number.isSafeInteger(project.id) || project.id <= 0) throw new Error(`the new project got no id (${project.id})`);
    for (const event of events) event.projectId = project.id;
    this.loaded.set(project.id, { project, before: mutableColumns(project), resourcesBefore: null });
    // Never live before this transaction; counted in the usage totals if it is live now.
    this.liveBefore.set(project.id, false);
    this.touched.set(project.id, { project, events });
    return project;
  }

  /**
   * Checks the usage totals once this transaction added its projects to them (the rows are
   * locked until the commit); a guard that throws rolls the transaction back.
   */
  guardUsage(guard: UsageGuard): void {
    this.guards.push(guard);
  }

  /** Appends events to a project loaded or created in this transaction. */
  append(project: Project, ...drafts: EventDraft[]): void {
    this.noteLiveness(project);
    let entry = this.touched.get(project.id);
    if (!entry) {
      entry = { project, events: [] };
      this.touched.set(project.id, entry);
    }
    const at = new Date();
    for (const draft of drafts) entry.events.push(applyDraft(project, draft, at));
  }

  /**
   * What this transaction appended to the project last, as a receipt: after a failure whose
   * outcome is unknown (the connection was lost with the COMMIT on its way), {@link holds} tells
   * whether the write committed after all. Null when it appended no event.
   */
  receiptOf(projectId: number): WriteReceipt | null {
    const last = this.touched.get(projectId)?.events.at(-1);
    return last ? { projectId, seq: last.seq, at: last.at } : null;
  }

  /** Whether the event a receipt names is stored: the transaction that wrote it committed. */
  async holds(receipt: WriteReceipt): Promise<boolean> {
    const rows = await this.execute('select 1 as found from provision_events where project_id = ? and seq = ? and at = ?', [receipt.projectId, receipt.seq, receipt.at]);
    return rows.length > 0;
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
    this.loaded.delete(project.id);
    await this.execute('delete from provision_events where project_id = ?', [project.id], 'run');
    await this.execute('delete from idempotency_keys where project_id = ?', [project.id], 'run');
    await this.execute('delete from project_resources where project_id = ?', [project.id], 'run');
    await this.execute('delete from projects where id = ?', [project.id], 'run');
    this.removed.push(project);
  }

  /** A project never recorded before (no event yet) is being created: it was not live. */
  private noteLiveness(project: Project): void {
    if (!this.liveBefore.has(project.id)) {
      this.liveBefore.set(project.id, project.lastSeq > 0 && LIVE_STATUSES.includes(project.status));
    }
  }

  /**
   * Moves the usage totals (owner and portal rows) of projects that became live or stopped
   * being live, in one statement, and runs the guards on the totals it leaves. Called last in
   * the transaction (see {@link ProjectJournal}): the rows stay locked until the commit, so the
   * time other orders wait for them is this statement and the commit.
   */
  async settleUsage(): Promise<void> {
    const gone = new Set(this.removed.map((p) => p.id));
    const changes = [...this.touched.values()].map((t) => t.project).concat(this.removed);
    const deltas = new Map<string, number[]>();
    const add = (owner: string, delta: number[]) => {
      const sum = deltas.get(owner) ?? [0, 0, 0, 0, 0];
      deltas.set(owner, sum.map((v, i) => v + delta[i]));
    };
    for (const project of changes) {
      const before = this.liveBefore.get(project.id) ?? false;
      const after = !gone.has(project.id) && LIVE_STATUSES.includes(project.status);
      if (before === after) continue;
      const sign = after ? 1 : -1;
      const delta = [sign, sign * project.hostCount, sign * project.vcpu, sign * project.memoryGb, sign * project.diskGb];
      add(PORTAL_USAGE_OWNER, delta);
      add(project.owner, delta);
    }
    if (deltas.size === 0) return;
    // One lock order for every transaction: the portal row first, then owners by name.
    const owners = [...deltas.keys()].sort((a, b) => (a === PORTAL_USAGE_OWNER ? -1 : b === PORTAL_USAGE_OWNER ? 1 : a < b ? -1 : a > b ? 1 : 0));
    const upsert = (values: string) => `insert into usage_totals (owner, live_projects, hosts, vcpu, memory_gb, disk_gb) values ${values}
       on conflict (owner) do update set live_projects = usage_totals.live_projects + excluded.live_projects,
         hosts = usage_totals.hosts + excluded.hosts, vcpu = usage_totals.vcpu + excluded.vcpu,
         memory_gb = usage_totals.memory_gb + excluded.memory_gb, disk_gb = usage_totals.disk_gb + excluded.disk_gb
       returning owner, live_projects, hosts, vcpu, memory_gb, disk_gb`;
    if (this.db instanceof SqlTransaction && this.db.postgres && this.guards.length) {
      // The rows every order shares (the portal's, the owner's) are locked from this statement
      // to the commit, so the two go to PostgreSQL together and the limits are checked inside
      // the statement: a total over a limit divides by zero (22012), which aborts the statement
      // and the COMMIT after it. The error is worded afterwards (ProjectJournal.run).
      // With placeholders: the text is the same from order to order (for the same kinds of
      // limits), so the connection can run it prepared (server/db/sql.ts).
      const params: unknown[] = owners.flatMap((owner) => [owner, ...deltas.get(owner)!]);
      const over = this.guards.flatMap((guard) =>
        [...guard.limits].map(([owner, bounds]) => {
          const tests = Object.entries(bounds);
          if (!tests.length) return 'false';
          params.push(owner, ...tests.map(([, max]) => max));
          return `(owner = ? and (${tests.map(([column]) => `${column} > ?`).join(' or ')}))`;
        }),
      );
      try {
        await this.db.commitWith(`${upsert(owners.map(() => '(?, ?, ?, ?, ?, ?)').join(', '))}, 1 / (case when ${over.join(' or ')} then 0 else 1 end) as within_limits`, params);
      } catch (err) {
        if ((err as { code?: string }).code === '22012') throw new UsageLimitExceeded(deltas, this.guards);
        throw err;
      }
      return;
    }
    const values = owners.flatMap((owner) => [owner, ...deltas.get(owner)!]);
    if (!this.guards.length) {
      // Nothing to check (a run's progress, a cancel): it goes with the COMMIT on PostgreSQL.
      await deferSql(this.db, upsert(owners.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')), values);
      return;
    }
    const rows = await this.execute<Record<string, number | string>[]>(upsert(owners.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')), values);
    for (const guard of this.guards) guard.check(totalsOf(rows));
  }

  /**
   * Replaces the project's rows in project_resources (the monitoring lists) with the ones its
   * resources give now, with the COMMIT: the rows always agree with `assigned_ip` and
   * `details.resources` (a run's resources, a retry clearing them).
   */
  private async writeResourceRows(project: Project): Promise<void> {
    await deferSql(this.db, 'delete from project_resources where project_id = ?', [project.id]);
    const entries = resourceEntries(project.assignedIp, project.details.resources);
    if (!entries.length) return;
    await deferSql(
      this.db,
      `insert into project_resources (project_id, ord, kind, vm_name, address) values ${entries.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      entries.flatMap((e) => [project.id, e.ord, e.kind, e.vmName, e.address]),
    );
  }

  /** Writes what changed and returns what listeners must be told ({@link settleUsage} comes after). */
  async finish(): Promise<FeedMessage[]> {
    for (const { project, before, resourcesBefore } of this.loaded.values()) {
      const now = mutableColumns(project);
      if (sameColumns(now, before)) continue;
      if (resourcesKey(project) !== resourcesBefore) await this.writeResourceRows(project);
      await deferSql(
        this.db,
        `update projects set status = ?, assigned_ip = ?, details = ?, last_seq = ?, updated_at = ?, completed_steps = ?,
                claimed_by = ?, pending_action = ?, attempt = ? where id = ?`,
        [...now, project.id],
      );
    }
    const events = [...this.touched.values()].flatMap((t) => t.events);
    if (events.length) {
      await deferSql(
        this.db,
        `insert into provision_events (project_id, seq, at, kind, status, message, data) values ${events.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        events.flatMap((e) => [e.projectId, e.seq, e.at, e.kind, e.status, e.message, e.data == null ? null : JSON.stringify(e.data)]),
      );
    }
    const messages: FeedMessage[] = [];
    for (const { project, events: appended } of this.touched.values()) {
      messages.push({ events: appended, change: toChangeRecord(project) });
    }
    for (const project of this.removed) {
      messages.push({ events: [], change: toChangeRecord(project, true), closed: project.id });
    }
    return messages;
  }
}

/** One queued journal transaction (SQLite group commit). */
interface Queued {
  fn: (tx: JournalTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** At most this many queued transactions share one SQLite commit (bounds the event-loop stall). */
const MAX_GROUP = 32;

export class ProjectJournal {
  private readonly postgres: boolean;
  private readonly queue: Queued[] = [];
  private draining = false;

  constructor(
    private readonly orm: Orm,
    private readonly feed: EventFeed,
  ) {
    this.postgres = backendOf(orm) === 'postgresql';
  }

  /** Runs `fn` in one transaction; listeners hear of its changes only once it committed. */
  async transact<T>(fn: (tx: JournalTx) => Promise<T>, em: EntityManager = this.orm.em.fork()): Promise<T> {
    if (this.postgres || em.getTransactionContext()) return this.run(fn, em);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleGroup();
    });
  }

  /**
   * SQLite: journal transactions wait in a queue and run in groups, each group one SQLite
   * transaction with a savepoint per queued transaction (group commit).
   * - One commit, and so one WAL sync, serves the whole group; the sync was the largest single
   *   cost of an order on SQLite (docs/BENCHMARKS.md).
   * - A transaction that fails rolls back to its savepoint; the others in the group go on, and
   *   none is answered before the group's COMMIT.
   * - better-sqlite3 answers synchronously, so a group runs as one chain of promise
   *   continuations while HTTP requests and timers wait: groups take turns with the event loop
   *   (the next starts in a later turn) and hold at most {@link MAX_GROUP} transactions.
   * SQLite runs one writer at a time anyway (one connection); what the queue changes is only
   * how many commits that takes.
   */
  private scheduleGroup(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => {
      void this.runGroup().finally(() => {
        this.draining = false;
        if (this.queue.length) this.scheduleGroup();
      });
    });
  }

  private async runGroup(): Promise<void> {
    const group = this.queue.splice(0, MAX_GROUP);
    const outcomes: ({ ok: true; result: unknown; messages: FeedMessage[] } | { ok: false; err: unknown })[] = [];
    try {
      await transaction(this.orm.em, async (db) => {
        for (const item of group) {
          await sql(db, 'savepoint journal_item', [], 'run');
          try {
            const { result, messages } = await this.work(item.fn, db);
            await sql(db, 'release journal_item', [], 'run');
            outcomes.push({ ok: true, result, messages });
          } catch (err) {
            try {
              await sql(db, 'rollback to journal_item', [], 'run');
              await sql(db, 'release journal_item', [], 'run');
            } catch {
              // SQLite rolled the whole transaction back by itself (a full disk, an I/O error, a
              // lock wait that ran out): the group fails with the error that caused it.
              throw err;
            }
            outcomes.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      // The group's COMMIT (or a savepoint) failed: nothing of it was stored.
      for (const item of group) item.reject(err);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return item.reject(outcome.err);
      for (const message of outcome.messages) this.feed.afterCommit(message);
      item.resolve(outcome.result);
    });
  }

  /** One journal transaction's work: `fn`, then its writes, its messages, last the usage totals. */
  private async work<T>(fn: (tx: JournalTx) => Promise<T>, db: SqlTarget): Promise<{ result: T; messages: FeedMessage[] }> {
    const tx = new JournalTx(db, this.postgres);
    const result = await fn(tx);
    const messages = await tx.finish();
    for (const message of messages) await this.feed.publishInTransaction(db, message);
    // Last: the usage rows are shared by every order (the portal row by all of them) and
    // stay locked from here to the commit.
    await tx.settleUsage();
    return { result, messages };
  }

  /**
   * Words a refusal PostgreSQL made inside the usage statement: the guards run on the totals
   * as they are now plus what the transaction would have added. Orders that ended meanwhile
   * may have freed room; then the refusal stands, worded generally (the client may retry).
   */
  private async limitError(em: EntityManager, refused: UsageLimitExceeded): Promise<Error> {
    const owners = [...refused.deltas.keys()];
    const rows = await sql(em.fork(), `select owner, live_projects, hosts, vcpu, memory_gb, disk_gb from usage_totals where owner in (${owners.map(() => '?').join(', ')})`, owners);
    const now = totalsOf(rows);
    const totals = new Map<string, UsageTotals>();
    for (const [owner, [live, hosts, vcpu, memoryGb, diskGb]] of refused.deltas) {
      const t = now.get(owner) ?? { liveProjects: 0, hosts: 0, vcpu: 0, memoryGb: 0, diskGb: 0 };
      totals.set(owner, { liveProjects: t.liveProjects + live, hosts: t.hosts + hosts, vcpu: t.vcpu + vcpu, memoryGb: t.memoryGb + memoryGb, diskGb: t.diskGb + diskGb });
    }
    try {
      for (const guard of refused.guards) guard.check(totals);
    } catch (err) {
      return err as Error;
    }
    return new QuotaExceededError('A quota or portal limit was reached by orders placed at the same time; try again');
  }

  private async run<T>(fn: (tx: JournalTx) => Promise<T>, em: EntityManager): Promise<T> {
    const work = (db: SqlTarget) => this.work(fn, db);
    // Inside a caller's transaction: a savepoint, the ORM's way. Otherwise a transaction run by
    // hand on one connection (server/db/sql.ts): the journal writes and reads with plain SQL,
    // and the ORM's and knex's transaction machinery cost more than an order's statements.
    let outcome: Awaited<ReturnType<typeof work>>;
    try {
      outcome = em.getTransactionContext() ? await em.transactional(work) : await transaction(em, work);
    } catch (err) {
      if (err instanceof UsageLimitExceeded) throw await this.limitError(em, err);
      throw err;
    }
    for (const message of outcome.messages) this.feed.afterCommit(message);
    return outcome.result;
  }
}
