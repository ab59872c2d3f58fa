import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The single row of portal-wide settings (id 1), as the original `settings` table. Secret
 * columns hold AES-256-GCM envelopes (see services/secret-box.ts), never plain text, and no
 * transport returns them.
 */
@Entity({ tableName: 'settings' })
export class Setting {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id: number = 1;

  @Property({ type: 'text' })
  systemNotice: string = '';

  @Property({ type: 'boolean' })
  maintenanceMode: boolean = false;

  @Property({ type: 'string', length: 255, nullable: true })
  vcenterIp?: string | null;

  @Property({ type: 'string', length: 255, nullable: true })
  esxiIp?: string | null;

  @Property({ type: 'string', length: 255, nullable: true })
  vcenterUser?: string | null;

  /** Encrypted. */
  @Property({ type: 'text', nullable: true, hidden: true })
  vcenterPassword?: string | null;

  /** Portal-wide limit on the vCPUs of live projects. */
  @Property({ type: 'integer' })
  maxVcpu: number = 100;

  /** Portal-wide limit on the memory (GB) of live projects. */
  @Property({ type: 'integer' })
  maxMemory: number = 256;

  /** Encrypted. */
  @Property({ type: 'text', nullable: true, hidden: true })
  awsAccessKey?: string | null;

  /** Encrypted. */
  @Property({ type: 'text', nullable: true, hidden: true })
  awsSecretKey?: string | null;

  @Property({ type: 'string', length: 32, nullable: true })
  awsRegion?: string | null;

  /** The account runners log in to pool hosts as (Ansible's remote user). */
  @Property({ type: 'string', length: 64, nullable: true })
  sshUser?: string | null;

  /** Encrypted: the private key runners log in to pool hosts with (OpenSSH or PEM text). */
  @Property({ type: 'text', nullable: true, hidden: true })
  sshPrivateKey?: string | null;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}

/** Setting columns that hold secrets; each is bound to its row and column when encrypted. */
export const SECRET_SETTING_FIELDS = ['vcenterPassword', 'awsAccessKey', 'awsSecretKey', 'sshPrivateKey'] as const;
export type SecretSettingField = (typeof SECRET_SETTING_FIELDS)[number];
