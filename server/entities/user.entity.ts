import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/core';

export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];
export const USER_STATUSES = ['approved', 'pending', 'rejected', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

@Entity({ tableName: 'users' })
export class User {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 64, unique: true })
  username!: string;

  /** argon2id PHC string; never leaves the server. */
  @Property({ type: 'string', length: 255, hidden: true })
  passwordHash!: string;

  @Enum({ items: () => [...USER_ROLES], type: 'string', length: 16 })
  role: UserRole = 'user';

  @Enum({ items: () => [...USER_STATUSES], type: 'string', length: 16 })
  status: UserStatus = 'approved';

  @Property({ type: 'string', length: 128, nullable: true })
  fullName?: string | null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  updatedAt?: Date | null;

  /** Quota given at approval (the original's max_vms / max_cpu / max_ram / max_disk); null = the configured default. */
  @Property({ type: 'integer', nullable: true, fieldName: 'max_vms' })
  maxHosts?: number | null;

  @Property({ type: 'integer', nullable: true, fieldName: 'max_cpu' })
  maxVcpu?: number | null;

  @Property({ type: 'integer', nullable: true, fieldName: 'max_ram' })
  maxMemoryGb?: number | null;

  @Property({ type: 'integer', nullable: true, fieldName: 'max_disk' })
  maxDiskGb?: number | null;
}
