/**
 * Schemas of the account and admin paths (rest/account-routes.ts). Bodies whose fields only
 * need to be strings are validated by these schemas; the others are checked by the services,
 * which answer the exact issues and in the order (access before input) the contract pins.
 */
import { USER_ROLES, USER_STATUSES } from '../../entities/index.js';
import { BEARER, BODY_ERRORS, errors, MESSAGE, PUBLIC, PYTHON_TIMESTAMP, SUCCESS_MESSAGE } from './common.schema.js';
import { handlerValidated, ref } from './static.js';

const ACCOUNTS = ['accounts'];
const ADMIN = ['admin'];

export const QUOTA = {
  $id: 'Quota',
  title: 'Quota',
  description: 'An account\'s limits: hosts, vCPU, memory (GB) and disk (GB).',
  type: 'object',
  properties: { max_vms: { type: 'integer' }, max_cpu: { type: 'integer' }, max_ram: { type: 'integer' }, max_disk: { type: 'integer' } },
  required: ['max_vms', 'max_cpu', 'max_ram', 'max_disk'],
} as const;

const ACCOUNT_PROPERTIES = {
  id: { type: 'integer' },
  username: { type: 'string' },
  full_name: { type: ['string', 'null'] },
  role: { type: 'string', enum: USER_ROLES },
  status: { type: 'string', enum: USER_STATUSES },
  created_at: PYTHON_TIMESTAMP,
  quota: { anyOf: [ref(QUOTA), { type: 'null' }], description: 'null for admins (not limited)' },
} as const;
const ACCOUNT_REQUIRED = ['id', 'username', 'full_name', 'role', 'status', 'created_at', 'quota'] as const;

export const ACCOUNT = {
  $id: 'Account',
  title: 'Account',
  description: 'An account as admins see it (never a password or its hash).',
  type: 'object',
  properties: ACCOUNT_PROPERTIES,
  required: ACCOUNT_REQUIRED,
} as const;

export const ACCOUNT_SCHEMAS = [QUOTA, ACCOUNT];

const USERNAME_PARAMS = {
  type: 'object',
  properties: { username: { type: 'string', description: 'The account\'s name' } },
  required: ['username'],
} as const;

/** A body of required strings: validated by the schema (FastAPI's missing / string_type issues, in field order). */
function stringsBody<const K extends string>(descriptions: Record<K, string>) {
  const properties = Object.fromEntries(Object.entries(descriptions).map(([k, d]) => [k, { type: 'string', description: d }])) as { [P in K]: { type: 'string'; description: string } };
  return { type: 'object', properties, required: Object.keys(descriptions) as K[] } as const;
}

export const SIGNUP_SCHEMA = {
  tags: ACCOUNTS,
  operationId: 'signup',
  summary: 'Request an account',
  description: 'The account is `pending` until an admin approves it.',
  security: PUBLIC,
  body: handlerValidated({
    type: 'object',
    properties: {
      username: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: '1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit' },
      password: { type: 'string', minLength: 8, maxLength: 256 },
      full_name: { type: ['string', 'null'], maxLength: 128 },
    },
    required: ['username', 'password'],
  }),
  response: {
    200: { ...MESSAGE, description: '`{"message": "가입 신청이 완료되었습니다. 관리자 승인 후 이용 가능합니다."}`' },
    ...errors(400, ...BODY_ERRORS, 503),
  },
} as const;

export const LOGOUT_SCHEMA = {
  tags: ACCOUNTS,
  operationId: 'logout',
  summary: 'Sign out',
  description: 'Revokes the caller\'s token (on every instance; open subscriptions of the token close).',
  security: BEARER,
  response: { 200: { ...SUCCESS_MESSAGE, description: 'Revoked' }, ...errors(401, 503) },
} as const;

export const ME_SCHEMA = {
  tags: ACCOUNTS,
  operationId: 'me',
  summary: 'The caller\'s account, quota and usage',
  security: BEARER,
  response: {
    200: {
      description: 'The account, its quota and what its live projects use',
      type: 'object',
      properties: {
        ...ACCOUNT_PROPERTIES,
        usage: {
          type: 'object',
          properties: { projects: { type: 'integer' }, hosts: { type: 'integer' }, vcpu: { type: 'integer' }, memory: { type: 'integer' }, disk: { type: 'integer' } },
          required: ['projects', 'hosts', 'vcpu', 'memory', 'disk'],
        },
      },
      required: [...ACCOUNT_REQUIRED, 'usage'],
    },
    ...errors(401, 503),
  },
} as const;

export const CHANGE_PASSWORD_SCHEMA = {
  tags: ACCOUNTS,
  operationId: 'changePassword',
  summary: 'Change the caller\'s password',
  description: '`new_password` must be 8-256 characters (checked after the fields are known to be strings); a wrong `current_password` is 403.',
  security: BEARER,
  body: stringsBody({ current_password: 'The password in use', new_password: '8-256 characters' }),
  response: { 200: { ...SUCCESS_MESSAGE, description: 'Changed' }, ...errors(401, 403, ...BODY_ERRORS, 503) },
} as const;

const ACCOUNT_LIST = { type: 'array', items: ref(ACCOUNT) } as const;

export const PENDING_USERS_SCHEMA = {
  tags: ADMIN,
  operationId: 'pendingUsers',
  summary: 'Accounts waiting for approval',
  security: BEARER,
  response: { 200: { ...ACCOUNT_LIST, description: 'Oldest first' }, ...errors(401, 403, 503) },
} as const;

export const USERS_SCHEMA = {
  tags: ADMIN,
  operationId: 'users',
  summary: 'Accounts',
  security: BEARER,
  querystring: handlerValidated({
    type: 'object',
    properties: { status: { type: 'string', enum: USER_STATUSES, description: 'Only accounts in this state (checked after the caller is known to be an admin)' } },
  }),
  response: { 200: { ...ACCOUNT_LIST, description: 'Oldest first' }, ...errors(401, 403, 422, 503) },
} as const;

function accountAction(operationId: string, summary: string, description: string) {
  return {
    tags: ADMIN,
    operationId,
    summary,
    security: BEARER,
    params: USERNAME_PARAMS,
    response: { 200: { ...MESSAGE, description }, ...errors(401, 403, 404, 409, 503) },
  } as const;
}

export const APPROVE_USER_SCHEMA = accountAction('approveUser', 'Approve a pending account', 'Approved, with the default quota');
export const REJECT_USER_SCHEMA = accountAction('rejectUser', 'Reject a pending account', 'Rejected');
export const DISABLE_USER_SCHEMA = accountAction('disableUser', 'Disable an account', 'Disabled; its sessions end');

export const SET_ROLE_SCHEMA = {
  tags: ADMIN,
  operationId: 'setUserRole',
  summary: 'Change an account\'s role',
  description: `\`role\` is one of ${USER_ROLES.join(', ')} (checked after the caller is known to be an admin); the last active admin cannot be demoted.`,
  security: BEARER,
  params: USERNAME_PARAMS,
  body: stringsBody({ role: USER_ROLES.join(' or ') }),
  response: { 200: { ...MESSAGE, description: 'Changed' }, ...errors(401, 403, 404, 409, ...BODY_ERRORS, 503) },
} as const;

export const RESET_PASSWORD_SCHEMA = {
  tags: ADMIN,
  operationId: 'resetUserPassword',
  summary: 'Set an account\'s password',
  description: '`new_password` must be 8-256 characters; the account\'s sessions end.',
  security: BEARER,
  params: USERNAME_PARAMS,
  body: stringsBody({ new_password: '8-256 characters' }),
  response: { 200: { ...MESSAGE, description: 'Set' }, ...errors(401, 403, 404, 409, ...BODY_ERRORS, 503) },
} as const;

const QUOTA_FIELD = { type: ['integer', 'null'], minimum: 0, maximum: 100_000_000, description: 'Absent or null: unchanged' } as const;

export const SET_QUOTA_SCHEMA = {
  tags: ADMIN,
  operationId: 'setUserQuota',
  summary: 'Change an account\'s quota',
  security: BEARER,
  params: USERNAME_PARAMS,
  body: handlerValidated({
    type: 'object',
    properties: { max_vms: QUOTA_FIELD, max_cpu: QUOTA_FIELD, max_ram: QUOTA_FIELD, max_disk: QUOTA_FIELD },
  }),
  response: {
    200: {
      description: 'Changed; the quota now in force',
      type: 'object',
      properties: { message: { type: 'string' }, quota: { anyOf: [ref(QUOTA), { type: 'null' }] } },
      required: ['message', 'quota'],
    },
    ...errors(401, 403, 404, 409, ...BODY_ERRORS, 503),
  },
} as const;

const SETTINGS_PROPERTIES = {
  vcenter_ip: { type: 'string' },
  esxi_ip: { type: 'string' },
  vcenter_user: { type: 'string' },
  vcenter_password_set: { type: 'boolean' },
  maintenance_mode: { type: 'boolean' },
  max_vcpu: { type: 'integer' },
  max_memory: { type: 'integer' },
  system_notice: { type: 'string' },
  aws_access_key_set: { type: 'boolean' },
  aws_secret_key_set: { type: 'boolean' },
  aws_region: { type: 'string' },
  ssh_user: { type: 'string' },
  ssh_private_key_set: { type: 'boolean' },
} as const;

export const ADMIN_SETTINGS_SCHEMA = {
  tags: ADMIN,
  operationId: 'adminSettings',
  summary: 'Portal settings',
  description: 'Secrets are write-only: shown as `*_set` flags.',
  security: BEARER,
  response: {
    200: { description: 'The settings', type: 'object', properties: SETTINGS_PROPERTIES, required: Object.keys(SETTINGS_PROPERTIES) as (keyof typeof SETTINGS_PROPERTIES)[] },
    ...errors(401, 403, 503),
  },
} as const;

const text = (maxLength: number, description?: string) => ({ type: ['string', 'null'], maxLength, ...(description ? { description } : {}) }) as const;

export const UPDATE_SETTINGS_SCHEMA = {
  tags: ADMIN,
  operationId: 'updateAdminSettings',
  summary: 'Change portal settings',
  description: 'Absent or null fields stay as they are; a secret given as "" is cleared. Needs the admin\'s own password again (`admin_password`, else 403).',
  security: BEARER,
  body: handlerValidated({
    type: 'object',
    properties: {
      admin_password: { type: 'string', description: 'The caller\'s own password, re-entered' },
      system_notice: text(2000),
      maintenance_mode: { type: ['boolean', 'null'], description: 'On: new orders answer 503' },
      vcenter_ip: text(255),
      esxi_ip: text(255),
      vcenter_user: text(255),
      vcenter_password: text(255, 'Write-only'),
      max_vcpu: { type: ['integer', 'null'], minimum: 0, maximum: 10_000_000, description: 'Portal-wide vCPU limit' },
      max_memory: { type: ['integer', 'null'], minimum: 0, maximum: 10_000_000, description: 'Portal-wide memory limit (GB)' },
      aws_access_key: text(255, 'Write-only'),
      aws_secret_key: text(255, 'Write-only'),
      aws_region: { type: ['string', 'null'] },
      ssh_user: { type: ['string', 'null'], description: 'The account runners log in to pool hosts with' },
      ssh_private_key: { type: ['string', 'null'], maxLength: 16_384, description: 'Write-only: an unencrypted private key (OpenSSH or PEM)' },
    },
    required: ['admin_password'],
  }),
  response: { 200: { ...SUCCESS_MESSAGE, description: 'Saved' }, ...errors(401, 403, ...BODY_ERRORS, 503) },
} as const;

export const ADMIN_STATS_SCHEMA = {
  tags: ADMIN,
  operationId: 'adminStats',
  summary: 'Portal usage',
  security: BEARER,
  response: {
    200: {
      description: 'Projects in all; what live projects use',
      type: 'object',
      properties: {
        total_projects: { type: 'integer' },
        used_vcpu: { type: 'integer' },
        used_memory: { type: 'integer' },
        live_projects: { type: 'integer' },
        used_hosts: { type: 'integer' },
        used_disk: { type: 'integer' },
      },
      required: ['total_projects', 'used_vcpu', 'used_memory', 'live_projects', 'used_hosts', 'used_disk'],
    },
    ...errors(401, 403, 503),
  },
} as const;

export const AUDIT_SCHEMA = {
  tags: ADMIN,
  operationId: 'auditLog',
  summary: 'Audit log',
  description: 'Newest first; page with `before` = the last `next_before`.',
  security: BEARER,
  querystring: handlerValidated({
    type: 'object',
    properties: {
      limit: { type: 'string', pattern: '^\\d{1,9}$', description: 'Page size (default 50)' },
      before: { type: 'string', pattern: '^\\d{1,9}$', description: 'Entries older than this id' },
      actor: { type: 'string' },
      action: { type: 'string', examples: ['login', 'provision', 'settings.update'] },
      result: { type: 'string', enum: ['success', 'failure'] },
    },
  }),
  response: {
    200: {
      description: 'A page of entries',
      type: 'object',
      properties: {
        entries: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'integer' },
              at: PYTHON_TIMESTAMP,
              actor: { type: ['string', 'null'] },
              action: { type: 'string' },
              target: { type: ['string', 'null'] },
              ip: { type: ['string', 'null'] },
              result: { type: 'string', enum: ['success', 'failure'] },
              detail: { type: ['object', 'null'], additionalProperties: true },
            },
            required: ['id', 'at', 'actor', 'action', 'target', 'ip', 'result', 'detail'],
          },
        },
        has_more: { type: 'boolean' },
        next_before: { type: ['integer', 'null'] },
      },
      required: ['entries', 'has_more', 'next_before'],
    },
    ...errors(401, 403, 422, 503),
  },
} as const;
