/** The old REST contract's shapes, mapped from the domain (snake_case, as the original). */
import type { ProjectStatus } from '../entities/index.js';
import type { ProjectListItem } from '../services/project-rows.js';

/**
 * The old REST clients know four statuses. The two added later are shown as the old status
 * that means the same to such a client: CANCELLED as FAILED (the run ended without resources,
 * hosts returned), DELETING as RUNNING (work in progress, hosts still held). `details.status`
 * keeps the exact status, and GraphQL shows it everywhere.
 */
export function legacyStatus(status: ProjectStatus): 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' {
  if (status === 'CANCELLED') return 'FAILED';
  if (status === 'DELETING') return 'RUNNING';
  return status;
}

/** The original's `created_at`: ISO 8601 with microseconds and no zone; always UTC here. */
export function pythonIsoUtc(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}

export function historyItem(p: ProjectListItem) {
  return {
    id: p.id,
    service_name: p.serviceName,
    status: legacyStatus(p.status),
    assigned_ip: p.assignedIp ?? '',
    template_type: p.templateType,
    created_at: pythonIsoUtc(p.createdAt),
    owner: p.owner,
    details: p.details,
  };
}
