/**
 * The old `/api` paths, unchanged for old clients. Each route only translates HTTP to the
 * same services GraphQL uses and maps the result to the original's shape. Each has its schema
 * (schemas/project.schema.ts): the answers are written by it and it is the OpenAPI document's
 * entry; the inputs here are checked by hand, for the original's exact issues (see there).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../services/index.js';
import { invalidInput, type ValidationIssue } from '../services/errors.js';
import { myResourcesRest } from '../services/resources.js';
import { loadSettings } from '../services/settings.js';
import { PROJECT_STATUSES, type ProjectStatus } from '../entities/index.js';
import { authenticated, callerFor } from './caller.js';
import {
  CANCEL_SCHEMA,
  DELETE_SCHEMA,
  historySchema,
  LOGIN_SCHEMA,
  MY_RESOURCES_SCHEMA,
  provisionSchema,
  PUBLIC_SETTINGS_SCHEMA,
  RETRY_SCHEMA,
} from './schemas/project.schema.js';
import type { SchemaTypeProvider } from './schemas/static.js';
import { historyItem } from './shapes.js';

export { callerOf } from './caller.js';

export const DEFAULT_HISTORY_LIMIT = 100;

function loginBody(body: unknown): { username: string; password: string } {
  const issues: ValidationIssue[] = [];
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    issues.push({ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'model_type' });
  }
  const username = b.user_id ?? b.username;
  if (username === undefined) issues.push({ loc: ['body', 'user_id'], msg: 'Field required', type: 'missing' });
  else if (typeof username !== 'string') issues.push({ loc: ['body', 'user_id'], msg: 'Input should be a valid string', type: 'string_type' });
  if (b.password === undefined) issues.push({ loc: ['body', 'password'], msg: 'Field required', type: 'missing' });
  else if (typeof b.password !== 'string') issues.push({ loc: ['body', 'password'], msg: 'Input should be a valid string', type: 'string_type' });
  if (issues.length) throw invalidInput(issues);
  return { username: username as string, password: b.password as string };
}

function positiveInt(value: unknown, loc: (string | number)[], max: number): number {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw invalidInput([{ loc, msg: `Input should be a whole number from 1 to ${max}`, type: 'int_parsing' }]);
  }
  return n;
}

/** The project id of `/api/provision/{id}...`, at the original's `project_id`. */
const projectId = (request: { params: { id: string } }) => positiveInt(request.params.id, ['path', 'project_id'], Number.MAX_SAFE_INTEGER);

function historyQuery(query: unknown, maxPage: number): { limit: number; status?: ProjectStatus } {
  const q = (query ?? {}) as Record<string, unknown>;
  const limit = q.limit === undefined ? DEFAULT_HISTORY_LIMIT : positiveInt(q.limit, ['query', 'limit'], maxPage);
  if (q.status === undefined || q.status === '') return { limit };
  const status = String(q.status).toUpperCase() as ProjectStatus;
  if (!PROJECT_STATUSES.includes(status)) {
    throw invalidInput([{ loc: ['query', 'status'], msg: `Input should be ${PROJECT_STATUSES.join(', ')}`, type: 'enum' }]);
  }
  return { limit, status };
}

export function registerRestRoutes(http: FastifyInstance, services: Services, opts: { maxPageSize: number }): void {
  const app = http.withTypeProvider<SchemaTypeProvider>();
  const { projects } = services;
  const signedIn = authenticated(services);

  app.post('/api/login', { schema: LOGIN_SCHEMA }, async (request) => {
    const { username, password } = loginBody(request.body);
    const result = await services.users.login(services.fork(), username, password, request.ip);
    return {
      status: 'success',
      message: 'Login Approved',
      access_token: result.token,
      token_type: 'bearer',
      role: result.user.role,
    } as const;
  });

  app.get('/api/public/settings', { schema: PUBLIC_SETTINGS_SCHEMA }, async () => {
    const settings = await loadSettings(services.fork());
    return {
      system_notice: settings.systemNotice,
      maintenance_mode: settings.maintenanceMode,
      site_name: 'H-CMP',
      infrastructures: ['aws', 'vsphere'] as ('aws' | 'vsphere')[],
      templates: Object.fromEntries(Object.entries(services.catalog.templates).map(([name, t]) => [name, t.roles.length])),
      database: { backend: services.database.backend, fell_back: services.database.fellBack },
    };
  });

  app.post('/api/provision', { schema: provisionSchema(services.catalog), preValidation: signedIn }, async (request, reply) => {
    // A repeated header arrives joined ("a, b"), which the key format (no spaces) refuses.
    const header = request.headers['idempotency-key'];
    const { project, replayed } = await projects.provision(services.sqlDb, callerFor(request), request.body, { idempotencyKey: typeof header === 'string' ? header : null });
    if (replayed) reply.header('idempotent-replayed', 'true');
    return { status: 'success', message: `프로젝트 #${project.id} 생성 시작`, project_id: project.id } as const;
  });

  // Added with the durable lifecycle (not in the original): stop a run, run a failed one again.
  app.post('/api/provision/:id/cancel', { schema: CANCEL_SCHEMA, preValidation: signedIn }, async (request) => {
    const id = projectId(request);
    const project = await projects.cancel(services.fork(), callerFor(request), id);
    return { status: 'success', message: `프로젝트 #${id} 취소 요청`, project_id: id, project_status: project.status } as const;
  });

  app.post('/api/provision/:id/retry', { schema: RETRY_SCHEMA, preValidation: signedIn }, async (request) => {
    const id = projectId(request);
    const project = await projects.retry(services.fork(), callerFor(request), id);
    return { status: 'success', message: `프로젝트 #${id} 재시도 시작`, project_id: id, project_status: project.status } as const;
  });

  const history = async (request: Pick<FastifyRequest, 'method' | 'url' | 'query'>) => {
    const { limit, status } = historyQuery(request.query, opts.maxPageSize);
    const page = await projects.historyListing(services.sqlDb, callerFor(request), { first: limit, status });
    return page.items.map(historyItem);
  };
  app.get('/api/history', { schema: historySchema(opts.maxPageSize, 'history'), preValidation: signedIn }, history);
  app.get('/api/api/history', { schema: historySchema(opts.maxPageSize, 'historyDoubledPrefix', '/api/history'), preValidation: signedIn }, history);
  app.get('/api/projects', { schema: historySchema(opts.maxPageSize, 'projects', '/api/history'), preValidation: signedIn }, history);

  app.delete('/api/provision/:id', { schema: DELETE_SCHEMA, preValidation: signedIn }, async (request) => {
    const id = projectId(request);
    // Answers at once; the teardown runs in the background (the project shows DELETING, as
    // RUNNING to old clients, until it is gone). The body stays the original's.
    await projects.delete(services.fork(), callerFor(request), id);
    return { status: 'success', message: '삭제 완료' } as const;
  });

  app.get('/api/monitoring/my-resources', { schema: MY_RESOURCES_SCHEMA, preValidation: signedIn }, async (request) => {
    // Every row in one pass of plain SQL, the rows already shaped as the answer (no ORM).
    return myResourcesRest(services.sqlDb, callerFor(request), services.metrics);
  });
}
