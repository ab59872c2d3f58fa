/**
 * Quotas: each account may hold at most its hosts / vCPU / memory / disk in live projects
 * (admins are not limited), and the whole portal at most the settings' vCPU and memory.
 * Checked inside the order's transaction under a lock (PostgreSQL advisory lock; SQLite runs
 * transactions one at a time), so concurrent orders cannot slip past a limit together.
 */
import type { EntityManager } from '@mikro-orm/core';
import { User } from '../entities/index.js';
import { DomainError } from './errors.js';
import { liveUsageOf, orderSettings, usageOf, type PortalUsage } from './settings.js';
import type { OrderSize } from './sizing.js';

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
  constructor(
    private readonly defaults: Quota,
    private readonly postgres: boolean,
  ) {}

  /** The account's limit, or null for an admin. */
  limitOf(user: User): Quota | null {
    return quotaOf(user, this.defaults);
  }

  async status(em: EntityManager, username: string): Promise<QuotaStatus> {
    const user = await em.findOneOrFail(User, { username });
    return { limit: quotaOf(user, this.defaults), used: await usageOf(em, username) };
  }

  /** Throws when `size` more would exceed the owner's quota or the portal's limits. Call inside a transaction. */
  async assertFits(em: EntityManager, owner: string, size: OrderSize): Promise<void> {
    if (this.postgres) {
      await em.getConnection().execute('select pg_advisory_xact_lock(hashtext(?))', ['hcmp.quota'], 'all', em.getTransactionContext());
    }
    const [row]: { role: User['role']; max_vms: number | null; max_cpu: number | null; max_ram: number | null; max_disk: number | null }[] = await em
      .getConnection()
      .execute('select role, max_vms, max_cpu, max_ram, max_disk from users where username = ?', [owner], 'all', em.getTransactionContext());
    const limit = row
      ? quotaOf({ role: row.role, maxHosts: row.max_vms, maxVcpu: row.max_cpu, maxMemoryGb: row.max_ram, maxDiskGb: row.max_disk }, this.defaults)
      : null;
    if (limit) {
      const used = await liveUsageOf(em, owner);
      const over: string[] = [];
      const check = (what: string, have: number, add: number, max: number) => {
        if (have + add > max) over.push(`${what} ${have} + ${add} > ${max}`);
      };
      check('hosts', used.usedHosts, size.hosts, limit.hosts);
      check('vCPU', used.usedVcpu, size.vcpu, limit.vcpu);
      check('memory GB', used.usedMemory, size.memoryGb, limit.memoryGb);
      check('disk GB', used.usedDisk, size.diskGb, limit.diskGb);
      if (over.length) throw new QuotaExceededError(`Quota exceeded for ${owner}: ${over.join(', ')}`);
    }
    const settings = await orderSettings(em);
    const portal = await liveUsageOf(em);
    if (portal.usedVcpu + size.vcpu > settings.maxVcpu) {
      throw new QuotaExceededError(`Portal vCPU limit reached: ${portal.usedVcpu} + ${size.vcpu} > ${settings.maxVcpu}`);
    }
    if (portal.usedMemory + size.memoryGb > settings.maxMemory) {
      throw new QuotaExceededError(`Portal memory limit reached: ${portal.usedMemory} + ${size.memoryGb} GB > ${settings.maxMemory} GB`);
    }
  }
}
