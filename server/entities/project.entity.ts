import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { ProjectDetails } from './project-details.js';

export const PROJECT_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ProjectStatus[] = ['COMPLETED', 'FAILED'];

export const INFRA_TYPES = ['aws', 'vsphere'] as const;
export type InfraType = (typeof INFRA_TYPES)[number];

/** One provisioning order. `details` keeps the original's JSON shape for REST clients. */
@Entity({ tableName: 'projects' })
@Index({ name: 'projects_owner_id_idx', properties: ['owner', 'id'] })
@Index({ name: 'projects_status_id_idx', properties: ['status', 'id'] })
@Index({ name: 'projects_infra_id_idx', properties: ['infra', 'id'] })
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

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
