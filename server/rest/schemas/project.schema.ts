/**
 * Schemas of the original contract's paths (rest/routes.ts): login, public settings, orders,
 * history, delete, cancel / retry and my-resources. The order's `config` is described from the
 * catalog the server runs with, so the document lists its templates, packages, tiers, regions.
 */
import type { Catalog } from '../../config/catalog.js';
import { INFRA_TYPES, PROJECT_STATUSES, USER_ROLES } from '../../entities/index.js';
import { SERVICE_NAME_RULE } from '../../services/provision-input.js';
import { BEARER, BODY_ERRORS, errors, PUBLIC, PYTHON_TIMESTAMP, SUCCESS_MESSAGE } from './common.schema.js';
import { handlerValidated, ref } from './static.js';

/** The four statuses old REST clients know (CANCELLED shows as FAILED, DELETING as RUNNING). */
export const LEGACY_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'] as const;

const OPEN_OBJECT = { type: 'object', additionalProperties: true } as const;

/** A project's `details` JSON, as the original stored it; free-form beyond the keys listed. */
export const PROJECT_DETAILS = {
  $id: 'ProjectDetails',
  title: 'ProjectDetails',
  description: 'The project\'s `details` JSON exactly as the original kept it: the order as received, the normalised config and infrastructure, the exact status, every log line, the resources and the error. Free-form: runners may add keys.',
  type: 'object',
  additionalProperties: true,
  properties: {
    input: {
      type: 'object',
      additionalProperties: true,
      description: 'The order as received (`userName` filled in)',
      properties: { serviceName: { type: 'string' }, userName: { type: 'string' }, config: OPEN_OBJECT, targetInfra: OPEN_OBJECT },
    },
    config: { ...OPEN_OBJECT, description: 'The normalised config (defaults filled in, unknown keys kept)' },
    infra: { type: 'object', additionalProperties: true, properties: { type: { type: 'string', description: INFRA_TYPES.join(' or ') } } },
    status: { type: 'string', description: `The exact status: ${PROJECT_STATUSES.join(', ')}` },
    logs: { type: 'array', items: { type: 'string' } },
    resources: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'null until the run has produced them',
      properties: {
        alb_ip: { type: 'string' },
        web_url: { type: 'string' },
        db_vip: { type: 'string' },
        ssh_targets: {
          type: 'array',
          items: { type: 'object', additionalProperties: true, properties: { host: { type: 'string' }, port: { type: 'integer' }, user: { type: 'string' } } },
        },
      },
    },
    error: { type: ['object', 'null'], additionalProperties: true, properties: { message: { type: 'string' } }, description: 'null unless the run failed' },
  },
} as const;

export const HISTORY_ITEM = {
  $id: 'HistoryItem',
  title: 'HistoryItem',
  description: 'One project as old clients list it.',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    service_name: { type: 'string' },
    status: { type: 'string', enum: LEGACY_STATUSES, description: 'CANCELLED shows as FAILED, DELETING as RUNNING; `details.status` has the exact status' },
    assigned_ip: { type: 'string', description: 'The primary address (ALB / first host), or "" before there is one' },
    template_type: { type: 'string', examples: ['standard', 'aws-design'] },
    created_at: PYTHON_TIMESTAMP,
    owner: { type: 'string' },
    details: ref(PROJECT_DETAILS),
  },
  required: ['id', 'service_name', 'status', 'assigned_ip', 'template_type', 'created_at', 'owner', 'details'],
} as const;

export const RESOURCE_ROW = {
  $id: 'ResourceRow',
  title: 'ResourceRow',
  description: 'A pool host the caller\'s projects hold (admins: every host), or a row derived from a project\'s resources (ALB, Web, DB, SSH-n).',
  type: 'object',
  properties: {
    vm_name: { type: 'string', examples: ['EC2-3', 'ALB', 'SSH-1'] },
    ip_address: { type: 'string', description: 'An address, or for `Web` the URL' },
    project_name: { type: 'string', description: 'The holding project\'s service name; "" for a free host' },
    owner: { type: 'string', description: '"" for a free host' },
    cpu_usage: { type: 'number', description: 'Percent, from Prometheus; 0 where unknown' },
    memory_usage: { type: 'number' },
    disk_usage: { type: 'number' },
    status: { type: 'string', examples: ['Running', 'Provisioning', 'Available', 'Drained', 'FAILED'] },
  },
  required: ['vm_name', 'ip_address', 'project_name', 'owner', 'cpu_usage', 'memory_usage', 'disk_usage', 'status'],
} as const;

export const PROJECT_SCHEMAS = [PROJECT_DETAILS, HISTORY_ITEM, RESOURCE_ROW];

const PROJECTS = ['projects'];

export const LOGIN_SCHEMA = {
  tags: ['accounts'],
  operationId: 'login',
  summary: 'Sign in',
  description: 'Answers an access token for `Authorization: Bearer`. `username` is accepted as an alias of `user_id`.',
  security: PUBLIC,
  body: handlerValidated({
    type: 'object',
    properties: {
      user_id: { type: 'string', examples: ['admin'] },
      username: { type: 'string', description: 'Alias of `user_id`' },
      password: { type: 'string' },
    },
    required: ['password'],
  }),
  response: {
    200: {
      description: 'Signed in',
      type: 'object',
      properties: {
        status: { type: 'string', const: 'success' },
        message: { type: 'string', const: 'Login Approved' },
        access_token: { type: 'string' },
        token_type: { type: 'string', const: 'bearer' },
        role: { type: 'string', enum: USER_ROLES },
      },
      required: ['status', 'message', 'access_token', 'token_type', 'role'],
    },
    ...errors(401, 403, ...BODY_ERRORS, 429, 503),
  },
} as const;

export const PUBLIC_SETTINGS_SCHEMA = {
  tags: ['platform'],
  operationId: 'publicSettings',
  summary: 'Public settings (no login)',
  security: PUBLIC,
  response: {
    200: {
      description: 'The notice, maintenance mode, and what the portal offers',
      type: 'object',
      properties: {
        system_notice: { type: 'string' },
        maintenance_mode: { type: 'boolean' },
        site_name: { type: 'string' },
        infrastructures: { type: 'array', items: { type: 'string', enum: INFRA_TYPES } },
        templates: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Host count per template' },
        database: {
          type: 'object',
          properties: { backend: { type: 'string', enum: ['sqlite', 'postgresql'] }, fell_back: { type: 'boolean' } },
          required: ['backend', 'fell_back'],
        },
      },
      required: ['system_notice', 'maintenance_mode', 'site_name', 'infrastructures', 'templates', 'database'],
    },
    ...errors(503),
  },
} as const;

/** `config` of an order: an AWS design or a template order (SPEC §4), from the catalog. */
export function orderConfigSchema(catalog: Catalog) {
  const keys = (o: object) => Object.keys(o);
  const [minNodes, maxNodes] = catalog.awsDesignLimits.nodeCount;
  const [minDb, maxDb] = catalog.awsDesignLimits.dbSize;
  const mockFailAt = { type: 'string', enum: catalog.mockSteps.map((s) => s.id), description: 'Failure injection: the mock runner fails at this step' } as const;
  const awsDesign = {
    title: 'AwsDesign',
    type: 'object',
    additionalProperties: true,
    description: 'What /main_ui sends; unknown keys (such as `instanceCost`) are kept.',
    properties: {
      instanceType: { type: 'string', enum: keys(catalog.instanceTiers) },
      nodeCount: { type: 'integer', minimum: minNodes, maximum: maxNodes, default: 1 },
      dbEngine: { type: 'string', enum: keys(catalog.dbEngines) },
      dbMultiAZ: { type: 'boolean' },
      dbSize: { type: 'integer', minimum: minDb, maximum: maxDb, description: 'GB' },
      redis: { type: 'boolean' },
      waf: { type: 'boolean' },
      cdn: { type: 'boolean' },
      region: { type: 'string', enum: keys(catalog.regions) },
      environment: { type: 'string', description: `One of ${keys(catalog.environments).join(', ')} or its label (${Object.values(catalog.environments).join(', ')})` },
      owner: { type: 'string' },
      mockFailAt,
    },
    required: ['instanceType'],
  } as const;
  const templateOrder = {
    title: 'TemplateOrder',
    type: 'object',
    additionalProperties: true,
    description: 'The vSphere console\'s order; unknown keys are kept.',
    properties: {
      template: { type: 'string', enum: keys(catalog.templates), default: catalog.defaultTemplate, description: Object.entries(catalog.templates).map(([name, t]) => `${name}: ${t.roles.length} host(s)`).join('; ') },
      packages: { type: 'array', uniqueItems: true, items: { type: 'string', enum: catalog.packages } },
      environment: { type: 'string', enum: keys(catalog.environments) },
      traffic: { type: 'string', enum: keys(catalog.traffic) },
      mockFailAt,
    },
  } as const;
  return { anyOf: [awsDesign, templateOrder] } as const;
}

export function provisionSchema(catalog: Catalog) {
  return {
    tags: PROJECTS,
    operationId: 'provision',
    summary: 'Order a project',
    description:
      'Takes the hosts from the workload pool and answers at once; a runner provisions in the background (follow it in the history or over GraphQL). With `Idempotency-Key`, the same key and body give the same project (`Idempotent-Replayed: true`); the same key with another body is a 422.',
    security: BEARER,
    headers: handlerValidated<Record<string, string | string[] | undefined>>({
      type: 'object',
      properties: {
        'idempotency-key': { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: '1-255 visible ASCII characters, scoped to the calling account' },
      },
    }),
    body: handlerValidated({
      type: 'object',
      properties: {
        serviceName: { type: 'string', minLength: 1, maxLength: 63, pattern: SERVICE_NAME_RULE.source, examples: ['shop-web'] },
        userName: { type: 'string', description: 'The account to order for; the caller by default (others: admins only)' },
        config: orderConfigSchema(catalog),
        targetInfra: {
          description: '`{}` or missing means AWS; the bare string "aws" or "vsphere" means `{"type": ...}`; other keys are kept',
          anyOf: [
            { type: 'object', additionalProperties: true, properties: { type: { type: 'string', enum: INFRA_TYPES, default: 'aws' } } },
            { type: 'string', enum: INFRA_TYPES },
          ],
        },
      },
      required: ['serviceName'],
    }),
    response: {
      200: {
        description: 'Stored as PENDING with its hosts; the run starts in the background',
        headers: { 'idempotent-replayed': { type: 'string', const: 'true', description: 'The answer of an earlier request with the same key' } },
        type: 'object',
        properties: {
          status: { type: 'string', const: 'success' },
          message: { type: 'string', examples: ['프로젝트 #42 생성 시작'] },
          project_id: { type: 'integer' },
        },
        required: ['status', 'message', 'project_id'],
      },
      ...errors(401, 403, 409, ...BODY_ERRORS, 503),
    },
  } as const;
}

const PROJECT_ID_PARAMS = handlerValidated<{ id: string }>({
  type: 'object',
  properties: { id: { type: 'string', pattern: '^\\d{1,15}$', description: 'The project id (a 422 at `["path", "project_id"]` when it is not a whole number from 1)' } },
  required: ['id'],
});

const PROJECT_ACTION = {
  type: 'object',
  properties: {
    status: { type: 'string', const: 'success' },
    message: { type: 'string' },
    project_id: { type: 'integer' },
    project_status: { type: 'string', enum: PROJECT_STATUSES, description: 'The project\'s exact status after the request' },
  },
  required: ['status', 'message', 'project_id', 'project_status'],
} as const;

export const CANCEL_SCHEMA = {
  tags: PROJECTS,
  operationId: 'cancelProvision',
  summary: 'Cancel a pending or running project',
  description: 'A pending project is cancelled at once; a running one stops at its next safe point (between steps).',
  security: BEARER,
  params: PROJECT_ID_PARAMS,
  response: { 200: { ...PROJECT_ACTION, description: 'Cancelled, or asked to stop' }, ...errors(401, 404, 409, 422, 503) },
} as const;

export const RETRY_SCHEMA = {
  tags: PROJECTS,
  operationId: 'retryProvision',
  summary: 'Run a failed or cancelled project again',
  description: 'The same input; hosts are taken again, events kept, `attempt` + 1.',
  security: BEARER,
  params: PROJECT_ID_PARAMS,
  response: { 200: { ...PROJECT_ACTION, description: 'PENDING again' }, ...errors(401, 404, 409, 422, 503) },
} as const;

export const DELETE_SCHEMA = {
  tags: PROJECTS,
  operationId: 'deleteProject',
  summary: 'Delete a project',
  description: 'Answers at once; the teardown runs in the background (the project shows RUNNING, `details.status` DELETING) and the project leaves the history when it is done. Another user\'s project is 404.',
  security: BEARER,
  params: PROJECT_ID_PARAMS,
  response: {
    200: { ...SUCCESS_MESSAGE, description: '`{"status": "success", "message": "삭제 완료"}`' },
    ...errors(401, 404, 409, 422, 503),
  },
} as const;

export function historySchema(maxPageSize: number, operationId: string, alias?: string) {
  return {
    tags: PROJECTS,
    operationId,
    summary: alias ? `Project history (alias of ${alias})` : 'Project history',
    description: 'The caller\'s projects (admins: all), newest first.',
    security: BEARER,
    querystring: handlerValidated({
      type: 'object',
      properties: {
        limit: { type: 'string', pattern: '^\\d{1,15}$', default: '100', description: `Page size, a whole number from 1 to ${maxPageSize}` },
        status: { type: 'string', description: `Exact status, any case: ${PROJECT_STATUSES.join(', ')}` },
      },
    }),
    response: { 200: { description: 'Newest first', type: 'array', items: ref(HISTORY_ITEM) }, ...errors(401, 422, 503) },
  } as const;
}

export const MY_RESOURCES_SCHEMA = {
  tags: ['monitoring'],
  operationId: 'myResources',
  summary: 'My resources',
  description: 'The pool hosts the caller\'s projects hold (admins: every host), then the ALB / Web / DB / SSH-n rows of each project with resources.',
  security: BEARER,
  response: { 200: { description: 'Hosts, then derived rows', type: 'array', items: ref(RESOURCE_ROW) }, ...errors(401, 503) },
} as const;
