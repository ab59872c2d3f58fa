/**
 * "My resources" for the console at any pool size: one keyset-paginated list of host rows and
 * derived rows with filters and a total (the summary is in resource-summary.ts).
 *
 * Order and keyset: first every host row, by pool id; then every derived row, by project id,
 * then its place in the project (ALB, Web, DB, SSH-1..n: `project_resources.ord`). A cursor
 * names the last row of a page — `h:<host id>` or `p:<project id>:<ord>` — so the next page
 * starts right after it in that order, whatever was added or removed meanwhile: hosts through
 * the primary key (`id > ?`), derived rows through the primary key of project_resources
 * (`(project_id, ord) > (?, ?)`); a page that ends the host rows continues with the first
 * derived rows. Never OFFSET. A user's derived rows are found through projects' (owner, id)
 * index, an admin's through project_resources' key.
 */
import type { EntityManager } from '@mikro-orm/core';
import { sql } from '../db/sql.js';
import { INFRA_TYPES, type HostStatus, type InfraType, type ProjectStatus } from '../entities/index.js';
import { invalidInput, type ValidationIssue } from './errors.js';
import type { HostUsage, MetricsSource } from './metrics.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import { DERIVED_STATUS_SQL, HOST_LABEL_SQL, RESOURCE_KINDS, ROW_STATUSES, type DerivedKind, type ResourceKind, type ResourceRow, type RowStatus } from './resources.js';

export interface ResourceFilter {
  first?: number | null;
  after?: string | null;
  infra?: InfraType | null;
  /** A row status as shown (Available, Running, FAILED, …). */
  status?: string | null;
  projectId?: number | null;
  /** Admins only narrow by it; a user's rows are always their own (another owner: no rows). */
  owner?: string | null;
  /** A substring of the address or the vm name (case-insensitive). */
  search?: string | null;
  /** Only these kinds (none: every kind). */
  kinds?: ResourceKind[] | null;
}

export interface ResourcePage {
  items: ResourceRow[];
  /** The cursor of each item, in order. */
  cursors: string[];
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
}

export const DEFAULT_RESOURCE_PAGE = 50;
export const MAX_RESOURCE_PAGE = 500;
const MAX_SEARCH = 64;
const MAX_OWNER = 64;

type Cursor = { section: 'h'; id: number } | { section: 'p'; projectId: number; ord: number };

export function encodeResourceCursor(cursor: Cursor): string {
  return Buffer.from(cursor.section === 'h' ? `resource:h:${cursor.id}` : `resource:p:${cursor.projectId}:${cursor.ord}`).toString('base64url');
}

function decodeResourceCursor(value: string): Cursor {
  const text = Buffer.from(String(value), 'base64url').toString('utf8');
  const host = /^resource:h:(\d{1,15})$/.exec(text);
  if (host) return { section: 'h', id: Number(host[1]) };
  const derived = /^resource:p:(\d{1,15}):(\d{1,6})$/.exec(text);
  if (derived) return { section: 'p', projectId: Number(derived[1]), ord: Number(derived[2]) };
  throw invalidInput([{ loc: ['query', 'after'], msg: 'Invalid cursor', type: 'value_error' }]);
}

const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Host states a status label matches, and project states (COMPLETED shows as Running). */
const HOST_STATES_OF: Partial<Record<RowStatus, HostStatus>> = { Available: 'available', Provisioning: 'provisioning', Running: 'assigned', Drained: 'drained' };
const PROJECT_STATES_OF: Partial<Record<RowStatus, ProjectStatus>> = { Running: 'COMPLETED', PENDING: 'PENDING', RUNNING: 'RUNNING', FAILED: 'FAILED', CANCELLED: 'CANCELLED', DELETING: 'DELETING' };

interface Clauses {
  where: string[];
  params: unknown[];
  /** The clauses read the project (derived rows; a count joins projects only then). */
  joinsProjects: boolean;
}

interface Scope {
  hosts: Clauses | null;
  derived: Clauses | null;
}

/**
 * A user's hosts: held by one of their projects. Through projects' (owner, id) index and the
 * pool's project_id index, not a scan of the pool; `h.owner` (set with project_id when a host
 * is taken, cleared with it) keeps the original's rule exactly.
 */
export const USER_HOSTS_SQL = 'h.owner = ? and h.project_id in (select id from projects where owner = ?)';

function checkFilter(filter: ResourceFilter): { first: number; after: Cursor | null } {
  const first = filter.first ?? DEFAULT_RESOURCE_PAGE;
  const issues: ValidationIssue[] = [];
  if (!Number.isInteger(first) || first < 1 || first > MAX_RESOURCE_PAGE) issues.push({ loc: ['query', 'first'], msg: `must be from 1 to ${MAX_RESOURCE_PAGE}`, type: 'int_range' });
  if (filter.infra != null && !INFRA_TYPES.includes(filter.infra)) issues.push({ loc: ['query', 'infra'], msg: `must be one of ${INFRA_TYPES.join(', ')}`, type: 'enum' });
  if (filter.status != null && !ROW_STATUSES.includes(filter.status as RowStatus)) issues.push({ loc: ['query', 'status'], msg: `must be one of ${ROW_STATUSES.join(', ')}`, type: 'enum' });
  if (filter.kinds != null && filter.kinds.some((k) => !RESOURCE_KINDS.includes(k))) issues.push({ loc: ['query', 'kind'], msg: `must be among ${RESOURCE_KINDS.join(', ')}`, type: 'enum' });
  if (filter.search != null && (typeof filter.search !== 'string' || filter.search.length > MAX_SEARCH)) issues.push({ loc: ['query', 'search'], msg: `must be at most ${MAX_SEARCH} characters`, type: 'string_too_long' });
  if (filter.owner != null && (typeof filter.owner !== 'string' || filter.owner.length > MAX_OWNER)) issues.push({ loc: ['query', 'owner'], msg: `must be at most ${MAX_OWNER} characters`, type: 'string_too_long' });
  if (filter.projectId != null && (!Number.isSafeInteger(filter.projectId) || filter.projectId < 1)) issues.push({ loc: ['query', 'projectId'], msg: 'must be a whole number ≥ 1', type: 'int_parsing' });
  if (issues.length) throw invalidInput(issues);
  return { first, after: filter.after ? decodeResourceCursor(filter.after) : null };
}

/** A row's metric fields before (or without) Prometheus' figures. */
const NO_METRICS = { cpuUsage: 0, memoryUsage: 0, diskUsage: 0, hasMetrics: false, networkIn: null, networkOut: null, load1: null, uptimeSeconds: null } as const;

/** The WHERE clauses of each section for the caller and the filters; null: the section has no rows. */

function scopeOf(who: Principal, filter: ResourceFilter): Scope {
  const admin = isAdmin(who);
  const kinds = filter.kinds?.length ? new Set(filter.kinds) : null;
  const derivedKinds = kinds ? ([...kinds].filter((k) => k !== 'host') as DerivedKind[]) : null;
  const status = filter.status as RowStatus | null | undefined;
  const search = filter.search?.trim() || null;
  const owner = filter.owner ?? null;

  let hosts: Scope['hosts'] = { where: [], params: [], joinsProjects: false };
  if (kinds && !kinds.has('host')) hosts = null;
  if (status && !HOST_STATES_OF[status]) hosts = null;
  if (!admin && owner !== null && owner !== who.username) hosts = null;
  if (hosts) {
    const add = (clause: string, ...params: unknown[]) => {
      hosts!.where.push(clause);
      hosts!.params.push(...params);
    };
    if (!admin) add(USER_HOSTS_SQL, who.username, who.username);
    else if (owner !== null) add('h.owner = ?', owner);
    if (filter.infra) add('h.infra = ?', filter.infra);
    if (status) add('h.status = ?', HOST_STATES_OF[status]);
    if (filter.projectId != null) add('h.project_id = ?', filter.projectId);
    if (search) add("(lower(h.vm_name) like ? escape '\\' or h.ip_address like ? escape '\\')", likePattern(search), likePattern(search));
  }

  let derived: Scope['derived'] = { where: [], params: [], joinsProjects: false };
  if (derivedKinds && !derivedKinds.length) derived = null;
  if (status && !PROJECT_STATES_OF[status]) derived = null;
  if (!admin && owner !== null && owner !== who.username) derived = null;
  if (derived) {
    const add = (clause: string, ...params: unknown[]) => {
      derived!.where.push(clause);
      derived!.params.push(...params);
    };
    const addOnProject = (clause: string, ...params: unknown[]) => {
      add(clause, ...params);
      derived!.joinsProjects = true;
    };
    if (!admin || owner !== null) addOnProject('p.owner = ?', admin ? owner : who.username);
    if (filter.infra) addOnProject('p.infra = ?', filter.infra);
    if (status) addOnProject('p.status = ?', PROJECT_STATES_OF[status]);
    if (filter.projectId != null) add('r.project_id = ?', filter.projectId);
    if (derivedKinds && derivedKinds.length < 4) add(`r.kind in (${derivedKinds.map(() => '?').join(', ')})`, ...derivedKinds);
    if (search) add("(lower(r.vm_name) like ? escape '\\' or lower(r.address) like ? escape '\\')", likePattern(search), likePattern(search));
  }
  return { hosts, derived };
}

const where = (clauses: string[]) => (clauses.length ? ` where ${clauses.join(' and ')}` : '');

export interface HostRecord {
  id: number | string;
  vm_name: string;
  ip_address: string;
  infra: InfraType;
  status_label: string;
  project_id: number | string | null;
  owner: string | null;
  service_name: string | null;
}

interface DerivedRecord {
  project_id: number | string;
  ord: number | string;
  kind: DerivedKind;
  vm_name: string;
  address: string;
  infra: InfraType;
  owner: string;
  service_name: string;
  status_label: string;
}

export function hostRow(r: HostRecord): ResourceRow {
  return {
    kind: 'host',
    hostId: Number(r.id),
    vmName: r.vm_name,
    ipAddress: r.ip_address,
    infra: r.infra,
    projectId: r.project_id == null ? null : Number(r.project_id),
    projectName: r.service_name ?? '',
    owner: r.owner ?? '',
    status: r.status_label,
    ...NO_METRICS,
  };
}

function derivedRow(r: DerivedRecord): ResourceRow {
  return {
    kind: r.kind,
    hostId: null,
    vmName: r.vm_name,
    ipAddress: r.address,
    infra: r.infra,
    projectId: Number(r.project_id),
    projectName: r.service_name,
    owner: r.owner,
    status: r.status_label,
    ...NO_METRICS,
  };
}

function withUsage(row: ResourceRow, u: HostUsage): void {
  Object.assign(row, {
    cpuUsage: u.cpu,
    memoryUsage: u.memory,
    diskUsage: u.disk,
    hasMetrics: true,
    networkIn: u.networkIn,
    networkOut: u.networkOut,
    load1: u.load1,
    uptimeSeconds: u.uptimeSeconds,
  });
}

export const HOST_SELECT = `select h.id, h.vm_name, h.ip_address, h.infra, ${HOST_LABEL_SQL} as status_label, h.project_id, h.owner, p.service_name
  from workload_pool h left join projects p on p.id = h.project_id`;
const DERIVED_SELECT = `select r.project_id, r.ord, r.kind, r.vm_name, r.address, p.infra, p.owner, p.service_name, ${DERIVED_STATUS_SQL} as status_label
  from project_resources r join projects p on p.id = r.project_id`;

/**
 * One page of the caller's rows (see the file comment for the order), with the total of rows
 * matching the filters; host rows of the page carry the metrics source's current figures.
 */
export async function listResourcePage(db: EntityManager, caller: Principal | null, filter: ResourceFilter, metrics?: MetricsSource): Promise<ResourcePage> {
  const who = requireCaller(caller);
  const { first, after } = checkFilter(filter);
  const scope = scopeOf(who, filter);

  const hostRecords: HostRecord[] = [];
  if (scope.hosts && after?.section !== 'p') {
    const clauses = [...scope.hosts.where, 'h.id > ?'];
    hostRecords.push(...(await sql<HostRecord[]>(db, `${HOST_SELECT}${where(clauses)} order by h.id limit ?`, [...scope.hosts.params, after?.section === 'h' ? after.id : 0, first + 1])));
  }
  const derivedRecords: DerivedRecord[] = [];
  if (scope.derived && hostRecords.length <= first) {
    const from = after?.section === 'p' ? [after.projectId, after.ord] : [0, -1];
    const clauses = [...scope.derived.where, '(r.project_id, r.ord) > (?, ?)'];
    // A user's rows come through projects' (owner, id) index, in project id order.
    const order = isAdmin(who) ? 'r.project_id, r.ord' : 'p.id, r.ord';
    derivedRecords.push(...(await sql<DerivedRecord[]>(db, `${DERIVED_SELECT}${where(clauses)} order by ${order} limit ?`, [...scope.derived.params, ...from, first + 1 - hostRecords.length])));
  }
  const [hostCount, derivedCount] = await Promise.all([
    scope.hosts ? count(db, `select count(*) as n from workload_pool h${where(scope.hosts.where)}`, scope.hosts.params) : 0,
    scope.derived
      ? count(db, `select count(*) as n from project_resources r${scope.derived.joinsProjects ? ' join projects p on p.id = r.project_id' : ''}${where(scope.derived.where)}`, scope.derived.params)
      : 0,
  ]);

  const rows = [...hostRecords.map(hostRow), ...derivedRecords.map(derivedRow)];
  const cursors = [
    ...hostRecords.map((r) => encodeResourceCursor({ section: 'h', id: Number(r.id) })),
    ...derivedRecords.map((r) => encodeResourceCursor({ section: 'p', projectId: Number(r.project_id), ord: Number(r.ord) })),
  ];
  const items = rows.slice(0, first);
  const hosts = items.filter((r) => r.kind === 'host');
  if (metrics?.configured && hosts.length) {
    const usage = await metrics.usage(hosts.map((r) => r.ipAddress));
    for (const r of hosts) {
      const u = usage.get(r.ipAddress);
      if (u) withUsage(r, u);
    }
  }
  return {
    items,
    cursors: cursors.slice(0, first),
    totalCount: hostCount + derivedCount,
    hasNextPage: rows.length > first,
    endCursor: items.length ? cursors[items.length - 1] : null,
  };
}

async function count(db: EntityManager, text: string, params: unknown[]): Promise<number> {
  const [row]: { n: number | string }[] = await sql(db, text, params);
  return Number(row.n);
}
