/**
 * Quotas: each account may hold at most its hosts / vCPU / memory / disk in live projects
 * (admins are not limited), and the whole portal at most the settings' vCPU and memory.
 *
 * An order reads its limits without any lock ({@link QuotaService.orderLimits}: an order in
 * the message that opens its transaction, a retry before it); the check itself runs inside the
 * transaction against the usage totals as the journal moves them ({@link QuotaService.guard}):
 * the journal adds the order to the portal's and the owner's totals as the transaction's last statement, the rows
 * stay locked until the commit, and an order that would go over rolls back. So concurrent
 * orders cannot slip past a limit together, and they wait for each other only for that last
 * statement and the commit, not for the whole order.
 */
import type { EntityManager } from '@mikro-orm/core';
import { PORTAL_USAGE_OWNER, User } from '../entities/index.js';
import { DomainError } from './errors.js';
import { usageOf, type PortalUsage } from './settings.js';
import type { OrderSize } from './sizing.js';
import { sql, type SqlTarget } from '../db/sql.js';

export interface Quota {
  hosts: number;
  vcpu: number;
  memoryGb: number;
  diskGb: number;
}

export interface QuotaStatus {
  /** Null for admins: not limited. */
  limit: Quota | null;
  used: PortalUsage;
}

/** What an order must stay within, read without a lock. */
export interface OrderLimits {
  maintenanceMode: boolean;
  systemNotice: string;
  /** The owner's quota; null for an admin (not limited) or an unknown account. */
  quota: Quota | null;
  portal: { vcpu: number; memoryGb: number };
}

/** Usage totals of one owner (or of the portal, owner `*`) as a transaction left them. */
export interface UsageTotals {
  liveProjects: number;
  hosts: number;
  vcpu: number;
  memoryGb: number;
  diskGb: number;
}

/** A usage_totals column a limit applies to. */
export type UsageColumn = 'hosts' | 'vcpu' | 'memory_gb' | 'disk_gb';

/**
 * What the journal checks once it added a transaction's projects to the usage totals: the
 * highest total allowed per owner row and column (owner `*` is the portal), and the check that
 * names what was exceeded. The limits are data so that PostgreSQL can check them in the same
 * statement that moves the totals (see ProjectJournal); `check` throws with the message.
 */
export interface UsageGuard {
  limits: Map<string, Partial<Record<UsageColumn, number>>>;
  check(totals: Map<string, UsageTotals>): void;
}

export class QuotaExceededError extends DomainError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export function quotaOf(user: Pick<User, 'role' | 'maxHosts' | 'maxVcpu' | 'maxMemoryGb' | 'maxDiskGb'>, defaults: Quota): Quota | null {
  if (user.role === 'admin') return null;
  return {
    hosts: user.maxHosts ?? defaults.hosts,
    vcpu: user.maxVcpu ?? defaults.vcpu,
    memoryGb: user.maxMemoryGb ?? defaults.memoryGb,
    diskGb: user.maxDiskGb ?? defaults.diskGb,
  };
}

export class QuotaService {
  constructor(private readonly defaults: Quota) {}

  /** The account's limit, or null for an admin. */
  limitOf(user: User): Quota | null {
    return quotaOf(user, this.defaults);
  }

  async status(em: EntityManager, username: string): Promise<QuotaStatus> {
    const user = await em.findOneOrFail(User, { username });
    return { limit: quotaOf(user, this.defaults), used: await usageOf(em, username) };
  }

  /**
   * What an order of `owner` must stay within, and whether orders are accepted at all: one
   * plain query for the settings row and the owner's limits (on every order).
   */
  async orderLimits(db: SqlTarget, owner: string): Promise<OrderLimits> {
    const [row]: {
      maintenance_mode: number | boolean;
      system_notice: string;
      max_vcpu: number;
      max_memory: number;
      role: User['role'] | null;
      max_vms: number | null;
      max_cpu: number | null;
      max_ram: number | null;
      max_disk: number | null;
    }[] = await sql(
      db,
      `select s.maintenance_mode, s.system_notice, s.max_vcpu, s.max_memory, u.role, u.max_vms, u.max_cpu, u.max_ram, u.max_disk
         from settings s left join users u on u.username = ? where s.id = 1`,
      [owner],
    );
    if (!row) throw new Error('the settings row is missing');
    return {
      maintenanceMode: Boolean(Number(row.maintenance_mode)),
      systemNotice: row.system_notice,
      portal: { vcpu: Number(row.max_vcpu), memoryGb: Number(row.max_memory) },
      quota: row.role
        ? quotaOf({ role: row.role, maxHosts: row.max_vms, maxVcpu: row.max_cpu, maxMemoryGb: row.max_ram, maxDiskGb: row.max_disk }, this.defaults)
        : null,
    };
  }

  /**
   * The check the journal runs on the usage totals after it added an order to them (inside the
   * order's transaction, the rows locked): throws when the owner's quota or the portal's limits
   * are exceeded, naming what was used before the order, what it adds and the limit.
   */
  guard(limits: OrderLimits, owner: string, size: OrderSize): UsageGuard {
    const bounds = new Map<string, Partial<Record<UsageColumn, number>>>([[PORTAL_USAGE_OWNER, { vcpu: limits.portal.vcpu, memory_gb: limits.portal.memoryGb }]]);
    if (limits.quota) {
      const q = limits.quota;
      bounds.set(owner, { hosts: q.hosts, vcpu: q.vcpu, memory_gb: q.memoryGb, disk_gb: q.diskGb });
    }
    const check = (totals: Map<string, UsageTotals>) => {
      const mine = totals.get(owner);
      if (limits.quota && mine) {
        const over: string[] = [];
        const test = (what: string, now: number, add: number, max: number) => {
          if (now > max) over.push(`${what} ${now - add} + ${add} > ${max}`);
        };
        test('hosts', mine.hosts, size.hosts, limits.quota.hosts);
        test('vCPU', mine.vcpu, size.vcpu, limits.quota.vcpu);
        test('memory GB', mine.memoryGb, size.memoryGb, limits.quota.memoryGb);
        test('disk GB', mine.diskGb, size.diskGb, limits.quota.diskGb);
        if (over.length) throw new QuotaExceededError(`Quota exceeded for ${owner}: ${over.join(', ')}`);
      }
      const portal = totals.get(PORTAL_USAGE_OWNER);
      if (!portal) return;
      if (portal.vcpu > limits.portal.vcpu) {
        throw new QuotaExceededError(`Portal vCPU limit reached: ${portal.vcpu - size.vcpu} + ${size.vcpu} > ${limits.portal.vcpu}`);
      }
      if (portal.memoryGb > limits.portal.memoryGb) {
        throw new QuotaExceededError(`Portal memory limit reached: ${portal.memoryGb - size.memoryGb} + ${size.memoryGb} GB > ${limits.portal.memoryGb} GB`);
      }
    };
    return { limits: bounds, check };
  }
}
