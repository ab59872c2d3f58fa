/** Everything the transports (GraphQL, REST) need, built once per app by `createApp`. */
import type { EntityManager } from '@mikro-orm/core';
import type { Catalog } from '../config/catalog.js';
import type { DatabaseInfo } from '../db/orm.js';
import type { AuditLog } from './audit.js';
import type { MetricsSource } from './metrics.js';
import type { MonitoringService } from './monitoring.js';
import type { PoolAdminService } from './pool-admin.js';
import type { ProjectService } from './projects.js';
import type { QuotaService } from './quotas.js';
import type { SecretBox } from './secret-box.js';
import type { SessionService } from './sessions.js';
import type { SshAccess } from './ssh-access.js';
import type { TerminalSessions } from './terminal-sessions.js';
import type { TokenService } from './tokens.js';
import type { UserAdminService } from './user-admin.js';
import type { UserService } from './users.js';
import type { WorkloadPool } from './workload-pool.js';

export interface Services {
  catalog: Catalog;
  database: DatabaseInfo;
  projects: ProjectService;
  pool: WorkloadPool;
  /** The pool seen from an admin: list, add, remove, drain, host keys, reachability. */
  poolAdmin: PoolAdminService;
  users: UserService;
  userAdmin: UserAdminService;
  sessions: SessionService;
  tokens: TokenService;
  quotas: QuotaService;
  audit: AuditLog;
  secrets: SecretBox;
  /** How pool hosts are reached over SSH: credentials and recorded host keys. */
  ssh: SshAccess;
  /** CPU / memory / disk of hosts (Prometheus, or none). */
  metrics: MetricsSource;
  /** Series and alerts of the caller's hosts, access checked. */
  monitoring: MonitoringService;
  /** The console's SSH terminal sessions on this instance (services/terminal-sessions.ts). */
  terminals: TerminalSessions;
  /** A fresh EntityManager for one unit of work (request, operation, job). */
  fork(): EntityManager;
  /**
   * The root EntityManager, as the target of plain SQL (db/sql.ts): reads outside any
   * transaction (services/project-rows.ts) and the hand-run transactions of an order. Those need
   * a connection, not a unit of work, and a fork per request cost more than a read
   * (docs/BENCHMARKS.md, session 4). MikroORM refuses finds and flushes on it (global context),
   * so it cannot be used for ORM work by mistake; code that needs the ORM forks it.
   */
  sqlDb: EntityManager;
}
