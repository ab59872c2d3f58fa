/**
 * The history table's logic, free of Vue: status colours, the actions a row offers, the spec
 * of an order, the CSV export, and merging live `projectChanges` into the loaded rows.
 */
import type { HistoryPageQuery, InfraType, ProjectChangesSubscription, ProjectStatus } from '../graphql/generated/operations';
import { canCancel, canRetry, isFinalStatus } from './project-status';

export type HistoryRow = HistoryPageQuery['history']['nodes'][number];
export type ProjectChange = ProjectChangesSubscription['projectChanges'];

export type StatusTone = 'green' | 'red' | 'grey' | 'slate' | 'amber';

const GREEN = ['PROVISIONED', 'RUNNING', 'COMPLETED'];
const RED = ['ERROR', 'FAILED'];

/**
 * Green for PROVISIONED / RUNNING / COMPLETED, red for ERROR / FAILED, slate (a solid grey) for
 * CANCELLED, amber for DELETING, grey (outlined) otherwise.
 */
export function statusTone(status: string | null | undefined): StatusTone {
  const s = String(status ?? '').toUpperCase();
  if (GREEN.includes(s)) return 'green';
  if (RED.includes(s)) return 'red';
  if (s === 'CANCELLED') return 'slate';
  if (s === 'DELETING') return 'amber';
  return 'grey';
}

export interface RowActions {
  cancel: boolean;
  retry: boolean;
  delete: boolean;
  /** Shown but not usable: a stop is pending, or the project is being deleted. */
  disabled: boolean;
}

/**
 * What a row offers: its owner and admins cancel a PENDING / RUNNING run and retry a FAILED /
 * CANCELLED one; admins delete. Nothing is usable while a stop is pending or during DELETING.
 */
export function rowActions(row: Pick<HistoryRow, 'status' | 'owner' | 'pendingAction'>, viewer: { username: string | null; isAdmin: boolean }): RowActions {
  const mine = viewer.isAdmin || (viewer.username !== null && row.owner === viewer.username);
  const busy = !!row.pendingAction || row.status === 'DELETING';
  return {
    // Offered by status; the buttons are disabled (not hidden) while a stop is pending.
    cancel: mine && canCancel(row.status, null),
    retry: mine && canRetry(row.status, null),
    delete: viewer.isAdmin,
    disabled: busy,
  };
}

/** What the spec column and the CSV need from the catalog. */
export interface SpecCatalog {
  traffic: Record<string, { vcpu: number; memoryGb: number }>;
  instanceTiers: Record<string, { vcpu: number; memoryGb: number }>;
  templateHosts: Record<string, number>;
  /** Database engines' labels by key (RDS PostgreSQL 15, …). */
  dbEngines?: Record<string, string>;
}

/** What an AWS design holds besides its app nodes: the spec column's second line. */
export interface DesignSummary {
  /** The engine's label (its key when the catalog does not know it); null: no database. */
  database: string | null;
  multiAz: boolean;
  redis: boolean;
  waf: boolean;
  cdn: boolean;
}

export interface OrderSpec {
  kind: 'aws-design' | 'template';
  /** Per host (template) or per node (design); null when the catalog does not know the size. */
  vcpu: number | null;
  memoryGb: number | null;
  packages: string[];
  instanceType: string | null;
  nodes: number;
  ha: boolean;
  /** An AWS design's data tier and edge; null for a template order. */
  design: DesignSummary | null;
}

const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const asNumber = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** An AWS design names an instance type; a template order names a template. */
export function specOf(config: Record<string, unknown> | null | undefined, catalog: SpecCatalog): OrderSpec {
  const c = asRecord(config);
  const packages = Array.isArray(c.packages) ? c.packages.map(String) : [];
  if (typeof c.instanceType === 'string') {
    const tier = catalog.instanceTiers[c.instanceType];
    const nodes = asNumber(c.nodeCount) ?? 1;
    return {
      kind: 'aws-design',
      vcpu: tier?.vcpu ?? null,
      memoryGb: tier?.memoryGb ?? null,
      packages,
      instanceType: c.instanceType,
      nodes,
      ha: c.dbMultiAZ === true,
      design: designSummaryOf(c, catalog),
    };
  }
  const size = catalog.traffic[typeof c.traffic === 'string' ? c.traffic : 'low'];
  const hosts = typeof c.template === 'string' ? (catalog.templateHosts[c.template] ?? 1) : 1;
  return { kind: 'template', vcpu: size?.vcpu ?? null, memoryGb: size?.memoryGb ?? null, packages, instanceType: null, nodes: hosts, ha: hosts > 1, design: null };
}

/** As provisioning reads a design: Multi-AZ only with a database (dbMultiAZ alone is ignored). */
function designSummaryOf(c: Record<string, unknown>, catalog: SpecCatalog): DesignSummary {
  const engine = typeof c.dbEngine === 'string' && c.dbEngine !== '' ? c.dbEngine : null;
  return {
    database: engine === null ? null : (catalog.dbEngines?.[engine] ?? engine),
    multiAz: engine !== null && c.dbMultiAZ === true,
    redis: c.redis === true,
    waf: c.waf === true,
    cdn: c.cdn === true,
  };
}

/** "infra / region" (AWS: the design's region; vSphere: the vCenter or region it was sent to). */
export function targetOf(row: Pick<HistoryRow, 'infra' | 'config' | 'details'>): string {
  const infra = asRecord(asRecord(row.details).infra);
  const config = asRecord(row.config);
  const where = [config.region, infra.region, infra.vCenter, infra.vcenter, infra.vcenterIp].find((v) => typeof v === 'string' && v !== '');
  return where ? `${row.infra} / ${String(where)}` : row.infra;
}

/** One CSV field: quoted when it holds a comma, quote or line break; a leading =, +, - or @ is defused. */
export function csvField(value: unknown): string {
  let text = value == null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_HEADER = ['ID', 'Service Name', 'Status', 'Created At', 'vCPU', 'Memory', 'HA', 'Packages', 'Target vCenter'];
export const CSV_BOM = '\uFEFF';

/** The original export's columns, with a BOM so spreadsheet programs read UTF-8. */
export function buildCsv(rows: HistoryRow[], catalog: SpecCatalog): string {
  const lines = [CSV_HEADER.join(',')];
  for (const row of rows) {
    const spec = specOf(row.config, catalog);
    lines.push(
      [
        row.id,
        row.serviceName,
        row.status,
        new Date(row.createdAt).toISOString(),
        spec.vcpu ?? '',
        spec.memoryGb ?? '',
        spec.ha ? 'HA' : 'single',
        spec.packages.join(', '),
        targetOf(row),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${CSV_BOM}${lines.join('\r\n')}\r\n`;
}

export interface HistoryFilter {
  status: ProjectStatus | null;
  infra: InfraType | null;
}

export interface MergeResult {
  rows: HistoryRow[];
  /** A row was added from a summary: its full record still has to be loaded. */
  needsLoad: number | null;
}

const matches = (change: ProjectChange, filter: HistoryFilter) =>
  (!filter.status || change.status === filter.status) && (!filter.infra || change.infra === filter.infra);

/**
 * Applies one live change: a deletion removes the row, a known row takes the new status,
 * address and seq (an older seq is ignored), an unknown project newer than the rows below it
 * is added in id order (newest first). A row that no longer fits the filter leaves.
 *
 * Changes carry no `pendingAction` or `attempt`: a pending stop is over once the status leaves
 * PENDING / RUNNING, and a finished row that runs again (a retry) is loaded again for its attempt.
 */
export function mergeChange(rows: HistoryRow[], change: ProjectChange, filter: HistoryFilter, hasMoreBelow: boolean): MergeResult {
  const index = rows.findIndex((r) => r.id === change.id);
  if (change.deleted || !matches(change, filter)) {
    return { rows: index < 0 ? rows : rows.filter((r) => r.id !== change.id), needsLoad: null };
  }
  if (index >= 0) {
    const row = rows[index];
    if (change.lastSeq < row.lastSeq) return { rows, needsLoad: null };
    const next = rows.slice();
    const stillRunning = change.status === 'PENDING' || change.status === 'RUNNING';
    next[index] = {
      ...row,
      serviceName: change.serviceName,
      status: change.status,
      assignedIp: change.assignedIp,
      lastSeq: change.lastSeq,
      updatedAt: change.updatedAt,
      pendingAction: stillRunning ? row.pendingAction : null,
    };
    const restarted = isFinalStatus(row.status) && stillRunning;
    return { rows: next, needsLoad: restarted ? change.id : null };
  }
  const lowest = rows.length ? rows[rows.length - 1].id : Infinity;
  // Older than everything loaded while more pages wait: "load more" will bring it.
  if (hasMoreBelow && change.id < lowest) return { rows, needsLoad: null };
  const row: HistoryRow = {
    id: change.id,
    serviceName: change.serviceName,
    status: change.status,
    assignedIp: change.assignedIp,
    templateType: '',
    owner: change.owner,
    infra: change.infra,
    config: {},
    details: {},
    lastSeq: change.lastSeq,
    attempt: 1,
    pendingAction: null,
    createdAt: change.updatedAt,
    updatedAt: change.updatedAt,
  };
  const next = [...rows, row].sort((a, b) => b.id - a.id);
  return { rows: next, needsLoad: change.id };
}

/** Replaces a row with its full record (after `needsLoad`), keeping a newer live status. */
export function fillRow(rows: HistoryRow[], full: HistoryRow): HistoryRow[] {
  return rows.map((r) => (r.id !== full.id ? r : full.lastSeq >= r.lastSeq ? full : { ...full, status: r.status, assignedIp: r.assignedIp, lastSeq: r.lastSeq, updatedAt: r.updatedAt }));
}
