/**
 * The fuller version's account and admin paths (`/api/signup`, `/api/admin/...`), plus the
 * account actions it lacked (logout, own password, reject, disable, roles, resets, quotas,
 * audit). Each route translates to the same services GraphQL uses; its schema
 * (schemas/account.schema.ts) writes the answers, validates the bodies of plain strings and is
 * its OpenAPI entry.
 */
import type { FastifyInstance } from 'fastify';
import type { User } from '../entities/index.js';
import { adminStats, changeAdminSettings, readAdminSettings } from '../services/admin-settings.js';
import type { AdminSettingsPatch } from '../services/settings.js';
import { invalidInput } from '../services/errors.js';
import type { Services } from '../services/index.js';
import type { Quota } from '../services/quotas.js';
import { ACCOUNT_MESSAGES } from '../services/users.js';
import { authenticated, callerFor } from './caller.js';
import {
  ADMIN_SETTINGS_SCHEMA,
  ADMIN_STATS_SCHEMA,
  APPROVE_USER_SCHEMA,
  AUDIT_SCHEMA,
  CHANGE_PASSWORD_SCHEMA,
  DISABLE_USER_SCHEMA,
  LOGOUT_SCHEMA,
  ME_SCHEMA,
  PENDING_USERS_SCHEMA,
  REJECT_USER_SCHEMA,
  RESET_PASSWORD_SCHEMA,
  SET_QUOTA_SCHEMA,
  SET_ROLE_SCHEMA,
  SIGNUP_SCHEMA,
  UPDATE_SETTINGS_SCHEMA,
  USERS_SCHEMA,
} from './schemas/account.schema.js';
import type { SchemaTypeProvider } from './schemas/static.js';
import { pythonIsoUtc } from './shapes.js';

type Body = Record<string, unknown>;

function objectBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidInput([{ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'model_type' }]);
  }
  return body as Body;
}

const quotaShape = (q: Quota | null) => (q ? { max_vms: q.hosts, max_cpu: q.vcpu, max_ram: q.memoryGb, max_disk: q.diskGb } : null);

function userShape(user: User, quota: Quota | null) {
  return {
    id: user.id,
    username: user.username,
    full_name: user.fullName ?? null,
    role: user.role,
    status: user.status,
    created_at: pythonIsoUtc(user.createdAt),
    quota: quotaShape(quota),
  };
}

const usernameParam = (request: { params: { username: string } }) => request.params.username;

export function registerAccountRoutes(http: FastifyInstance, services: Services): void {
  const app = http.withTypeProvider<SchemaTypeProvider>();
  const { users, userAdmin, quotas } = services;
  const signedIn = authenticated(services);
  const shape = (u: User) => userShape(u, quotas.limitOf(u));

  app.post('/api/signup', { schema: SIGNUP_SCHEMA }, async (request) => {
    const body = objectBody(request.body);
    await users.signup(services.fork(), { username: body.username, password: body.password, fullName: body.full_name }, request.ip);
    return { message: ACCOUNT_MESSAGES.signedUp };
  });

  app.post('/api/logout', { schema: LOGOUT_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    await services.sessions.logout(caller);
    await services.audit.record({ actor: caller.username, action: 'logout', target: caller.username, ip: caller.ip, result: 'success' });
    return { status: 'success', message: '로그아웃 되었습니다.' } as const;
  });

  app.get('/api/me', { schema: ME_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const em = services.fork();
    const user = await users.me(em, caller);
    const status = await quotas.status(em, user.username);
    return { ...shape(user), usage: { projects: status.used.liveProjects, hosts: status.used.usedHosts, vcpu: status.used.usedVcpu, memory: status.used.usedMemory, disk: status.used.usedDisk } };
  });

  app.post('/api/me/password', { schema: CHANGE_PASSWORD_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const { current_password, new_password } = request.body;
    await users.changePassword(services.fork(), caller, current_password, new_password);
    return { status: 'success', message: '비밀번호가 변경되었습니다.' } as const;
  });

  app.get('/api/admin/pending-users', { schema: PENDING_USERS_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    return (await userAdmin.list(services.fork(), caller, 'pending')).map(shape);
  });

  app.get('/api/admin/users', { schema: USERS_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const status = (request.query as { status?: string }).status;
    return (await userAdmin.list(services.fork(), caller, (status || null) as never)).map(shape);
  });

  app.post('/api/admin/approve-user/:username', { schema: APPROVE_USER_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const user = await userAdmin.approve(services.fork(), caller, usernameParam(request));
    return { message: `${user.username} 사용자가 승인되었으며 기본 쿼터가 할당되었습니다.` };
  });

  app.post('/api/admin/reject-user/:username', { schema: REJECT_USER_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const user = await userAdmin.reject(services.fork(), caller, usernameParam(request));
    return { message: `${user.username} 사용자의 가입 신청이 거절되었습니다.` };
  });

  app.post('/api/admin/disable-user/:username', { schema: DISABLE_USER_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const user = await userAdmin.disable(services.fork(), caller, usernameParam(request));
    return { message: `${user.username} 사용자가 비활성화되었습니다.` };
  });

  app.post('/api/admin/users/:username/role', { schema: SET_ROLE_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const { role } = request.body;
    const user = await userAdmin.setRole(services.fork(), caller, usernameParam(request), role);
    return { message: `${user.username} 사용자의 역할이 ${user.role}(으)로 변경되었습니다.` };
  });

  app.post('/api/admin/users/:username/password', { schema: RESET_PASSWORD_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const { new_password } = request.body;
    const user = await userAdmin.resetPassword(services.fork(), caller, usernameParam(request), new_password);
    return { message: `${user.username} 사용자의 비밀번호가 재설정되었습니다.` };
  });

  app.post('/api/admin/users/:username/quota', { schema: SET_QUOTA_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const body = objectBody(request.body);
    const user = await userAdmin.setQuota(services.fork(), caller, usernameParam(request), {
      hosts: body.max_vms as number | undefined,
      vcpu: body.max_cpu as number | undefined,
      memoryGb: body.max_ram as number | undefined,
      diskGb: body.max_disk as number | undefined,
    });
    return { message: `${user.username} 사용자의 쿼터가 변경되었습니다.`, quota: quotaShape(quotas.limitOf(user)) };
  });

  app.get('/api/admin/settings', { schema: ADMIN_SETTINGS_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const s = await readAdminSettings(services.fork(), caller);
    return {
      vcenter_ip: s.vcenterIp,
      esxi_ip: s.esxiIp,
      vcenter_user: s.vcenterUser,
      vcenter_password_set: s.vcenterPasswordSet,
      maintenance_mode: s.maintenanceMode,
      max_vcpu: s.maxVcpu,
      max_memory: s.maxMemory,
      system_notice: s.systemNotice,
      aws_access_key_set: s.awsAccessKeySet,
      aws_secret_key_set: s.awsSecretKeySet,
      aws_region: s.awsRegion,
      ssh_user: s.sshUser,
      ssh_private_key_set: s.sshPrivateKeySet,
    };
  });

  app.post('/api/admin/settings', { schema: UPDATE_SETTINGS_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const b = objectBody(request.body);
    const patch = {
      systemNotice: b.system_notice,
      maintenanceMode: b.maintenance_mode,
      vcenterIp: b.vcenter_ip,
      esxiIp: b.esxi_ip,
      vcenterUser: b.vcenter_user,
      vcenterPassword: b.vcenter_password,
      maxVcpu: b.max_vcpu,
      maxMemory: b.max_memory,
      awsAccessKey: b.aws_access_key,
      awsSecretKey: b.aws_secret_key,
      awsRegion: b.aws_region,
      sshUser: b.ssh_user,
      sshPrivateKey: b.ssh_private_key,
    } as unknown as AdminSettingsPatch;
    await changeAdminSettings(services, services.fork(), caller, patch, b.admin_password);
    return { status: 'success', message: '설정이 저장되었습니다.' } as const;
  });

  app.get('/api/admin/stats', { schema: ADMIN_STATS_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const u = await adminStats(services.fork(), caller);
    return {
      total_projects: u.totalProjects,
      used_vcpu: u.usedVcpu,
      used_memory: u.usedMemory,
      live_projects: u.liveProjects,
      used_hosts: u.usedHosts,
      used_disk: u.usedDisk,
    };
  });

  app.get('/api/admin/audit', { schema: AUDIT_SCHEMA, preValidation: signedIn }, async (request) => {
    const caller = callerFor(request);
    const q = request.query as Record<string, string | undefined>;
    const int = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      if (!/^\d{1,9}$/.test(v)) throw invalidInput([{ loc: ['query', name], msg: 'Input should be a whole number', type: 'int_parsing' }]);
      return Number(v);
    };
    const page = await services.audit.list(services.fork(), caller, {
      first: int(q.limit, 'limit'),
      before: int(q.before, 'before'),
      actor: q.actor,
      action: q.action,
      result: (q.result as 'success' | 'failure' | undefined) ?? null,
    });
    const entries = page.items.map((e) => ({ id: e.id, at: pythonIsoUtc(e.at), actor: e.actor ?? null, action: e.action, target: e.target ?? null, ip: e.ip ?? null, result: e.result, detail: e.detail ?? null }));
    return { entries, has_more: page.hasMore, next_before: page.hasMore ? entries[entries.length - 1].id : null };
  });
}
