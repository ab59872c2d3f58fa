import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { INFRA_TYPES, type InfraType } from './project.entity.js';

/** `drained`: taken out of service by an admin; never given to a project until undrained. */
export const HOST_STATUSES = ['available', 'provisioning', 'assigned', 'drained'] as const;
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

  /** An admin drained the host while a project held it: it is `drained` once given back. */
  @Property({ type: 'boolean', default: false })
  drainRequested: boolean = false;

  /**
   * The host's SSH host keys as known_hosts lines, recorded the first time a runner or a check
   * reached it (trust on first use); a host that answers with another key is refused until an
   * admin resets this.
   */
  @Property({ type: 'text', nullable: true })
  hostKey?: string | null;

  /** The last reachability check: when, whether SSH and a trivial command worked, and what it said. */
  @Property({ type: 'datetime', nullable: true })
  checkedAt?: Date | null;

  @Property({ type: 'boolean', nullable: true })
  checkOk?: boolean | null;

  @Property({ type: 'string', length: 500, nullable: true })
  checkMessage?: string | null;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
