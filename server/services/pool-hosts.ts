/**
 * Pool hosts as admins see them: the row read with plain SQL and turned into a view (booleans
 * and times as SQLite and PostgreSQL hand them back), key fingerprints, the list cursor, and the
 * rules for a host an admin adds.
 */
import { createHash } from 'node:crypto';
import { INFRA_TYPES, type HostStatus, type InfraType } from '../entities/index.js';
import { invalidInput, type ValidationIssue } from './errors.js';

export interface PoolHostView {
  id: number;
  vmName: string;
  ipAddress: string;
  infra: InfraType;
  status: HostStatus;
  projectId: number | null;
  owner: string | null;
  /** Drained while a project held it: it becomes `drained` when given back. */
  drainRequested: boolean;
  hostKeySet: boolean;
  /** `<key type> SHA256:<fingerprint>` per recorded key (public, like ssh-keygen -l shows it). */
  hostKeyFingerprints: string[];
  checkedAt: Date | null;
  checkOk: boolean | null;
  checkMessage: string | null;
  updatedAt: Date;
}

/** The columns {@link toView} reads. */
export const HOST_COLUMNS = 'id, vm_name, ip_address, infra, status, project_id, owner, drain_requested, host_key, checked_at, check_ok, check_message, updated_at';

export interface HostRow {
  id: number | string;
  vm_name: string;
  ip_address: string;
  infra: string;
  status: string;
  project_id: number | string | null;
  owner: string | null;
  drain_requested: boolean | number;
  host_key: string | null;
  checked_at: Date | number | string | null;
  check_ok: boolean | number | null;
  check_message: string | null;
  updated_at: Date | number | string;
}

const date = (value: Date | number | string): Date => (value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value));

/** `SHA256:…` of each known_hosts line's key, as ssh prints it. */
export function fingerprints(knownHosts: string | null): string[] {
  if (!knownHosts) return [];
  return knownHosts
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length >= 3)
    .map(([, type, key]) => `${type} SHA256:${createHash('sha256').update(Buffer.from(key, 'base64')).digest('base64').replace(/=+$/, '')}`);
}

export function toView(row: HostRow): PoolHostView {
  return {
    id: Number(row.id),
    vmName: row.vm_name,
    ipAddress: row.ip_address,
    infra: row.infra as InfraType,
    status: row.status as HostStatus,
    projectId: row.project_id == null ? null : Number(row.project_id),
    owner: row.owner ?? null,
    drainRequested: Boolean(row.drain_requested),
    hostKeySet: Boolean(row.host_key),
    hostKeyFingerprints: fingerprints(row.host_key),
    checkedAt: row.checked_at == null ? null : date(row.checked_at),
    checkOk: row.check_ok == null ? null : Boolean(row.check_ok),
    checkMessage: row.check_message ?? null,
    updatedAt: date(row.updated_at),
  };
}

export function encodeHostCursor(id: number): string {
  return Buffer.from(`poolhost:${id}`).toString('base64url');
}

export function decodeHostCursor(cursor: string): number {
  const m = /^poolhost:(\d{1,15})$/.exec(Buffer.from(String(cursor), 'base64url').toString('utf8'));
  if (!m) throw invalidInput([{ loc: ['query', 'after'], msg: 'Invalid cursor', type: 'value_error' }]);
  return Number(m[1]);
}

/** What an admin sends for one host (REST and GraphQL alike; checked by {@link checkNewHosts}). */
export interface NewPoolHostInput {
  vmName?: unknown;
  ipAddress?: unknown;
  infra?: unknown;
}

export interface NewPoolHost {
  vmName: string;
  ipAddress: string;
  infra: InfraType;
}

export const MAX_HOSTS_PER_ADD = 1000;
const VM_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export const isIpv4 = (value: unknown): value is string => typeof value === 'string' && IPV4.test(value);

/** A batch of new hosts as checked: the problems found, and the well-formed addresses with their index. */
export interface CheckedBatch {
  hosts: NewPoolHost[];
  issues: ValidationIssue[];
  addresses: Map<string, number>;
}

/**
 * Every problem of a batch at once (types, names, addresses, infrastructures, addresses repeated
 * in the batch). The caller adds what the table says (addresses already there) and refuses the
 * batch when there is any issue; `hosts` is meaningful only then.
 */
export function checkNewHosts(hosts: unknown): CheckedBatch {
  if (!Array.isArray(hosts) || hosts.length === 0 || hosts.length > MAX_HOSTS_PER_ADD) {
    throw invalidInput([{ loc: ['body', 'hosts'], msg: `must be a list of 1 to ${MAX_HOSTS_PER_ADD} hosts`, type: !Array.isArray(hosts) ? 'list_type' : hosts.length === 0 ? 'too_short' : 'too_long' }]);
  }
  const issues: ValidationIssue[] = [];
  const addresses = new Map<string, number>();
  hosts.forEach((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push({ loc: ['body', 'hosts', i], msg: 'Input should be a valid JSON object', type: 'model_type' });
      return;
    }
    const host = raw as NewPoolHostInput;
    if (typeof host.vmName !== 'string' || !VM_NAME.test(host.vmName)) {
      issues.push({ loc: ['body', 'hosts', i, 'vm_name'], msg: "must be 1 to 64 letters, digits, '.', '_' or '-'", type: 'string_pattern_mismatch' });
    }
    if (!isIpv4(host.ipAddress)) {
      issues.push({ loc: ['body', 'hosts', i, 'ip_address'], msg: 'must be an IPv4 address: four numbers from 0 to 255 joined by dots', type: 'value_error' });
    } else {
      const first = addresses.get(host.ipAddress);
      if (first !== undefined) issues.push({ loc: ['body', 'hosts', i, 'ip_address'], msg: `repeats the address of hosts[${first}]`, type: 'value_error.duplicate' });
      else addresses.set(host.ipAddress, i);
    }
    if (!INFRA_TYPES.includes(host.infra as InfraType)) {
      issues.push({ loc: ['body', 'hosts', i, 'infra'], msg: `must be one of ${INFRA_TYPES.join(', ')}`, type: 'enum' });
    }
  });
  const valid = (hosts as NewPoolHostInput[]).map((h) => ({ vmName: h.vmName as string, ipAddress: h.ipAddress as string, infra: h.infra as InfraType }));
  return { hosts: valid, issues, addresses };
}
