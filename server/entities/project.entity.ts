import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { ProjectDetails } from './project-details.js';

/**
 * PENDING (hosts taken, waiting for a runner) → RUNNING → COMPLETED | FAILED | CANCELLED;
 * any of them → DELETING (teardown) → gone. FAILED and CANCELLED may go back to PENDING (retry).
 */
export const PROJECT_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETING'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];
/** A run ended in one of these; nothing more happens until someone retries or deletes. */
export const TERMINAL_STATUSES: readonly ProjectStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];
/** States that hold hosts and count against quotas. */
export const LIVE_STATUSES: readonly ProjectStatus[] = ['PENDING', 'RUNNING', 'COMPLETED', 'DELETING'];
/** States in which a worker instance owns the project (it runs or tears down). */
export const ACTIVE_STATUSES: readonly ProjectStatus[] = ['RUNNING', 'DELETING'];

/** What someone asked a running job to do at its next safe point. */
export const PENDING_ACTIONS = ['cancel', 'delete'] as const;
export type PendingAction = (typeof PENDING_ACTIONS)[number];

export const INFRA_TYPES = ['aws', 'vsphere'] as const;
export type InfraType = (typeof INFRA_TYPES)[number];

/** One provisioning order. `details` keeps the original's JSON shape for REST clients. */
@Entity({ tableName: 'projects' })
@Index({ name: 'projects_owner_id_idx', properties: ['owner', 'id'] })
@Index({ name: 'projects_status_id_idx', properties: ['status', 'id'] })
@Index({ name: 'projects_infra_id_idx', properties: ['infra', 'id'] })
// Only projects a runner holds: new and finished projects (claimed_by null, nearly all rows)
// are not in it, so an order or a finished run writes no entry here (migration …20261126164745).
@Index({ name: 'projects_claimed_by_idx', expression: 'create index projects_claimed_by_idx on projects (claimed_by) where claimed_by is not null' })
export class Project {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 63 })
  serviceName!: string;

  @Enum({ items: () => [...PROJECT_STATUSES], type: 'string', length: 16 })
  status: ProjectStatus = 'PENDING';

  @Property({ type: 'string', length: 64, nullable: true })
  assignedIp?: string | null;

  @Property({ type: 'string', length: 32 })
  templateType!: string;

  /** Username of the account the project belongs to. */
  @Property({ type: 'string', length: 64 })
  owner!: string;

  @Enum({ items: () => [...INFRA_TYPES], type: 'string', length: 16 })
  infra!: InfraType;

  @Property({ type: 'json' })
  details!: ProjectDetails;

  /** What the order takes, for quotas and usage (see services/sizing.ts). */
  @Property({ type: 'integer' })
  hostCount: number = 0;

  @Property({ type: 'integer' })
  vcpu: number = 0;

  @Property({ type: 'integer' })
  memoryGb: number = 0;

  @Property({ type: 'integer' })
  diskGb: number = 0;

  /** Sequence number of the newest event; events are numbered 1, 2, 3… per project. */
  @Property({ type: 'integer' })
  lastSeq: number = 0;

  /** Ids of the runner steps that completed in the current attempt (resume point after a crash). */
  @Property({ type: 'json', nullable: true })
  completedSteps?: string[] | null;

  /** The worker instance that runs or tears down the project; null while nobody does. */
  @Property({ type: 'string', length: 64, nullable: true })
  claimedBy?: string | null;

  /** Cancel or delete asked of the running job, done at its next safe point. */
  @Enum({ items: () => [...PENDING_ACTIONS], type: 'string', length: 16, nullable: true })
  pendingAction?: PendingAction | null;

  /** 1 for the first run, +1 per retry. */
  @Property({ type: 'integer' })
  attempt: number = 1;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
