/**
 * The provisioning rules: who may order, see, follow and delete which project. Every method
 * takes the caller first and checks access before anything else; another user's project is
 * "not found", never its data.
 */
import { createHash } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { Catalog } from '../config/catalog.js';
import { waitOutOutage } from '../db/unavailable.js';
import {
  IdempotencyKey,
  Project,
  PROJECT_STATUSES,
  ProvisionEvent,
  User,
  INFRA_TYPES,
  type InfraType,
  type PendingAction,
  type ProjectStatus,
  TERMINAL_STATUSES,
} from '../entities/index.js';
import { DomainError, forbidden, invalidInput, notFound, PoolExhaustedError } from './errors.js';
import { followEvents } from './event-stream.js';
import { followChanges } from './change-stream.js';
import type { ProjectChangeRecord, ProjectEventBus, ProjectEventRecord } from './event-bus.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import { parseProvisionInput, specFromDetails } from './provision-input.js';
import { readProject, readProjectListItems, readProjects, type ProjectListItem, type ProjectListQuery } from './project-rows.js';
import { toEventRecord, type ProjectJournal } from './project-journal.js';
import type { AuditLog } from './audit.js';
import type { QuotaService } from './quotas.js';
import { assertAcceptingOrders } from './settings.js';
import { orderSize } from './sizing.js';
import type { WorkloadPool } from './workload-pool.js';
import { deferSql } from '../db/sql.js';

/** What the provisioning rules need from the background workers (the dispatcher). */
export interface ProvisionQueue {
  /** A job is waiting (PENDING or DELETING): some instance should claim it. */
  enqueue(projectId: number): void;
  /** Tells the instance running the project to stop it at its next safe point. */
  requestStop(projectId: number, action: PendingAction): Promise<void>;
}

export interface ProvisionOptions {
  /** Same key and body → the same project; same key, other body → 422. Scoped to the caller. */
  idempotencyKey?: string | null;
}

export interface ProvisionResult {
  project: Project;
  /** The key had been used with this body before: this is that project, nothing new was made. */
  replayed: boolean;
}

export interface HistoryFilter {
  first?: number | null;
  after?: string | null;
  status?: ProjectStatus | null;
  infra?: InfraType | null;
}

export interface HistoryPage<Item = Project> {
  items: Item[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_EVENTS_PAGE = 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const conflict = (message: string) => new DomainError('CONFLICT', message);

/** JSON with object keys sorted at every level, so equal bodies hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A unique constraint refused a row: from the ORM, or from a plain statement (SQLite / PostgreSQL codes). */
function isUniqueViolation(err: unknown): boolean {
  if (err instanceof UniqueConstraintViolationException) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function encodeCursor(id: number): string {
  return Buffer.from(`project:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const m = /^project:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw invalidInput([{ loc: ['query', 'after'], msg: 'Invalid cursor', type: 'value_error' }]);
  return Number(m[1]);
}

export class ProjectService {
  constructor(
    private readonly catalog: Catalog,
    private readonly journal: ProjectJournal,
    private readonly pool: WorkloadPool,
    private readonly bus: ProjectEventBus,
    private readonly queue: ProvisionQueue,
    private readonly quotas: QuotaService,
    private readonly audit: AuditLog,
    private readonly maxPageSize: number,
    private readonly idempotencyTtlHours: number = 24,
    /** How long a live stream waits out an unreachable database before it ends with an error. */
    private readonly outageGraceMs: number = 300_000,
  ) {}

  /**
   * Takes the hosts and records the order as PENDING in one transaction, then hands it to the
   * background workers; answers at once. Too few free hosts is a CONFLICT (409) naming how
   * many were needed and how many are free. `em` may be the root EntityManager
   * (services.sqlDb): the order itself is plain SQL, and the rare ORM reads (an idempotency
   * key, an admin ordering for someone else) run on forks of it.
   */
  async provision(em: EntityManager, caller: Principal | null, raw: unknown, options: ProvisionOptions = {}): Promise<ProvisionResult> {
    const who = requireCaller(caller);
    const key = options.idempotencyKey ?? null;
    if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
      throw invalidInput([{ loc: ['header', 'Idempotency-Key'], msg: 'must be 1-255 visible ASCII characters', type: 'value_error' }]);
    }
    const hash = key === null ? '' : requestHash(raw);
    if (key !== null) {
      const earlier = await this.replay(em.fork(), who, key, hash);
      if (earlier) return { project: earlier, replayed: true };
    }
    try {
      const project = await this.createProject(em, who, raw, key === null ? null : { key, hash });
      return { project, replayed: false };
    } catch (err) {
      if (key !== null && isUniqueViolation(err)) {
        // A concurrent request with the same key won the race: answer with its project.
        const earlier = await this.replay(em.fork({ clear: true }), who, key, hash);
        if (earlier) return { project: earlier, replayed: true };
      }
      const name = typeof raw === 'object' && raw !== null ? String((raw as Record<string, unknown>).serviceName ?? '').slice(0, 63) : '';
      await this.audit.record({ actor: who.username, action: 'provision', target: name || null, ip: who.ip, result: 'failure', detail: { reason: (err as Error).message.slice(0, 500) } });
      throw err;
    }
  }

  /** The project an earlier request with this key made, or null when the key is new (or expired). */
  private async replay(em: EntityManager, who: Principal, key: string, hash: string): Promise<Project | null> {
    const row = await em.findOne(IdempotencyKey, { owner: who.username, key });
    if (!row) return null;
    if (row.createdAt.getTime() < Date.now() - this.idempotencyTtlHours * 3_600_000) {
      await em.nativeDelete(IdempotencyKey, { id: row.id });
      return null;
    }
    if (row.requestHash !== hash) {
      throw invalidInput([{ loc: ['header', 'Idempotency-Key'], msg: 'This Idempotency-Key was already used with a different request body', type: 'idempotency_key_reused' }]);
    }
    return readProject(em, row.projectId);
  }

  /** Forgets idempotency keys older than the configured time; returns how many. */
  async purgeIdempotencyKeys(em: EntityManager): Promise<number> {
    return em.nativeDelete(IdempotencyKey, { createdAt: { $lt: new Date(Date.now() - this.idempotencyTtlHours * 3_600_000) } });
  }

  private async createProject(em: EntityManager, who: Principal, raw: unknown, idempotency: { key: string; hash: string } | null): Promise<Project> {
    const owner = await this.ownerFor(em, who, raw);
    const spec = parseProvisionInput(raw, this.catalog, owner);
    const size = orderSize(spec.config, this.catalog);
    const now = new Date();
    // One transaction: the limits read, the project with its first two events, its hosts, the
    // idempotency key, the audit entry, and last the usage totals, checked against the limits.
    const project = await this.journal.transact(async (tx) => {
      // Issued together: on PostgreSQL BEGIN, the limits read, the INSERT and the update that
      // takes the hosts are one message (server/db/sql.ts). A failure of that message surfaces
      // from tx.create first.
      const limitsRead = this.quotas.orderLimits(tx.db, owner);
      limitsRead.catch(() => undefined);
      const inserting = tx.create(
        {
          serviceName: spec.serviceName,
          status: 'PENDING',
          assignedIp: null,
          templateType: spec.templateType,
          owner,
          infra: spec.infra.type,
          details: {
            input: spec.input,
            config: spec.config,
            infra: spec.infra,
            status: 'PENDING',
            logs: [],
            resources: null,
            error: null,
          },
          hostCount: size.hosts,
          vcpu: size.vcpu,
          memoryGb: size.memoryGb,
          diskGb: size.diskGb,
          lastSeq: 0,
          attempt: 1,
          createdAt: now,
          updatedAt: now,
        },
        { kind: 'status', status: 'PENDING' },
        { kind: 'log', message: this.catalog.provisioning.allocationLog },
      );
      const hosts = this.pool.allocateForInsert(tx.db, spec.infra.type, spec.hostCount, inserting, owner);
      hosts.catch(() => undefined);
      const project = await inserting;
      const limits = await limitsRead;
      assertAcceptingOrders(limits);
      await hosts;
      tx.guardUsage(this.quotas.guard(limits, owner, size));
      if (idempotency) {
        // Goes out with the COMMIT on PostgreSQL; a key taken meanwhile fails the commit (23505).
        await deferSql(tx.db, 'insert into idempotency_keys (owner, key, request_hash, project_id, created_at) values (?, ?, ?, ?, ?)', [
          who.username,
          idempotency.key,
          idempotency.hash,
          project.id,
          now,
        ]);
      }
      await this.audit.record(
        { actor: who.username, action: 'provision', target: `project:${project.id}`, ip: who.ip, result: 'success', detail: { serviceName: project.serviceName, owner: project.owner } },
        tx.db,
      );
      return project;
    }, em);
    this.queue.enqueue(project.id);
    return project;
  }

  /** `userName` may name the caller; an admin may also order for another existing account. */
  private async ownerFor(em: EntityManager, caller: Principal, raw: unknown): Promise<string> {
    const userName = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).userName : undefined;
    if (typeof userName !== 'string' || userName === '' || userName === caller.username) return caller.username;
    if (!isAdmin(caller)) throw forbidden('userName must be your own account');
    if (!(await em.fork().count(User, { username: userName }))) {
      throw invalidInput([{ loc: ['body', 'userName'], msg: `No account named '${userName.slice(0, 64)}'`, type: 'value_error' }]);
    }
    return userName;
  }

  async get(em: EntityManager, caller: Principal | null, id: number): Promise<Project> {
    const who = requireCaller(caller);
    const project = Number.isSafeInteger(id) ? await readProject(em, id) : null;
    if (!project || (!isAdmin(who) && project.owner !== who.username)) throw notFound();
    return project;
  }

  /**
   * Starts the teardown and answers at once: the project goes DELETING (a running job first
   * stops at its next safe point), a worker undoes what the run created, returns the hosts and
   * only then removes the project and its events. Deleting a project already DELETING is a no-op.
   */
  async delete(em: EntityManager, caller: Principal | null, id: number): Promise<Project> {
    const who = requireCaller(caller);
    try {
      await this.get(em, who, id);
      let signal = false;
      const project = await this.journal.transact(async (tx) => {
        const p = await tx.lock(id);
        if (!p) throw notFound();
        if (p.status === 'DELETING' || p.pendingAction === 'delete') return p;
        const requested = { kind: 'log', message: `Delete requested by ${who.username}` } as const;
        if (p.status === 'RUNNING' && p.claimedBy) {
          p.pendingAction = 'delete';
          tx.append(p, requested);
          signal = true;
        } else {
          p.pendingAction = null;
          p.claimedBy = null;
          tx.append(p, requested, { kind: 'status', status: 'DELETING' });
        }
        return p;
      }, em);
      if (signal) await this.queue.requestStop(id, 'delete');
      else this.queue.enqueue(id);
      await this.audit.record({ actor: who.username, action: 'project.delete', target: `project:${id}`, ip: who.ip, result: 'success', detail: { serviceName: project.serviceName, owner: project.owner } });
      return project;
    } catch (err) {
      await this.audit.record({ actor: who.username, action: 'project.delete', target: `project:${id}`, ip: who.ip, result: 'failure', detail: { reason: (err as Error).message } });
      throw err;
    }
  }

  /**
   * Cancels a PENDING or RUNNING project: one nobody runs ends CANCELLED at once with its hosts
   * returned; a running job is told to stop at its next safe point and ends CANCELLED there.
   */
  async cancel(em: EntityManager, caller: Principal | null, id: number): Promise<Project> {
    const who = requireCaller(caller);
    return this.audited(who, 'project.cancel', id, (project) => ({ status: project.status }), () => this.cancelNow(em, who, id));
  }

  private async cancelNow(em: EntityManager, who: Principal, id: number): Promise<Project> {
    await this.get(em, who, id);
    let signal = false;
    const project = await this.journal.transact(async (tx) => {
      const p = await tx.lock(id);
      if (!p) throw notFound();
      if ((p.status !== 'PENDING' && p.status !== 'RUNNING') || p.pendingAction === 'delete') {
        throw conflict(`Project #${id} is ${p.pendingAction === 'delete' ? 'being deleted' : p.status}; only PENDING or RUNNING projects can be cancelled`);
      }
      if (p.pendingAction === 'cancel') return p;
      if (p.claimedBy) {
        p.pendingAction = 'cancel';
        tx.append(p, { kind: 'log', message: `Cancel requested by ${who.username}` });
        signal = true;
      } else {
        await this.pool.release(tx.db, id);
        tx.append(p, { kind: 'log', message: `Cancelled by ${who.username}; hosts returned to the pool` }, { kind: 'status', status: 'CANCELLED' });
      }
      return p;
    }, em);
    if (signal) await this.queue.requestStop(id, 'cancel');
    return project;
  }

  /** Runs `act` and records its success or failure in the audit log. */
  private async audited(
    who: Principal,
    action: string,
    id: number,
    detail: (project: Project) => Record<string, unknown>,
    act: () => Promise<Project>,
  ): Promise<Project> {
    try {
      const project = await act();
      await this.audit.record({ actor: who.username, action, target: `project:${id}`, ip: who.ip, result: 'success', detail: detail(project) });
      return project;
    } catch (err) {
      await this.audit.record({ actor: who.username, action, target: `project:${id}`, ip: who.ip, result: 'failure', detail: { reason: (err as Error).message.slice(0, 500) } });
      throw err;
    }
  }

  /**
   * Runs a FAILED or CANCELLED project again with the same input: takes hosts again (409 when
   * too few are free), keeps the event history and starts from the first step.
   */
  async retry(em: EntityManager, caller: Principal | null, id: number): Promise<Project> {
    const who = requireCaller(caller);
    return this.audited(who, 'project.retry', id, (project) => ({ attempt: project.attempt }), () => this.retryNow(em, who, id));
  }

  private async retryNow(em: EntityManager, who: Principal, id: number): Promise<Project> {
    const current = await this.get(em, who, id);
    const limits = await this.quotas.orderLimits(em, current.owner);
    assertAcceptingOrders(limits);
    const project = await this.journal.transact(async (tx) => {
      await this.pool.beginAllocation(tx.db);
      const p = await tx.lock(id);
      if (!p) throw notFound();
      if ((p.status !== 'FAILED' && p.status !== 'CANCELLED') || p.pendingAction) {
        throw conflict(`Project #${id} is ${p.status}; only FAILED or CANCELLED projects can be retried`);
      }
      const spec = specFromDetails(p.details, p.owner, this.catalog);
      await this.pool.allocate(tx.db, p.infra, spec.hostCount, id, p.owner);
      tx.guardUsage(this.quotas.guard(limits, p.owner, orderSize(spec.config, this.catalog)));
      p.attempt += 1;
      p.completedSteps = null;
      p.claimedBy = null;
      p.assignedIp = null;
      p.details = { ...p.details, error: null, resources: null };
      tx.append(
        p,
        { kind: 'log', message: `Retry #${p.attempt - 1} requested by ${who.username}` },
        { kind: 'status', status: 'PENDING' },
        { kind: 'log', message: this.catalog.provisioning.allocationLog },
      );
      return p;
    }, em);
    this.queue.enqueue(id);
    return project;
  }

  /** Newest first, keyset-paginated on id (never OFFSET). */
  history(em: EntityManager, caller: Principal | null, filter: HistoryFilter): Promise<HistoryPage> {
    return this.historyPage(em, caller, filter, readProjects);
  }

  /** The same page with only what the REST history lists of each project (fewer columns read). */
  historyListing(em: EntityManager, caller: Principal | null, filter: HistoryFilter): Promise<HistoryPage<ProjectListItem>> {
    return this.historyPage(em, caller, filter, readProjectListItems);
  }

  private async historyPage<Item extends { id: number }>(
    em: EntityManager,
    caller: Principal | null,
    filter: HistoryFilter,
    read: (em: EntityManager, query: ProjectListQuery) => Promise<Item[]>,
  ): Promise<HistoryPage<Item>> {
    const who = requireCaller(caller);
    const first = filter.first ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(first) || first < 1 || first > this.maxPageSize) {
      throw invalidInput([{ loc: ['query', 'first'], msg: `must be from 1 to ${this.maxPageSize}`, type: 'int_range' }]);
    }
    if (filter.status && !PROJECT_STATUSES.includes(filter.status)) {
      throw invalidInput([{ loc: ['query', 'status'], msg: `must be one of ${PROJECT_STATUSES.join(', ')}`, type: 'enum' }]);
    }
    if (filter.infra && !INFRA_TYPES.includes(filter.infra)) {
      throw invalidInput([{ loc: ['query', 'infra'], msg: `must be one of ${INFRA_TYPES.join(', ')}`, type: 'enum' }]);
    }
    const rows = await read(em, {
      owner: isAdmin(who) ? undefined : who.username,
      status: filter.status ?? undefined,
      infra: filter.infra ?? undefined,
      beforeId: filter.after ? decodeCursor(filter.after) : undefined,
      limit: first + 1,
    });
    const items = rows.slice(0, first);
    return {
      items,
      hasNextPage: rows.length > first,
      endCursor: items.length ? encodeCursor(items[items.length - 1].id) : null,
    };
  }

  /** Stored events after `afterSeq`, in order, at most `limit`. */
  async events(em: EntityManager, caller: Principal | null, projectId: number, afterSeq = 0, limit = MAX_EVENTS_PAGE): Promise<ProjectEventRecord[]> {
    await this.get(em, caller, projectId);
    return this.storedEvents(em, projectId, afterSeq, limit);
  }

  /**
   * Every event of one project after `afterSeq`: first the stored ones, then live ones, with
   * no gap and no duplicate at the seam. Ends after the project's final status, or when the
   * project is deleted. Holds no EntityManager between reads.
   */
  async follow(em: EntityManager, caller: Principal | null, projectId: number, afterSeq = 0): Promise<AsyncGenerator<ProjectEventRecord>> {
    const project = await this.get(em, caller, projectId);
    if (!Number.isInteger(afterSeq) || afterSeq < 0) {
      throw invalidInput([{ loc: ['query', 'afterSeq'], msg: 'must be a whole number ≥ 0', type: 'int_range' }]);
    }
    return followEvents({
      bus: this.bus,
      projectId,
      afterSeq,
      finished: TERMINAL_STATUSES.includes(project.status) && afterSeq >= project.lastSeq,
      // A stream outlives a database outage: a read it needs (a gap to fill) waits for the
      // database instead of ending the stream.
      load: (after) => waitOutOutage(() => this.storedEvents(em.fork({ clear: true }), projectId, after, MAX_EVENTS_PAGE), { graceMs: this.outageGraceMs }),
    });
  }

  /**
   * Summaries of the caller's projects (admin: every project) as they are created, change
   * and are deleted, from the owner's topic (or the admins' topic). Never ends by itself.
   */
  changes(caller: Principal | null): AsyncIterableIterator<ProjectChangeRecord> {
    const who = requireCaller(caller);
    return followChanges(this.bus, isAdmin(who) ? { all: true } : { owner: who.username });
  }

  /** How many list streams are open (tests, diagnostics). */
  changeListenerCount(): number {
    return this.bus.changeListenerCount();
  }

  async storedEvents(em: EntityManager, projectId: number, afterSeq: number, limit: number): Promise<ProjectEventRecord[]> {
    if (!Number.isInteger(afterSeq) || afterSeq < 0) {
      throw invalidInput([{ loc: ['query', 'afterSeq'], msg: 'must be a whole number ≥ 0', type: 'int_range' }]);
    }
    const bounded = Math.min(Math.max(1, limit), MAX_EVENTS_PAGE);
    const rows = await em.find(ProvisionEvent, { projectId, seq: { $gt: afterSeq } }, { orderBy: { seq: 'asc' }, limit: bounded });
    return rows.map(toEventRecord);
  }
}
