import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * An `Idempotency-Key` that created a project: the same owner and key with the same body give
 * that project again; with another body, a 422. Kept at least IDEMPOTENCY_TTL_HOURS.
 */
@Entity({ tableName: 'idempotency_keys' })
@Unique({ name: 'idempotency_keys_owner_key_uq', properties: ['owner', 'key'] })
export class IdempotencyKey {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 64 })
  owner!: string;

  @Property({ type: 'string', length: 255 })
  key!: string;

  /** SHA-256 of the canonical JSON of the request body. */
  @Property({ type: 'string', length: 64 })
  requestHash!: string;

  @Index({ name: 'idempotency_keys_project_idx' })
  @Property({ type: 'integer' })
  projectId!: number;

  @Index({ name: 'idempotency_keys_created_idx' })
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
