import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** Who did what, when, from where, with which result. Written by services, read by admins. */
@Entity({ tableName: 'audit_log' })
@Index({ name: 'audit_log_action_id_idx', properties: ['action', 'id'] })
@Index({ name: 'audit_log_actor_id_idx', properties: ['actor', 'id'] })
export class AuditEntry {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'datetime' })
  at: Date = new Date();

  /** Username, or null for an anonymous caller (a failed login names the account tried in `target`). */
  @Property({ type: 'string', length: 64, nullable: true })
  actor?: string | null;

  @Property({ type: 'string', length: 48 })
  action!: string;

  @Property({ type: 'string', length: 128, nullable: true })
  target?: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  ip?: string | null;

  @Property({ type: 'string', length: 16 })
  result!: 'success' | 'failure';

  @Property({ type: 'json', nullable: true })
  detail?: Record<string, unknown> | null;
}
