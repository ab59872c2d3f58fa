/**
 * The read paths of projects without the ORM's unit of work: `project(id)`, `history` and the
 * REST lists run one plain SELECT and map the row by hand. Measured on SQLite, MikroORM's
 * findOne cost ~170 µs where the same SELECT costs ~40 µs (docs/BENCHMARKS.md). The objects
 * have the entity's fields and are for reading only; writes still go through the journal.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { InfraType, PendingAction, Project, ProjectDetails, ProjectStatus } from '../entities/index.js';
import { sql, type SqlTarget } from '../db/sql.js';
import type { ProjectChangeRecord } from './event-bus.js';

interface ProjectRow {
  id: number;
  service_name: string;
  status: ProjectStatus;
  assigned_ip: string | null;
  template_type: string;
  owner: string;
  infra: InfraType;
  details: string | ProjectDetails;
  last_seq: number;
  created_at: number | string | Date;
  updated_at: number | string | Date;
  host_count: number;
  vcpu: number;
  memory_gb: number;
  disk_gb: number;
  completed_steps: string | string[] | null;
  claimed_by: string | null;
  pending_action: PendingAction | null;
  attempt: number;
}

const COLUMNS =
  'id, service_name, status, assigned_ip, template_type, owner, infra, details, last_seq, created_at, updated_at, host_count, vcpu, memory_gb, disk_gb, completed_steps, claimed_by, pending_action, attempt';

/** SQLite keeps JSON as text and dates as epoch milliseconds; PostgreSQL answers parsed JSON and timestamp text. */
const json = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);
const date = (value: number | string | Date): Date => (value instanceof Date ? value : new Date(value));

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    serviceName: row.service_name,
    status: row.status,
    assignedIp: row.assigned_ip,
    templateType: row.template_type,
    owner: row.owner,
    infra: row.infra,
    details: json<ProjectDetails>(row.details),
    lastSeq: row.last_seq,
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
    hostCount: row.host_count,
    vcpu: row.vcpu,
    memoryGb: row.memory_gb,
    diskGb: row.disk_gb,
    completedSteps: row.completed_steps === null ? null : json<string[]>(row.completed_steps),
    claimedBy: row.claimed_by,
    pendingAction: row.pending_action,
    attempt: row.attempt,
  };
}

export interface ProjectListQuery {
  owner?: string;
  status?: ProjectStatus;
  infra?: InfraType;
  /** Only ids below this one (keyset cursor). */
  beforeId?: number;
  limit: number;
}

/** One project; `forUpdate` locks its row until the transaction ends (PostgreSQL). */
export async function readProject(db: SqlTarget, id: number, forUpdate = false): Promise<Project | null> {
  const rows: ProjectRow[] = await sql(db, `select ${COLUMNS} from projects where id = ?${forUpdate ? ' for update' : ''}`, [id], 'all');
  return rows.length ? toProject(rows[0]) : null;
}

/** The WHERE clause and values of a list query (after the columns, before the order). */
function listWhere(query: ProjectListQuery): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.owner !== undefined) {
    where.push('owner = ?');
    params.push(query.owner);
  }
  if (query.status !== undefined) {
    where.push('status = ?');
    params.push(query.status);
  }
  if (query.infra !== undefined) {
    where.push('infra = ?');
    params.push(query.infra);
  }
  if (query.beforeId !== undefined) {
    where.push('id < ?');
    params.push(query.beforeId);
  }
  params.push(query.limit);
  return { where: where.length ? ` where ${where.join(' and ')}` : '', params };
}

/** Newest first by id, filtered; uses the (owner|status|infra, id) indexes. */
export async function readProjects(em: EntityManager, query: ProjectListQuery): Promise<Project[]> {
  const { where, params } = listWhere(query);
  const rows: ProjectRow[] = await sql(em, `select ${COLUMNS} from projects${where} order by id desc limit ?`, params, 'all');
  return rows.map(toProject);
}

/** What the REST history shows of a project (rest/shapes.ts). */
export type ProjectListItem = Pick<Project, 'id' | 'serviceName' | 'status' | 'assignedIp' | 'templateType' | 'owner' | 'details' | 'createdAt'>;

const LIST_COLUMNS = 'id, service_name, status, assigned_ip, template_type, owner, details, created_at';

/**
 * {@link readProjects} with only the columns of {@link ProjectListItem}: every value read costs
 * (the driver makes it a JavaScript value), and the history lists 8 of the 19.
 */
export async function readProjectListItems(em: EntityManager, query: ProjectListQuery): Promise<ProjectListItem[]> {
  const { where, params } = listWhere(query);
  const rows: Pick<ProjectRow, 'id' | 'service_name' | 'status' | 'assigned_ip' | 'template_type' | 'owner' | 'details' | 'created_at'>[] = await sql(
    em,
    `select ${LIST_COLUMNS} from projects${where} order by id desc limit ?`,
    params,
    'all',
  );
  return rows.map((row) => ({
    id: row.id,
    serviceName: row.service_name,
    status: row.status,
    assignedIp: row.assigned_ip,
    templateType: row.template_type,
    owner: row.owner,
    details: json<ProjectDetails>(row.details),
    createdAt: date(row.created_at),
  }));
}

/**
 * What list views show of every project changed at or after `since` (oldest change first, at
 * most `limit`): the event feed re-sends these after its connection was lost, when changes may
 * have been missed. A rare, one-off read; no index on updated_at is kept for it.
 */
export async function readChangesSince(em: EntityManager, since: Date, limit: number): Promise<ProjectChangeRecord[]> {
  const rows: Pick<ProjectRow, 'id' | 'service_name' | 'status' | 'assigned_ip' | 'owner' | 'infra' | 'last_seq' | 'updated_at'>[] = await sql(
    em,
    'select id, service_name, status, assigned_ip, owner, infra, last_seq, updated_at from projects where updated_at >= ? order by updated_at limit ?',
    [since, limit],
    'all',
  );
  return rows.map((r) => ({
    id: Number(r.id),
    serviceName: r.service_name,
    status: r.status,
    assignedIp: r.assigned_ip,
    owner: r.owner,
    infra: r.infra,
    lastSeq: Number(r.last_seq),
    updatedAt: date(r.updated_at),
    deleted: false,
  }));
}
