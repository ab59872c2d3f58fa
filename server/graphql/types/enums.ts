import { registerEnumType } from 'type-graphql';

export enum ProjectStatusEnum {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
  DELETING = 'DELETING',
}
registerEnumType(ProjectStatusEnum, { name: 'ProjectStatus', description: 'Lifecycle of a provisioning project' });

export enum InfraTypeEnum {
  aws = 'aws',
  vsphere = 'vsphere',
}
registerEnumType(InfraTypeEnum, { name: 'InfraType', description: 'Target infrastructure' });

export enum EventKindEnum {
  status = 'status',
  log = 'log',
  resources = 'resources',
  error = 'error',
}
registerEnumType(EventKindEnum, { name: 'EventKind', description: 'What a provision event records' });

export enum UserRoleEnum {
  admin = 'admin',
  user = 'user',
}
registerEnumType(UserRoleEnum, { name: 'UserRole' });

export enum UserStatusEnum {
  approved = 'approved',
  pending = 'pending',
  rejected = 'rejected',
  disabled = 'disabled',
}
registerEnumType(UserStatusEnum, { name: 'UserStatus' });

export enum ResourceKindEnum {
  host = 'host',
  alb = 'alb',
  web = 'web',
  db = 'db',
  ssh = 'ssh',
}
registerEnumType(ResourceKindEnum, { name: 'ResourceKind', description: 'A pool host, or a row derived from project resources' });

export enum PoolHostStatusEnum {
  available = 'available',
  provisioning = 'provisioning',
  assigned = 'assigned',
  drained = 'drained',
}
registerEnumType(PoolHostStatusEnum, { name: 'PoolHostStatus', description: 'Where a workload pool host is: free, taken by a run, in service, or taken out of service by an admin' });

export enum MetricsWindowEnum {
  H1 = 'H1',
  H6 = 'H6',
  H24 = 'H24',
}
registerEnumType(MetricsWindowEnum, {
  name: 'MetricsWindow',
  description: 'How far back a chart looks: 1 hour (a point every 15 s), 6 hours (90 s) or 24 hours (6 min)',
});
