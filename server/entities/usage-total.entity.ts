import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** The owner key of the portal-wide row. Usernames cannot contain `*`. */
export const PORTAL_USAGE_OWNER = '*';

/**
 * What live projects (PENDING, RUNNING, COMPLETED, DELETING) take, per owner and for the whole
 * portal (owner `*`). Kept by the journal in the same transaction as every status change, so a
 * quota check reads one row instead of summing the whole history.
 */
@Entity({ tableName: 'usage_totals' })
export class UsageTotal {
  @PrimaryKey({ type: 'string', length: 64 })
  owner!: string;

  @Property({ type: 'integer' })
  liveProjects: number = 0;

  @Property({ type: 'integer' })
  hosts: number = 0;

  @Property({ type: 'integer' })
  vcpu: number = 0;

  @Property({ type: 'integer' })
  memoryGb: number = 0;

  @Property({ type: 'integer' })
  diskGb: number = 0;
}
