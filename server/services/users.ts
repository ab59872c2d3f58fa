/** Accounts seen from their owner: sign-up, login (with brute-force limits), password change. */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { insertEntity } from '../db/entity-writes.js';
import { User, USER_ROLES, type UserRole } from '../entities/index.js';
import type { AuditLog } from './audit.js';
import { DomainError, forbidden, invalidInput, type ValidationIssue } from './errors.js';
import type { LoginGuard } from './login-guard.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.js';
import { requireCaller, type Principal } from './principal.js';
import { requireAdmin } from './settings.js';
import type { IssuedToken, TokenService } from './tokens.js';

export const ACCOUNT_MESSAGES = {
  badCredentials: '아이디/비번 불일치',
  pending: '관리자의 승인을 기다리고 있는 계정입니다.',
  rejected: '가입이 거절된 계정입니다.',
  disabled: '비활성화된 계정입니다.',
  signedUp: '가입 신청이 완료되었습니다. 관리자 승인 후 이용 가능합니다.',
  exists: '이미 존재하는 아이디입니다.',
  wrongPassword: '현재 비밀번호가 일치하지 않습니다.',
} as const;

export const USERNAME_RULE = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
const FULL_NAME_MAX = 128;

export interface LoginResult extends IssuedToken {
  user: User;
}

export interface NewUserInput {
  username: string;
  password: string;
  role?: string;
  fullName?: string | null;
}

export function checkUsername(username: unknown, issues: ValidationIssue[], field = 'username'): void {
  if (typeof username !== 'string' || !USERNAME_RULE.test(username)) {
    issues.push({ loc: ['body', field], msg: '1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit', type: 'value_error' });
  }
}

export function checkPassword(password: unknown, issues: ValidationIssue[], field = 'password'): void {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    issues.push({ loc: ['body', field], msg: `must be ${PASSWORD_MIN}-${PASSWORD_MAX} characters`, type: 'string_length' });
  }
}

export class UserService {
  constructor(
    private readonly tokens: TokenService,
    private readonly guard: LoginGuard,
    private readonly audit: AuditLog,
  ) {}

  async login(em: EntityManager, username: string, password: string, ip?: string): Promise<LoginResult> {
    const fail = async (message: string, reason: string) => {
      this.guard.recordFailure(username, ip);
      await this.audit.record({ actor: null, action: 'login', target: username, ip, result: 'failure', detail: { reason } });
      return new DomainError('UNAUTHENTICATED', message);
    };
    try {
      this.guard.check(username, ip);
    } catch (err) {
      await this.audit.record({ actor: null, action: 'login', target: username, ip, result: 'failure', detail: { reason: 'locked out' } });
      throw err;
    }
    const user = username.length <= 64 ? await em.findOne(User, { username }) : null;
    if (!user || password.length > PASSWORD_MAX) {
      await burnPasswordCheck(password.slice(0, PASSWORD_MAX));
      throw await fail(ACCOUNT_MESSAGES.badCredentials, 'bad credentials');
    }
    if (!(await verifyPassword(user.passwordHash, password))) throw await fail(ACCOUNT_MESSAGES.badCredentials, 'bad credentials');
    if (user.status !== 'approved') {
      await this.audit.record({ actor: null, action: 'login', target: username, ip, result: 'failure', detail: { reason: user.status } });
      throw forbidden(ACCOUNT_MESSAGES[user.status]);
    }
    this.guard.recordSuccess(username);
    const issued = await this.tokens.issue({ username: user.username, role: user.role });
    await this.audit.record({ actor: user.username, action: 'login', target: user.username, ip, result: 'success' });
    return { ...issued, user };
  }

  async me(em: EntityManager, caller: Principal | null): Promise<User> {
    const who = requireCaller(caller);
    const user = await em.findOne(User, { username: who.username });
    if (!user) throw new DomainError('UNAUTHENTICATED', 'Account no longer exists');
    return user;
  }

  /** Anyone may ask for an account; it stays `pending` until an admin approves it. */
  async signup(em: EntityManager, input: { username: unknown; password: unknown; fullName?: unknown }, ip?: string): Promise<User> {
    const issues: ValidationIssue[] = [];
    checkUsername(input.username, issues);
    checkPassword(input.password, issues);
    if (input.fullName != null && (typeof input.fullName !== 'string' || input.fullName.length > FULL_NAME_MAX)) {
      issues.push({ loc: ['body', 'full_name'], msg: `must be a string of at most ${FULL_NAME_MAX} characters`, type: 'string_type' });
    }
    if (issues.length) throw invalidInput(issues);
    const username = input.username as string;
    if (await em.count(User, { username })) {
      await this.audit.record({ actor: null, action: 'signup', target: username, ip, result: 'failure', detail: { reason: 'exists' } });
      throw new DomainError('BAD_USER_INPUT', ACCOUNT_MESSAGES.exists);
    }
    const user = await insertEntity(em, User, {
      username,
      passwordHash: await hashPassword(input.password as string),
      role: 'user',
      status: 'pending',
      fullName: (input.fullName as string | undefined) ?? null,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    await this.audit.record({ actor: null, action: 'signup', target: username, ip, result: 'success' });
    return user;
  }

  async changePassword(em: EntityManager, caller: Principal | null, currentPassword: string, newPassword: string): Promise<void> {
    const who = requireCaller(caller);
    const issues: ValidationIssue[] = [];
    checkPassword(newPassword, issues, 'new_password');
    if (issues.length) throw invalidInput(issues);
    const user = await this.me(em, who);
    if (!(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.audit.record({ actor: who.username, action: 'password.change', target: who.username, ip: who.ip, result: 'failure' });
      throw forbidden(ACCOUNT_MESSAGES.wrongPassword);
    }
    user.passwordHash = await hashPassword(newPassword);
    user.updatedAt = new Date();
    await em.nativeUpdate(User, { id: user.id }, { passwordHash: user.passwordHash, updatedAt: user.updatedAt });
    await this.audit.record({ actor: who.username, action: 'password.change', target: who.username, ip: who.ip, result: 'success' });
  }

  /** Admin: the caller's own password, re-entered before a sensitive change. */
  async confirmAdminPassword(em: EntityManager, caller: Principal | null, password: unknown): Promise<Principal> {
    const who = requireAdmin(caller);
    const user = await this.me(em, who);
    if (typeof password !== 'string' || !(await verifyPassword(user.passwordHash, password))) {
      throw forbidden('관리자 비밀번호가 일치하지 않습니다.');
    }
    return who;
  }

  async createUser(em: EntityManager, caller: Principal | null, input: NewUserInput): Promise<User> {
    const who = requireAdmin(caller);
    const issues: ValidationIssue[] = [];
    checkUsername(input.username, issues);
    checkPassword(input.password, issues);
    const role = (input.role ?? 'user') as UserRole;
    if (!USER_ROLES.includes(role)) issues.push({ loc: ['body', 'role'], msg: `must be one of ${USER_ROLES.join(', ')}`, type: 'enum' });
    if (issues.length) throw invalidInput(issues);
    if (await em.count(User, { username: input.username })) {
      throw new DomainError('CONFLICT', `User "${input.username}" already exists`);
    }
    const user = await insertEntity(em, User, {
      username: input.username,
      passwordHash: await hashPassword(input.password),
      role,
      status: 'approved',
      fullName: input.fullName ?? null,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    await this.audit.record({ actor: who.username, action: 'user.create', target: user.username, ip: who.ip, result: 'success', detail: { role } });
    return user;
  }
}

export interface AdminBootstrap {
  username: string;
  password: string | undefined;
  isProduction: boolean;
}

/**
 * Creates the first admin when none exists. Outside production an unset password is
 * generated and returned once so the caller can print it; in production it is required.
 */
export async function ensureAdmin(em: EntityManager, opts: AdminBootstrap): Promise<{ created: boolean; generatedPassword?: string }> {
  if (await em.count(User, { username: opts.username })) return { created: false };
  if (!opts.password && opts.isProduction) {
    throw new Error(`ADMIN_PASSWORD is required in production to create the first admin account "${opts.username}"`);
  }
  const generatedPassword = opts.password ? undefined : randomBytes(12).toString('base64url');
  await insertEntity(em, User, {
    username: opts.username,
    passwordHash: await hashPassword(opts.password ?? generatedPassword!),
    role: 'admin',
    status: 'approved',
    fullName: 'Administrator',
    createdAt: new Date(),
  });
  return { created: true, generatedPassword };
}
