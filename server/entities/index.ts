import { AuditEntry } from './audit-entry.entity.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { Project } from './project.entity.js';
import { ProjectResource } from './project-resource.entity.js';
import { ProvisionEvent } from './provision-event.entity.js';
import { RevokedToken } from './revoked-token.entity.js';
import { RunnerInstance } from './runner-instance.entity.js';
import { UsageTotal } from './usage-total.entity.js';
import { Setting } from './setting.entity.js';
import { User } from './user.entity.js';
import { WorkloadHost } from './workload-host.entity.js';

export { AuditEntry, IdempotencyKey, Project, ProjectResource, ProvisionEvent, RevokedToken, RunnerInstance, Setting, UsageTotal, User, WorkloadHost };
export * from './setting.entity.js';
export * from './project.entity.js';
export * from './provision-event.entity.js';
export * from './user.entity.js';
export * from './workload-host.entity.js';
export { PORTAL_USAGE_OWNER } from './usage-total.entity.js';
export type * from './project-details.js';

export const ENTITIES = [User, Project, ProvisionEvent, WorkloadHost, Setting, AuditEntry, RevokedToken, RunnerInstance, IdempotencyKey, UsageTotal, ProjectResource];
