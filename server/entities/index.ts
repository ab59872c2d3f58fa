import { Project } from './project.entity.js';
import { ProvisionEvent } from './provision-event.entity.js';
import { Setting } from './setting.entity.js';
import { User } from './user.entity.js';
import { WorkloadHost } from './workload-host.entity.js';

export { Project, ProvisionEvent, Setting, User, WorkloadHost };
export * from './project.entity.js';
export * from './provision-event.entity.js';
export * from './user.entity.js';
export * from './workload-host.entity.js';
export type * from './project-details.js';

export const ENTITIES = [User, Project, ProvisionEvent, WorkloadHost, Setting];
