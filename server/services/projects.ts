/**
 * The provisioning rules: who may order, see, follow and delete which project. Every method
 * takes the caller first and checks access before anything else; another user's project is
 * "not found", never its data.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { Catalog } from '../config/catalog.js';
import {
  Project,
  PROJECT_STATUSES,
  ProvisionEvent,
  User,
  INFRA_TYPES,
  type InfraType,
  type ProjectStatus,
  TERMINAL_STATUSES,
} from '../entities/index.js';
import { forbidden, invalidInput, notFound } from './errors.js';
import { followEvents } from './event-stream.js';
import { followChanges } from './change-stream.js';
import type { ProjectChangeRecord, ProjectEventBus, ProjectEventRecord } from './event-bus.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import { parseProvisionInput } from './provision-input.js';
import { toChangeRecord, toEventRecord, type ProjectJournal } from './project-journal.js';
import type { AuditLog } from './audit.js';
import type { QuotaService } from './quotas.js';
import { assertAcceptingOrders } from './settings.js';
import { orderSize } from './sizing.js';
import type { WorkloadPool } from './workload-pool.js';

/** What the provisioning rules need from the background worker (the dispatcher). */
export interface ProvisionQueue {
  enqueue(projectId: number): void;
  /** Stops the project's run, if any, and waits until it has let go. */
  abort(projectId: number, reason: string): Promise<void>;
}

export interface HistoryFilter {
  first?: number | null;
  after?: string | null;
  status?: ProjectStatus | null;
  infra?: InfraType | null;
}

export interface HistoryPage {
  items: Project[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
/** Abort reason the worker recognises: the delete cleans up, the worker just lets go. */
export const PROJECT_DELETED_REASON = 'project deleted';
export const MAX_EVENTS_PAGE = 1000;

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
  ) {}

  /** Records the order as PENDING and hands it to the background worker; answers at once. */
  async provision(em: EntityManager, caller: Principal | null, raw: unknown): Promise<Project> {
    const who = requireCaller(caller);
    try {
      const project = await this.createProject(em, who, raw);
      await this.audit.record({ actor: who.username, action: 'provision', target: `project:${project.id}`, ip: who.ip, result: 'success', detail: { serviceName: project.serviceName, owner: project.owner } });
      return project;
    } catch (err) {
      const name = typeof raw === 'object' && raw !== null ? String((raw as Record<string, unknown>).serviceName ?? '').slice(0, 63) : '';
      await this.audit.record({ actor: who.username, action: 'provision', target: name || null, ip: who.ip, result: 'failure', detail: { reason: (err as Error).message.slice(0, 500) } });
      throw err;
    }
  }

  private async createProject(em: EntityManager, who: Principal, raw: unknown): Promise<Project> {
    const owner = await this.ownerFor(em, who, raw);
    await assertAcceptingOrders(em);
    const spec = parseProvisionInput(raw, this.catalog, owner);
    const size = orderSize(spec.config, this.catalog);
    const now = new Date();
    const { project, event } = await em.transactional(async (tem) => {
      await this.quotas.assertFits(tem, owner, size);
      const project = tem.create(Project, {
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
        lastSeq: 1,
        createdAt: now,
        updatedAt: now,
      });
      await tem.flush();
      const event = tem.create(ProvisionEvent, { projectId: project.id, seq: 1, at: now, kind: 'status', status: 'PENDING' });
      await tem.flush();
      return { project, event };
    });
    this.bus.publish(toEventRecord(event));
    this.bus.publishChange(toChangeRecord(project));
    this.queue.enqueue(project.id);
    return project;
  }

  /** `userName` may name the caller; an admin may also order for another existing account. */
  private async ownerFor(em: EntityManager, caller: Principal, raw: unknown): Promise<string> {
    const userName = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).userName : undefined;
    if (typeof userName !== 'string' || userName === '' || userName === caller.username) return caller.username;
    if (!isAdmin(caller)) throw forbidden('userName must be your own account');
    if (!(await em.count(User, { username: userName }))) {
      throw invalidInput([{ loc: ['body', 'userName'], msg: `No account named '${userName.slice(0, 64)}'`, type: 'value_error' }]);
    }
    return userName;
  }

  async get(em: EntityManager, caller: Principal | null, id: number): Promise<Project> {
    const who = requireCaller(caller);
    const project = Number.isSafeInteger(id) ? await em.findOne(Project, id) : null;
    if (!project || (!isAdmin(who) && project.owner !== who.username)) throw notFound();
    return project;
  }

  /** Ends the run, gives the hosts back and removes the project with its events. */
  async delete(em: EntityManager, caller: Principal | null, id: number): Promise<void> {
    const who = requireCaller(caller);
    let project: Project;
    try {
      project = await this.get(em, who, id);
    } catch (err) {
      await this.audit.record({ actor: who.username, action: 'project.delete', target: `project:${id}`, ip: who.ip, result: 'failure', detail: { reason: (err as Error).message } });
      throw err;
    }
    await this.queue.abort(id, PROJECT_DELETED_REASON);
    await em.transactional(async (tem) => {
      const project = await this.journal.lockProject(tem, id);
      if (!project) throw notFound();
      await this.pool.release(tem, id);
      await tem.nativeDelete(ProvisionEvent, { projectId: id });
      await tem.nativeDelete(Project, { id });
    });
    this.bus.close(id);
    this.bus.publishChange(toChangeRecord(project, true));
    await this.audit.record({ actor: who.username, action: 'project.delete', target: `project:${id}`, ip: who.ip, result: 'success', detail: { serviceName: project.serviceName, owner: project.owner } });
  }

  /** Newest first, keyset-paginated on id (never OFFSET). */
  async history(em: EntityManager, caller: Principal | null, filter: HistoryFilter): Promise<HistoryPage> {
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
    const where: FilterQuery<Project> = {};
    if (!isAdmin(who)) where.owner = who.username;
    if (filter.status) where.status = filter.status;
    if (filter.infra) where.infra = filter.infra;
    if (filter.after) where.id = { $lt: decodeCursor(filter.after) };
    const rows = await em.find(Project, where, { orderBy: { id: 'desc' }, limit: first + 1 });
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
      load: (after) => this.storedEvents(em.fork({ clear: true }), projectId, after, MAX_EVENTS_PAGE),
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
