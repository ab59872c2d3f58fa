/**
 * "My resources": the pool hosts the caller's projects hold (admin: every host), then rows
 * derived from each project's `details.resources` exactly as the original did.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { Project, WorkloadHost, type HostStatus } from '../entities/index.js';
import type { MetricsSource } from './metrics.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';

export type ResourceKind = 'host' | 'alb' | 'web' | 'db' | 'ssh';

export interface ResourceRow {
  kind: ResourceKind;
  vmName: string;
  ipAddress: string;
  projectId: number | null;
  projectName: string;
  owner: string;
  cpuUsage: number;
  memoryUsage: number;
  diskUsage: number;
  status: string;
  /** A host the metrics source answered for; derived rows never have metrics. */
  hasMetrics: boolean;
}

const HOST_STATUS_LABEL: Record<HostStatus, string> = {
  available: 'Available',
  provisioning: 'Provisioning',
  assigned: 'Running',
  drained: 'Drained',
};

function row(partial: Omit<ResourceRow, 'cpuUsage' | 'memoryUsage' | 'diskUsage' | 'hasMetrics'>): ResourceRow {
  return { ...partial, cpuUsage: 0, memoryUsage: 0, diskUsage: 0, hasMetrics: false };
}

/** The ALB / Web / DB / SSH-n rows of one project with resources. */
export function derivedRows(project: Project): ResourceRow[] {
  const resources = project.details.resources;
  if (!resources) return [];
  const status = project.status === 'COMPLETED' ? 'Running' : project.status;
  const base = { projectId: project.id, projectName: project.serviceName, owner: project.owner, status };
  const rows: ResourceRow[] = [];
  if (resources.alb_ip) rows.push(row({ ...base, kind: 'alb', vmName: 'ALB', ipAddress: resources.alb_ip }));
  if (resources.web_url) rows.push(row({ ...base, kind: 'web', vmName: 'Web', ipAddress: resources.web_url }));
  if (resources.db_vip) rows.push(row({ ...base, kind: 'db', vmName: 'DB', ipAddress: resources.db_vip }));
  (resources.ssh_targets ?? []).forEach((target, i) => {
    rows.push(row({ ...base, kind: 'ssh', vmName: `SSH-${i + 1}`, ipAddress: target.host }));
  });
  return rows;
}

/** Host rows carry CPU / memory / disk from `metrics` where it knows the host; 0 elsewhere. */
export async function listResources(em: EntityManager, caller: Principal | null, metrics?: MetricsSource): Promise<ResourceRow[]> {
  const who = requireCaller(caller);
  const admin = isAdmin(who);
  const hostWhere: FilterQuery<WorkloadHost> = admin ? {} : { owner: who.username, projectId: { $ne: null } };
  const projectWhere: FilterQuery<Project> = admin ? {} : { owner: who.username };
  const [hosts, projects] = await Promise.all([
    em.find(WorkloadHost, hostWhere, { orderBy: { id: 'asc' } }),
    em.find(Project, { ...projectWhere, assignedIp: { $ne: null } } as FilterQuery<Project>, { orderBy: { id: 'desc' } }),
  ]);
  const names = new Map(projects.map((p) => [p.id, p.serviceName]));
  const missing = [...new Set(hosts.map((h) => h.projectId).filter((id): id is number => id != null && !names.has(id)))];
  if (missing.length) {
    for (const p of await em.find(Project, { id: { $in: missing } }, { fields: ['id', 'serviceName'] })) names.set(p.id, p.serviceName);
  }
  const hostRows = hosts.map((h) =>
    row({
      kind: 'host',
      vmName: h.vmName,
      ipAddress: h.ipAddress,
      projectId: h.projectId ?? null,
      projectName: h.projectId != null ? (names.get(h.projectId) ?? '') : '',
      owner: h.owner ?? '',
      status: HOST_STATUS_LABEL[h.status],
    }),
  );
  if (metrics?.configured && hostRows.length) {
    const usage = await metrics.usage(hostRows.map((r) => r.ipAddress));
    for (const r of hostRows) {
      const u = usage.get(r.ipAddress);
      if (u) Object.assign(r, { cpuUsage: u.cpu, memoryUsage: u.memory, diskUsage: u.disk, hasMetrics: true });
    }
  }
  return [...hostRows, ...projects.flatMap(derivedRows)];
}
