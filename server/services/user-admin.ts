/**
 * Accounts seen from an admin: pending sign-ups, approval (with the default quota), rejection,
 * disabling, roles, password resets. Every change is audited; an admin cannot lock the portal
 * out of its last admin.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { saveChanges, snapshot } from '../db/entity-writes.js';
import { User, USER_ROLES, USER_STATUSES, type UserRole, type UserStatus } from '../entities/index.js';
import type { AuditLog } from './audit.js';
import { DomainError, invalidInput, type ValidationIssue } from './errors.js';
import { hashPassword } from './passwords.js';
import type { Principal } from './principal.js';
import type { Quota } from './quotas.js';
import { requireAdmin } from './settings.js';
import { checkPassword } from './users.js';

export const USER_NOT_FOUND = '사용자를 찾을 수 없습니다.';

export interface QuotaPatch {
  hosts?: number | null;
  vcpu?: number | null;
  memoryGb?: number | null;
  diskGb?: number | null;
}

export class UserAdminService {
  /** Told of every stored change, before the admin's action answers (sessions forget the account's token state). */
  private readonly changeListeners: ((username: string) => Promise<void> | void)[] = [];

  constructor(
    private readonly audit: AuditLog,
    private readonly defaultQuota: Quota,
  ) {}

  onAccountChange(listener: (username: string) => Promise<void> | void): void {
    this.changeListeners.push(listener);
  }

  async list(em: EntityManager, caller: Principal | null, status?: UserStatus | null): Promise<User[]> {
    requireAdmin(caller);
    if (status && !USER_STATUSES.includes(status)) {
      throw invalidInput([{ loc: ['query', 'status'], msg: `must be one of ${USER_STATUSES.join(', ')}`, type: 'enum' }]);
    }
    const where: FilterQuery<User> = status ? { status } : {};
    return em.find(User, where, { orderBy: { id: 'asc' } });
  }

  private async target(em: EntityManager, username: string): Promise<User> {
    const user = typeof username === 'string' && username.length <= 64 ? await em.findOne(User, { username }) : null;
    if (!user) throw new DomainError('NOT_FOUND', USER_NOT_FOUND);
    return user;
  }

  private async change(
    em: EntityManager,
    caller: Principal | null,
    username: string,
    action: string,
    apply: (user: User, admin: Principal) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
  ): Promise<User> {
    const admin = requireAdmin(caller);
    let user: User | undefined;
    try {
      user = await this.target(em, username);
      const before = snapshot(em, user);
      const detail = await apply(user, admin);
      user.updatedAt = new Date();
      await saveChanges(em, user, before);
      for (const listener of this.changeListeners) await listener(user.username);
      await this.audit.record({ actor: admin.username, action, target: username, ip: admin.ip, result: 'success', detail: detail ?? null });
      return user;
    } catch (err) {
      await this.audit.record({ actor: admin.username, action, target: String(username).slice(0, 64), ip: admin.ip, result: 'failure', detail: { reason: (err as Error).message } });
      throw err;
    }
  }

  private async assertNotLastAdmin(em: EntityManager, user: User): Promise<void> {
    if (user.role !== 'admin' || user.status !== 'approved') return;
    const admins = await em.count(User, { role: 'admin', status: 'approved' });
    if (admins <= 1) throw new DomainError('CONFLICT', 'The last active admin cannot be demoted, disabled or rejected');
  }

  /** Approves a pending (or rejected / disabled) account and gives it the default quota. */
  approve(em: EntityManager, caller: Principal | null, username: string): Promise<User> {
    return this.change(em, caller, username, 'user.approve', (user) => {
      user.status = 'approved';
      user.maxHosts ??= this.defaultQuota.hosts;
      user.maxVcpu ??= this.defaultQuota.vcpu;
      user.maxMemoryGb ??= this.defaultQuota.memoryGb;
      user.maxDiskGb ??= this.defaultQuota.diskGb;
    });
  }

  reject(em: EntityManager, caller: Principal | null, username: string): Promise<User> {
    return this.change(em, caller, username, 'user.reject', async (user) => {
      if (user.status !== 'pending') throw new DomainError('CONFLICT', `Only pending accounts can be rejected (${username} is ${user.status})`);
      user.status = 'rejected';
    });
  }

  disable(em: EntityManager, caller: Principal | null, username: string): Promise<User> {
    return this.change(em, caller, username, 'user.disable', async (user, admin) => {
      if (user.username === admin.username) throw new DomainError('CONFLICT', 'You cannot disable your own account');
      await this.assertNotLastAdmin(em, user);
      user.status = 'disabled';
    });
  }

  setRole(em: EntityManager, caller: Principal | null, username: string, role: string): Promise<User> {
    return this.change(em, caller, username, 'user.role', async (user) => {
      if (!USER_ROLES.includes(role as UserRole)) {
        throw invalidInput([{ loc: ['body', 'role'], msg: `must be one of ${USER_ROLES.join(', ')}`, type: 'enum' }]);
      }
      if (role !== 'admin') await this.assertNotLastAdmin(em, user);
      const from = user.role;
      user.role = role as UserRole;
      return { from, to: role };
    });
  }

  resetPassword(em: EntityManager, caller: Principal | null, username: string, newPassword: string): Promise<User> {
    return this.change(em, caller, username, 'user.password_reset', async (user) => {
      const issues: ValidationIssue[] = [];
      checkPassword(newPassword, issues, 'new_password');
      if (issues.length) throw invalidInput(issues);
      user.passwordHash = await hashPassword(newPassword);
    });
  }

  setQuota(em: EntityManager, caller: Principal | null, username: string, patch: QuotaPatch): Promise<User> {
    return this.change(em, caller, username, 'user.quota', (user) => {
      const issues: ValidationIssue[] = [];
      for (const [field, value] of Object.entries(patch)) {
        if (value != null && (!Number.isInteger(value) || value < 0 || value > 100_000_000)) {
          issues.push({ loc: ['body', field], msg: 'must be a whole number ≥ 0', type: 'int_range' });
        }
      }
      if (issues.length) throw invalidInput(issues);
      if (patch.hosts != null) user.maxHosts = patch.hosts;
      if (patch.vcpu != null) user.maxVcpu = patch.vcpu;
      if (patch.memoryGb != null) user.maxMemoryGb = patch.memoryGb;
      if (patch.diskGb != null) user.maxDiskGb = patch.diskGb;
      return { ...patch };
    });
  }
}
