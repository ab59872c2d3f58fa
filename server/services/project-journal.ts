/**
 * The one writer of a project's progress. Each write runs in a transaction with the project
 * row locked, appends numbered events, updates `status`, `assigned_ip` and `details` so they
 * always agree with the events, and publishes the events only after the commit.
 */
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { backendOf, type Orm } from '../db/orm.js';
import { Project, ProvisionEvent, type ProjectResources, type ProjectStatus } from '../entities/index.js';
import type { ProjectChangeRecord, ProjectEventBus, ProjectEventRecord } from './event-bus.js';

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

export class ProjectJournal {
  private readonly lockMode: LockMode | undefined;

  constructor(
    private readonly orm: Orm,
    private readonly bus: ProjectEventBus,
  ) {
    this.lockMode = backendOf(orm) === 'postgresql' ? LockMode.PESSIMISTIC_WRITE : undefined;
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
  ): Promise<ProjectEventRecord[]> {
    const { records, change } = await this.orm.em.fork().transactional(async (em) => {
      const project = await this.lockProject(em, projectId);
      if (!project) throw new ProjectGoneError(projectId);
      const drafts = await build({ em, project });
      const at = new Date();
      const events = drafts.map((draft) => applyDraft(em, project, draft, at));
      await em.flush();
      return { records: events.map(toEventRecord), change: events.length ? toChangeRecord(project) : null };
    });
    for (const record of records) this.bus.publish(record);
    if (change) this.bus.publishChange(change);
    return records;
  }

  /** Appends drafts with no other work. */
  append(projectId: number, ...drafts: EventDraft[]): Promise<ProjectEventRecord[]> {
    return this.write(projectId, () => drafts);
  }
}
