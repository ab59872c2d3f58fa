import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, GraphQLISODateTime, InputType, Int, ObjectType } from 'type-graphql';
import type { AuditEntry } from '../../entities/index.js';
import { BOOKKEEPING, ITEMS } from '../limits.js';
import { QuotaType } from './user.type.js';

@ObjectType('AdminSettings', { simpleResolvers: true, description: 'Portal settings; secrets are write-only and shown as set / unset' })
export class AdminSettingsType {
  @Field(() => String) systemNotice!: string;
  @Field(() => Boolean) maintenanceMode!: boolean;
  @Field(() => String) vcenterIp!: string;
  @Field(() => String) esxiIp!: string;
  @Field(() => String) vcenterUser!: string;
  @Field(() => Boolean) vcenterPasswordSet!: boolean;
  @Field(() => Int) maxVcpu!: number;
  @Field(() => Int, { description: 'GB' }) maxMemory!: number;
  @Field(() => Boolean) awsAccessKeySet!: boolean;
  @Field(() => Boolean) awsSecretKeySet!: boolean;
  @Field(() => String) awsRegion!: string;
  @Field(() => String, { description: 'The account runners log in to pool hosts as' }) sshUser!: string;
  @Field(() => Boolean) sshPrivateKeySet!: boolean;
  @Field(() => GraphQLISODateTime) updatedAt!: Date;
}

@InputType('AdminSettingsInput', { description: 'Fields left out stay as they are; a secret set to "" is cleared' })
export class AdminSettingsInput {
  @Field(() => String, { nullable: true }) systemNotice?: string | null;
  @Field(() => Boolean, { nullable: true }) maintenanceMode?: boolean | null;
  @Field(() => String, { nullable: true }) vcenterIp?: string | null;
  @Field(() => String, { nullable: true }) esxiIp?: string | null;
  @Field(() => String, { nullable: true }) vcenterUser?: string | null;
  @Field(() => String, { nullable: true, description: 'Write-only' }) vcenterPassword?: string | null;
  @Field(() => Int, { nullable: true }) maxVcpu?: number | null;
  @Field(() => Int, { nullable: true }) maxMemory?: number | null;
  @Field(() => String, { nullable: true, description: 'Write-only' }) awsAccessKey?: string | null;
  @Field(() => String, { nullable: true, description: 'Write-only' }) awsSecretKey?: string | null;
  @Field(() => String, { nullable: true }) awsRegion?: string | null;
  @Field(() => String, { nullable: true, description: 'The account runners log in to pool hosts as' }) sshUser?: string | null;
  @Field(() => String, { nullable: true, description: 'Write-only: an unencrypted private key (OpenSSH or PEM) runners log in to pool hosts with' }) sshPrivateKey?: string | null;
}

@ObjectType('Usage', { simpleResolvers: true, description: 'Counts over live projects (PENDING, RUNNING, COMPLETED)' })
export class UsageType {
  @Field(() => Int) totalProjects!: number;
  @Field(() => Int) liveProjects!: number;
  @Field(() => Int) usedHosts!: number;
  @Field(() => Int) usedVcpu!: number;
  @Field(() => Int, { description: 'GB' }) usedMemory!: number;
  @Field(() => Int, { description: 'GB' }) usedDisk!: number;
}

@ObjectType('QuotaStatus', { simpleResolvers: true })
export class QuotaStatusType {
  @Field(() => QuotaType, { nullable: true, description: 'Null for admins: not limited' }) limit!: QuotaType | null;
  @Field(() => UsageType) used!: UsageType;
}

@ObjectType('AuditEntry', { simpleResolvers: true })
export class AuditEntryType {
  @Field(() => Int) id!: number;
  @Field(() => GraphQLISODateTime) at!: Date;
  @Field(() => String, { nullable: true }) actor!: string | null;
  @Field(() => String) action!: string;
  @Field(() => String, { nullable: true }) target!: string | null;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => String, { description: 'success or failure' }) result!: string;
  @Field(() => GraphQLJSONObject, { nullable: true }) detail!: Record<string, unknown> | null;
}

export function toAuditEntryType(e: AuditEntry): AuditEntryType {
  return { id: e.id, at: e.at, actor: e.actor ?? null, action: e.action, target: e.target ?? null, ip: e.ip ?? null, result: e.result, detail: e.detail ?? null };
}

@ObjectType('AuditPage', { simpleResolvers: true, description: 'Newest first; pass nextBefore as before for the next page' })
export class AuditPageType {
  @Field(() => [AuditEntryType], { complexity: ITEMS }) entries!: AuditEntryType[];
  @Field(() => Boolean, { complexity: BOOKKEEPING }) hasMore!: boolean;
  @Field(() => Int, { nullable: true, complexity: BOOKKEEPING }) nextBefore!: number | null;
}
