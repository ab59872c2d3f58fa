/**
 * Portal-wide settings (the original `settings` row): notice, maintenance mode, portal limits,
 * vCenter / ESXi / AWS connection details. Secrets are sealed with the SecretBox, bound to
 * their column, and are write-only: readers only learn whether one is set.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import type { Catalog } from '../config/catalog.js';
import { SECRET_SETTING_FIELDS, Setting, type SecretSettingField } from '../entities/setting.entity.js';
import { PORTAL_USAGE_OWNER } from '../entities/usage-total.entity.js';
import { DomainError, forbidden, invalidInput, type ValidationIssue } from './errors.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import { secretOwner, type SecretBox } from './secret-box.js';
import { sql } from '../db/sql.js';
import { saveChanges, snapshot } from '../db/entity-writes.js';

export const ADMIN_ONLY = '관리자만 접근 가능합니다.';
const MAX_NOTICE = 2000;
const MAX_TEXT = 255;
const MAX_PRIVATE_KEY = 16_384;
/** An unencrypted private key as ssh reads it (OpenSSH, PKCS#8 or PKCS#1); a passphrase cannot be given to a runner. */
const PRIVATE_KEY = /^-----BEGIN (OPENSSH|RSA|EC|DSA)? ?PRIVATE KEY-----\r?\n[\s\S]+\r?\n-----END (OPENSSH|RSA|EC|DSA)? ?PRIVATE KEY-----$/;

export interface AdminSettingsPatch {
  systemNotice?: string | null;
  maintenanceMode?: boolean | null;
  vcenterIp?: string | null;
  esxiIp?: string | null;
  vcenterUser?: string | null;
  vcenterPassword?: string | null;
  maxVcpu?: number | null;
  maxMemory?: number | null;
  awsAccessKey?: string | null;
  awsSecretKey?: string | null;
  awsRegion?: string | null;
  sshUser?: string | null;
  sshPrivateKey?: string | null;
}

/** What admins read: every secret shown only as set / unset. */
export interface AdminSettingsView {
  systemNotice: string;
  maintenanceMode: boolean;
  vcenterIp: string;
  esxiIp: string;
  vcenterUser: string;
  vcenterPasswordSet: boolean;
  maxVcpu: number;
  maxMemory: number;
  awsAccessKeySet: boolean;
  awsSecretKeySet: boolean;
  awsRegion: string;
  sshUser: string;
  sshPrivateKeySet: boolean;
  updatedAt: Date;
}

export interface PortalUsage {
  totalProjects: number;
  liveProjects: number;
  usedHosts: number;
  usedVcpu: number;
  usedMemory: number;
  usedDisk: number;
}

export const settingSecretOwner = (field: SecretSettingField) => secretOwner('settings', 1, field);

/** Creates the settings row once (start-up); safe when several processes start together. */
export async function ensureSettingsRow(em: EntityManager, limits: { vcpu: number; memoryGb: number }): Promise<void> {
  await (em as SqlEntityManager)
    .createQueryBuilder(Setting)
    .insert({ id: 1, systemNotice: '', maintenanceMode: false, maxVcpu: limits.vcpu, maxMemory: limits.memoryGb, updatedAt: new Date() })
    .onConflict('id')
    .ignore()
    .execute();
}

export async function loadSettings(em: EntityManager): Promise<Setting> {
  return em.findOneOrFail(Setting, 1, { refresh: true });
}

/**
 * vCenter's address and account for a runner's power-on play, when an address is set; the
 * password opened from its envelope (for a 0600 file of the run, never a log or an answer).
 */
export async function vcenterAccess(em: EntityManager, box: SecretBox): Promise<{ hostname: string; username: string; password: string; esxi: string } | null> {
  const s = await loadSettings(em);
  if (!s.vcenterIp) return null;
  return {
    hostname: s.vcenterIp,
    username: s.vcenterUser ?? '',
    password: s.vcenterPassword ? box.open(s.vcenterPassword, settingSecretOwner('vcenterPassword')) : '',
    esxi: s.esxiIp ?? '',
  };
}

/** Refuses new orders (and retries) while maintenance mode is on. */
export function assertAcceptingOrders(settings: { maintenanceMode: boolean; systemNotice: string }): void {
  if (settings.maintenanceMode) {
    const notice = settings.systemNotice ? `: ${settings.systemNotice}` : '';
    throw new DomainError('SERVICE_UNAVAILABLE', `Maintenance mode is on; new provisioning is paused${notice}`);
  }
}

export function requireAdmin(caller: Principal | null): Principal {
  const who = requireCaller(caller);
  if (!isAdmin(who)) throw forbidden(ADMIN_ONLY);
  return who;
}

export function toAdminView(s: Setting): AdminSettingsView {
  return {
    systemNotice: s.systemNotice,
    maintenanceMode: s.maintenanceMode,
    vcenterIp: s.vcenterIp ?? '',
    esxiIp: s.esxiIp ?? '',
    vcenterUser: s.vcenterUser ?? '',
    vcenterPasswordSet: Boolean(s.vcenterPassword),
    maxVcpu: s.maxVcpu,
    maxMemory: s.maxMemory,
    awsAccessKeySet: Boolean(s.awsAccessKey),
    awsSecretKeySet: Boolean(s.awsSecretKey),
    awsRegion: s.awsRegion ?? '',
    sshUser: s.sshUser ?? '',
    sshPrivateKeySet: Boolean(s.sshPrivateKey),
    updatedAt: s.updatedAt,
  };
}

function validatePatch(patch: AdminSettingsPatch, catalog: Catalog): void {
  const issues: ValidationIssue[] = [];
  const text = (field: keyof AdminSettingsPatch, max: number) => {
    const v = patch[field];
    if (v != null && (typeof v !== 'string' || v.length > max)) {
      issues.push({ loc: ['body', field], msg: `must be a string of at most ${max} characters`, type: 'string_too_long' });
    }
  };
  text('systemNotice', MAX_NOTICE);
  for (const f of ['vcenterIp', 'esxiIp', 'vcenterUser', 'vcenterPassword', 'awsAccessKey', 'awsSecretKey'] as const) text(f, MAX_TEXT);
  for (const f of ['maxVcpu', 'maxMemory'] as const) {
    const v = patch[f];
    if (v != null && (!Number.isInteger(v) || v < 0 || v > 10_000_000)) {
      issues.push({ loc: ['body', f], msg: 'must be a whole number from 0 to 10000000', type: 'int_range' });
    }
  }
  if (patch.maintenanceMode != null && typeof patch.maintenanceMode !== 'boolean') {
    issues.push({ loc: ['body', 'maintenanceMode'], msg: 'must be true or false', type: 'bool_type' });
  }
  if (patch.sshUser != null && (typeof patch.sshUser !== 'string' || !/^$|^[a-z_][a-z0-9_.-]{0,31}$/i.test(patch.sshUser))) {
    issues.push({ loc: ['body', 'sshUser'], msg: 'must be an account name (letters, digits, _ . -; at most 32)', type: 'string_pattern_mismatch' });
  }
  if (patch.sshPrivateKey != null) {
    const key = patch.sshPrivateKey;
    if (typeof key !== 'string' || key.length > MAX_PRIVATE_KEY || (key !== '' && !PRIVATE_KEY.test(key.trim()))) {
      issues.push({ loc: ['body', 'sshPrivateKey'], msg: 'must be an unencrypted private key in OpenSSH or PEM form (-----BEGIN … PRIVATE KEY-----)', type: 'value_error' });
    }
  }
  if (patch.awsRegion != null && patch.awsRegion !== '' && !catalog.regions[patch.awsRegion]) {
    issues.push({ loc: ['body', 'awsRegion'], msg: `must be one of ${Object.keys(catalog.regions).join(', ')}`, type: 'enum' });
  }
  if (issues.length) throw invalidInput(issues);
}

/**
 * Applies a patch: absent (or null) fields stay as they are; a secret given as "" is cleared.
 * The caller must be an admin who has re-entered their password (checked by the caller of this).
 */
export async function applyAdminSettings(em: EntityManager, patch: AdminSettingsPatch, box: SecretBox, catalog: Catalog): Promise<{ settings: Setting; changed: string[] }> {
  validatePatch(patch, catalog);
  const settings = await loadSettings(em);
  const before = snapshot(em, settings);
  const changed: string[] = [];
  const plain = ['systemNotice', 'maintenanceMode', 'vcenterIp', 'esxiIp', 'vcenterUser', 'maxVcpu', 'maxMemory', 'awsRegion', 'sshUser'] as const;
  for (const field of plain) {
    const value = patch[field];
    if (value == null || settings[field] === value) continue;
    (settings as unknown as Record<string, unknown>)[field] = value;
    changed.push(field);
  }
  for (const field of SECRET_SETTING_FIELDS) {
    const value = patch[field];
    if (value == null) continue;
    settings[field] = value === '' ? null : box.seal(value, settingSecretOwner(field));
    changed.push(field);
  }
  settings.updatedAt = new Date();
  await saveChanges(em, settings, before);
  return { settings, changed };
}

/**
 * What live projects (PENDING, RUNNING, COMPLETED, DELETING) take, from the usage totals the
 * journal keeps (one row read, whatever the history's size); optionally of one owner.
 */
export async function liveUsageOf(em: EntityManager, owner?: string): Promise<Omit<PortalUsage, 'totalProjects'>> {
  const rows: Record<string, number | string | null>[] = await sql(
    em,
    'select live_projects, hosts, vcpu, memory_gb, disk_gb from usage_totals where owner = ?',
    [owner ?? PORTAL_USAGE_OWNER],
  );
  const row = rows[0];
  const n = (v: number | string | null | undefined) => Number(v ?? 0);
  return {
    liveProjects: n(row?.live_projects),
    usedHosts: n(row?.hosts),
    usedVcpu: n(row?.vcpu),
    usedMemory: n(row?.memory_gb),
    usedDisk: n(row?.disk_gb),
  };
}

/** Live usage plus how many projects there are in all (admin statistics); optionally of one owner. */
export async function usageOf(em: EntityManager, owner?: string): Promise<PortalUsage> {
  const where = owner === undefined ? '' : 'where owner = ?';
  const [row]: Record<string, number | string | null>[] = await sql(em, `select count(*) as total from projects ${where}`, owner === undefined ? [] : [owner], 'all');
  return { totalProjects: Number(row?.total ?? 0), ...(await liveUsageOf(em, owner)) };
}


