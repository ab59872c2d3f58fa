/**
 * The old `/api` paths, unchanged for old clients. Each route only translates HTTP to the
 * same services GraphQL uses and maps the result to the original's shape.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../services/index.js';
import { invalidInput, unauthenticated, type ValidationIssue } from '../services/errors.js';
import type { Principal } from '../services/principal.js';
import { myResourcesRest } from '../services/resources.js';
import { loadSettings } from '../services/settings.js';
import { bearerToken } from '../services/tokens.js';
import { PROJECT_STATUSES, type ProjectStatus } from '../entities/index.js';
import { historyItem } from './shapes.js';

export const DEFAULT_HISTORY_LIMIT = 100;

export async function callerOf(services: Services, request: FastifyRequest): Promise<Principal> {
  const token = bearerToken(request.headers.authorization);
  if (!token) throw unauthenticated('Not authenticated');
  return services.sessions.authenticate(token, request.ip);
}

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

export function registerRestRoutes(app: FastifyInstance, services: Services, opts: { maxPageSize: number }): void {
  const { projects } = services;

  app.post('/api/login', async (request) => {
    const { username, password } = loginBody(request.body);
    const result = await services.users.login(services.fork(), username, password, request.ip);
    return {
      status: 'success',
      message: 'Login Approved',
      access_token: result.token,
      token_type: 'bearer',
      role: result.user.role,
    };
  });

  app.get('/api/public/settings', async () => {
    const settings = await loadSettings(services.fork());
    return {
      system_notice: settings.systemNotice,
      maintenance_mode: settings.maintenanceMode,
      site_name: 'H-CMP',
      infrastructures: ['aws', 'vsphere'],
      templates: Object.fromEntries(Object.entries(services.catalog.templates).map(([name, t]) => [name, t.roles.length])),
      database: { backend: services.database.backend, fell_back: services.database.fellBack },
    };
  });

  app.post('/api/provision', async (request, reply) => {
    const caller = await callerOf(services, request);
    // A repeated header arrives joined ("a, b"), which the key format (no spaces) refuses.
    const header = request.headers['idempotency-key'];
    const { project, replayed } = await projects.provision(services.sqlDb, caller, request.body, { idempotencyKey: typeof header === 'string' ? header : null });
    if (replayed) reply.header('idempotent-replayed', 'true');
    return { status: 'success', message: `프로젝트 #${project.id} 생성 시작`, project_id: project.id };
  });

  // Added with the durable lifecycle (not in the original): stop a run, run a failed one again.
  app.post('/api/provision/:id/cancel', async (request) => {
    const caller = await callerOf(services, request);
    const id = positiveInt((request.params as { id: string }).id, ['path', 'project_id'], Number.MAX_SAFE_INTEGER);
    const project = await projects.cancel(services.fork(), caller, id);
    return { status: 'success', message: `프로젝트 #${id} 취소 요청`, project_id: id, project_status: project.status };
  });

  app.post('/api/provision/:id/retry', async (request) => {
    const caller = await callerOf(services, request);
    const id = positiveInt((request.params as { id: string }).id, ['path', 'project_id'], Number.MAX_SAFE_INTEGER);
    const project = await projects.retry(services.fork(), caller, id);
    return { status: 'success', message: `프로젝트 #${id} 재시도 시작`, project_id: id, project_status: project.status };
  });

  const history = async (request: FastifyRequest) => {
    const caller = await callerOf(services, request);
    const { limit, status } = historyQuery(request.query, opts.maxPageSize);
    const page = await projects.history(services.sqlDb, caller, { first: limit, status });
    return page.items.map(historyItem);
  };
  app.get('/api/history', history);
  app.get('/api/api/history', history);
  app.get('/api/projects', history);

  app.delete('/api/provision/:id', async (request) => {
    const caller = await callerOf(services, request);
    const id = positiveInt((request.params as { id: string }).id, ['path', 'project_id'], Number.MAX_SAFE_INTEGER);
    // Answers at once; the teardown runs in the background (the project shows DELETING, as
    // RUNNING to old clients, until it is gone). The body stays the original's.
    await projects.delete(services.fork(), caller, id);
    return { status: 'success', message: '삭제 완료' };
  });

  app.get('/api/monitoring/my-resources', async (request) => {
    const caller = await callerOf(services, request);
    // Every row in one pass of plain SQL, the rows already shaped as the answer (no ORM).
    return myResourcesRest(services.sqlDb, caller, services.metrics);
  });
}
