/** The old REST contract's shapes, mapped from the domain (snake_case, as the original). */
import type { Project } from '../entities/index.js';
import type { ResourceRow } from '../services/resources.js';

/** The original's `created_at`: ISO 8601 with microseconds and no zone; always UTC here. */
export function pythonIsoUtc(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}

export function historyItem(p: Project) {
  return {
    id: p.id,
    service_name: p.serviceName,
    status: p.status,
    assigned_ip: p.assignedIp ?? '',
    template_type: p.templateType,
    created_at: pythonIsoUtc(p.createdAt),
    owner: p.owner,
    details: p.details,
  };
}

export function resourceItem(r: ResourceRow) {
  return {
    vm_name: r.vmName,
    ip_address: r.ipAddress,
    project_name: r.projectName,
    owner: r.owner,
    cpu_usage: r.cpuUsage,
    memory_usage: r.memoryUsage,
    disk_usage: r.diskUsage,
    status: r.status,
  };
}
