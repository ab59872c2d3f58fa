/** Everything the transports (GraphQL, REST) need, built once per app by `createApp`. */
import type { EntityManager } from '@mikro-orm/core';
import type { Catalog } from '../config/catalog.js';
import type { DatabaseInfo } from '../db/orm.js';
import type { AuditLog } from './audit.js';
import type { ProjectService } from './projects.js';
import type { QuotaService } from './quotas.js';
import type { SecretBox } from './secret-box.js';
import type { SessionService } from './sessions.js';
import type { TokenService } from './tokens.js';
import type { UserAdminService } from './user-admin.js';
import type { UserService } from './users.js';

export interface Services {
  catalog: Catalog;
  database: DatabaseInfo;
  projects: ProjectService;
  users: UserService;
  userAdmin: UserAdminService;
  sessions: SessionService;
  tokens: TokenService;
  quotas: QuotaService;
  audit: AuditLog;
  secrets: SecretBox;
  /** A fresh EntityManager for one unit of work (request, operation, job). */
  fork(): EntityManager;
}
