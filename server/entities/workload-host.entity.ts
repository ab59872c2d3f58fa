import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { INFRA_TYPES, type InfraType } from './project.entity.js';

export const HOST_STATUSES = ['available', 'provisioning', 'assigned'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** A machine of the workload pool. One row, one project at most: a host cannot be held twice. */
@Entity({ tableName: 'workload_pool' })
@Index({ name: 'workload_pool_free_idx', properties: ['infra', 'status', 'id'] })
@Index({ name: 'workload_pool_project_idx', properties: ['projectId'] })
export class WorkloadHost {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 64 })
  vmName!: string;

  @Property({ type: 'string', length: 64, unique: true })
  ipAddress!: string;

  @Enum({ items: () => [...INFRA_TYPES], type: 'string', length: 16 })
  infra!: InfraType;

  @Enum({ items: () => [...HOST_STATUSES], type: 'string', length: 16 })
  status: HostStatus = 'available';

  @Property({ type: 'integer', nullable: true })
  projectId?: number | null;

  @Property({ type: 'string', length: 64, nullable: true })
  owner?: string | null;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
