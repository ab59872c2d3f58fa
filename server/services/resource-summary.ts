/**
 * The monitoring page's figures for the caller's rows (a user: their own; an admin: every row),
 * counted with SQL aggregates over the same rows `resources` lists (resource-page.ts): hosts by
 * infrastructure and state, projects with derived rows; and, with a metrics source, the
 * averages over the measured hosts and the hosts in service it has no figures for.
 */
import type { EntityManager } from '@mikro-orm/core';
import { sql } from '../db/sql.js';
import { HOST_STATUSES, INFRA_TYPES, type HostStatus, type InfraType } from '../entities/index.js';
import type { MetricsSource } from './metrics.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import { HOST_SELECT, hostRow, USER_HOSTS_SQL, type HostRecord } from './resource-page.js';
import type { ResourceRow } from './resources.js';

export interface HostStateCounts {
  infra: InfraType;
  total: number;
  available: number;
  provisioning: number;
  assigned: number;
  drained: number;
}

export interface ResourceSummary {
  /** Per infrastructure (every one, zeros included), the caller's host rows by state. */
  hostsByInfra: HostStateCounts[];
  hosts: number;
  /** Projects with derived rows, and those of them COMPLETED (shown Running). */
  projects: number;
  runningProjects: number;
  derivedRows: number;
  /** Host rows and derived rows: `resources`' totalCount without filters. */
  rows: number;
  /** Null when no metrics source is configured. */
  metrics: ResourceMetricsSummary | null;
}

export interface ResourceMetricsSummary {
  /** Host rows the metrics source has figures for, and their averages (null when none). */
  measuredHosts: number;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  /** Hosts in service (Running) without figures: how many, and the first of them by id. */
  silentHostCount: number;
  silentHosts: ResourceRow[];
}

export const SILENT_HOSTS_SHOWN = 20;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** The monitoring page's figures for the caller's rows (a user: their own; an admin: all). */
export async function resourceSummary(db: EntityManager, caller: Principal | null, metrics?: MetricsSource): Promise<ResourceSummary> {
  const who = requireCaller(caller);
  const admin = isAdmin(who);
  const hostScope = admin ? '' : ` where ${USER_HOSTS_SQL}`;
  const hostParams = admin ? [] : [who.username, who.username];
  const params = admin ? [] : [who.username];
  const byState: { infra: InfraType; status: HostStatus; n: number | string }[] = await sql(db, `select h.infra, h.status, count(*) as n from workload_pool h${hostScope} group by h.infra, h.status`, hostParams);
  const [derived]: { projects: number | string; running: number | string; n: number | string }[] = await sql(
    db,
    `select count(distinct r.project_id) as projects, count(distinct case when p.status = 'COMPLETED' then p.id end) as running, count(*) as n
       from project_resources r join projects p on p.id = r.project_id${admin ? '' : ' where p.owner = ?'}`,
    params,
  );
  const hostsByInfra = INFRA_TYPES.map((infra) => {
    const counts: HostStateCounts = { infra, total: 0, available: 0, provisioning: 0, assigned: 0, drained: 0 };
    for (const r of byState) {
      if (r.infra !== infra || !HOST_STATUSES.includes(r.status)) continue;
      counts[r.status] += Number(r.n);
      counts.total += Number(r.n);
    }
    return counts;
  });
  const hosts = hostsByInfra.reduce((sum, c) => sum + c.total, 0);
  const derivedRows = Number(derived?.n ?? 0);
  return {
    hostsByInfra,
    hosts,
    projects: Number(derived?.projects ?? 0),
    runningProjects: Number(derived?.running ?? 0),
    derivedRows,
    rows: hosts + derivedRows,
    metrics: metrics?.configured ? await metricsSummary(db, who, metrics) : null,
  };
}

/** Averages over the caller's hosts the source knows, and the running hosts it does not. */
async function metricsSummary(db: EntityManager, who: Principal, metrics: MetricsSource): Promise<ResourceMetricsSummary> {
  const admin = isAdmin(who);
  const records: HostRecord[] = await sql(db, `${HOST_SELECT}${admin ? '' : ` where ${USER_HOSTS_SQL}`} order by h.id`, admin ? [] : [who.username, who.username]);
  const usage = await metrics.usage(records.map((r) => r.ip_address));
  let cpu = 0;
  let memory = 0;
  let disk = 0;
  let measured = 0;
  const silent: HostRecord[] = [];
  for (const r of records) {
    const u = usage.get(r.ip_address);
    if (u) {
      measured++;
      cpu += u.cpu;
      memory += u.memory;
      disk += u.disk;
    } else if (r.status_label === 'Running') silent.push(r);
  }
  const mean = (sum: number) => (measured ? round1(sum / measured) : null);
  return {
    measuredHosts: measured,
    cpu: mean(cpu),
    memory: mean(memory),
    disk: mean(disk),
    silentHostCount: silent.length,
    silentHosts: silent.slice(0, SILENT_HOSTS_SHOWN).map(hostRow),
  };
}
