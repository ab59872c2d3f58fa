/** Accounts: login, the first admin, and admin-created users. */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { User, USER_ROLES, type UserRole } from '../entities/index.js';
import { DomainError, forbidden, invalidInput, type ValidationIssue } from './errors.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import type { IssuedToken, TokenService } from './tokens.js';

export const LOGIN_MESSAGES = {
  badCredentials: '아이디/비번 불일치',
  pending: '관리자의 승인을 기다리고 있는 계정입니다.',
  rejected: '가입이 거절된 계정입니다.',
  disabled: '비활성화된 계정입니다.',
} as const;

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const MAX_PASSWORD = 256;

export interface LoginResult extends IssuedToken {
  user: User;
}

export interface NewUserInput {
  username: string;
  password: string;
  role?: string;
  fullName?: string | null;
}

export class UserService {
  constructor(private readonly tokens: TokenService) {}

  async login(em: EntityManager, username: string, password: string): Promise<LoginResult> {
    const user = username.length <= 64 ? await em.findOne(User, { username }) : null;
    if (!user || password.length > MAX_PASSWORD) {
      await burnPasswordCheck(password.slice(0, MAX_PASSWORD));
      throw new DomainError('UNAUTHENTICATED', LOGIN_MESSAGES.badCredentials);
    }
    if (!(await verifyPassword(user.passwordHash, password))) {
      throw new DomainError('UNAUTHENTICATED', LOGIN_MESSAGES.badCredentials);
    }
    if (user.status !== 'approved') throw forbidden(LOGIN_MESSAGES[user.status]);
    const issued = await this.tokens.issue({ username: user.username, role: user.role });
    return { ...issued, user };
  }

  async me(em: EntityManager, caller: Principal | null): Promise<User> {
    const who = requireCaller(caller);
    const user = await em.findOne(User, { username: who.username });
    if (!user) throw new DomainError('UNAUTHENTICATED', 'Account no longer exists');
    return user;
  }

  async createUser(em: EntityManager, caller: Principal | null, input: NewUserInput): Promise<User> {
    if (!isAdmin(requireCaller(caller))) throw forbidden('관리자만 접근 가능합니다.');
    const issues: ValidationIssue[] = [];
    if (!USERNAME.test(input.username)) {
      issues.push({ loc: ['body', 'username'], msg: '1-64 letters, digits, dots, hyphens or underscores', type: 'value_error' });
    }
    if (input.password.length < 8 || input.password.length > MAX_PASSWORD) {
      issues.push({ loc: ['body', 'password'], msg: `must be 8-${MAX_PASSWORD} characters`, type: 'value_error' });
    }
    const role = (input.role ?? 'user') as UserRole;
    if (!USER_ROLES.includes(role)) {
      issues.push({ loc: ['body', 'role'], msg: `must be one of ${USER_ROLES.join(', ')}`, type: 'enum' });
    }
    if (issues.length) throw invalidInput(issues);
    if (await em.count(User, { username: input.username })) {
      throw new DomainError('CONFLICT', `User "${input.username}" already exists`);
    }
    const user = em.create(User, {
      username: input.username,
      passwordHash: await hashPassword(input.password),
      role,
      status: 'approved',
      fullName: input.fullName ?? null,
      createdAt: new Date(),
    });
    await em.flush();
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
  em.create(User, {
    username: opts.username,
    passwordHash: await hashPassword(opts.password ?? generatedPassword!),
    role: 'admin',
    status: 'approved',
    fullName: 'Administrator',
    createdAt: new Date(),
  });
  await em.flush();
  return { created: true, generatedPassword };
}
