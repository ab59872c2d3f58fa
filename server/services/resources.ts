/**
 * "My resources": the pool hosts the caller's projects hold (admin: every host), then rows
 * derived from each project's `details.resources` exactly as the original did (ALB, Web, DB,
 * SSH-1..n). The derived rows are stored in `project_resources` by the journal, in the same
 * transaction as the resources (see {@link resourceEntries}), so every list here is plain SQL
 * over two indexed tables and never parses a project's details.
 *
 * This file: the row model and the derivation, and the old REST list (every row, one pass).
 * The keyset-paginated list and the summary are in resource-page.ts.
 */
import type { EntityManager } from '@mikro-orm/core';
import { sql } from '../db/sql.js';
import type { HostStatus, InfraType, ProjectResources } from '../entities/index.js';
import type { MetricsSource } from './metrics.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';

export const RESOURCE_KINDS = ['host', 'alb', 'web', 'db', 'ssh'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];
export type DerivedKind = Exclude<ResourceKind, 'host'>;

export interface ResourceRow {
  kind: ResourceKind;
  /** The pool host's id (host rows only). */
  hostId: number | null;
  vmName: string;
  ipAddress: string;
  /** The host's infrastructure; for derived rows, the project's. */
  infra: InfraType;
  projectId: number | null;
  projectName: string;
  owner: string;
  status: string;
  cpuUsage: number;
  memoryUsage: number;
  diskUsage: number;
  /** A host the metrics source answered for; derived rows never have metrics. */
  hasMetrics: boolean;
  /** Bytes per second; null without metrics. */
  networkIn: number | null;
  networkOut: number | null;
  load1: number | null;
  uptimeSeconds: number | null;
}

export const HOST_STATUS_LABEL: Record<HostStatus, string> = {
  available: 'Available',
  provisioning: 'Provisioning',
  assigned: 'Running',
  drained: 'Drained',
};

/**
 * Every status a row can show: a host's label, or a derived row's project status (COMPLETED
 * shows as Running, as in the original).
 */
export const ROW_STATUSES = ['Available', 'Provisioning', 'Running', 'Drained', 'PENDING', 'RUNNING', 'FAILED', 'CANCELLED', 'DELETING'] as const;
export type RowStatus = (typeof ROW_STATUSES)[number];

/** One derived row as stored in `project_resources`. */
export interface ResourceEntry {
  /** 0 ALB, 1 Web, 2 DB, 3 + i SSH-(i + 1): the original's order within a project. */
  ord: number;
  kind: DerivedKind;
  vmName: string;
  address: string;
}

/**
 * The ALB / Web / DB / SSH-n rows of a project, as the original derived them: only while the
 * project has an assigned address (the original listed projects with `assigned_ip` set), and
 * only the resources that are set.
 */
export function resourceEntries(assignedIp: string | null | undefined, resources: ProjectResources | null | undefined): ResourceEntry[] {
  if (assignedIp == null || !resources) return [];
  const entries: ResourceEntry[] = [];
  if (resources.alb_ip) entries.push({ ord: 0, kind: 'alb', vmName: 'ALB', address: String(resources.alb_ip) });
  if (resources.web_url) entries.push({ ord: 1, kind: 'web', vmName: 'Web', address: String(resources.web_url) });
  if (resources.db_vip) entries.push({ ord: 2, kind: 'db', vmName: 'DB', address: String(resources.db_vip) });
  (Array.isArray(resources.ssh_targets) ? resources.ssh_targets : []).forEach((target, i) => {
    entries.push({ ord: 3 + i, kind: 'ssh', vmName: `SSH-${i + 1}`, address: String(target?.host ?? '') });
  });
  return entries;
}

/** SQL for a host row's status label. */
export const HOST_LABEL_SQL = `case h.status when 'available' then 'Available' when 'provisioning' then 'Provisioning' when 'assigned' then 'Running' when 'drained' then 'Drained' else h.status end`;
/** SQL for a derived row's status (the project's, COMPLETED shown as Running). */
export const DERIVED_STATUS_SQL = `case when p.status = 'COMPLETED' then 'Running' else p.status end`;

/** A row of REST `/api/monitoring/my-resources`, keys in the original's order. */
interface RestRow {
  vm_name: string;
  ip_address: string;
  project_name: string;
  owner: string;
  cpu_usage: number;
  memory_usage: number;
  disk_usage: number;
  status: string;
}

/**
 * REST `/api/monitoring/my-resources`: every row, in the original's order — hosts by id (a
 * user: the hosts their projects hold), then each project's derived rows, newest project first.
 * Two SELECTs whose rows already are the answer's objects (the columns named and ordered as the
 * JSON keys), so nothing is mapped; metrics are written into the host rows when configured.
 */
export async function myResourcesRest(db: EntityManager, caller: Principal | null, metrics?: MetricsSource): Promise<RestRow[]> {
  const who = requireCaller(caller);
  const admin = isAdmin(who);
  const hosts: RestRow[] = await sql(
    db,
    `select h.vm_name, h.ip_address, coalesce(p.service_name, '') as project_name, coalesce(h.owner, '') as owner,
            0 as cpu_usage, 0 as memory_usage, 0 as disk_usage, ${HOST_LABEL_SQL} as status
       from workload_pool h left join projects p on p.id = h.project_id
      ${admin ? '' : 'where h.owner = ? and h.project_id is not null'}
      order by h.id`,
    admin ? [] : [who.username],
  );
  const derived: RestRow[] = await sql(
    db,
    `select r.vm_name, r.address as ip_address, p.service_name as project_name, p.owner,
            0 as cpu_usage, 0 as memory_usage, 0 as disk_usage, ${DERIVED_STATUS_SQL} as status
       from project_resources r join projects p on p.id = r.project_id
      ${admin ? '' : 'where p.owner = ?'}
      order by r.project_id desc, r.ord`,
    admin ? [] : [who.username],
  );
  if (metrics?.configured && hosts.length) {
    const usage = await metrics.usage(hosts.map((h) => h.ip_address));
    if (usage.size) {
      for (const h of hosts) {
        const u = usage.get(h.ip_address);
        if (u) {
          h.cpu_usage = u.cpu;
          h.memory_usage = u.memory;
          h.disk_usage = u.disk;
        }
      }
    }
  }
  return hosts.length ? (derived.length ? hosts.concat(derived) : hosts) : derived;
}
