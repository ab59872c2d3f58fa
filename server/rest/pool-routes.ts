/**
 * `/api/admin/pool`: the workload pool's hosts for admins — list, add, remove, drain and undrain,
 * reset a recorded host key, check reachability. Translates to the same service GraphQL uses;
 * errors are FastAPI-shaped (rest/errors.ts), a held host's removal is 409.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidInput } from '../services/errors.js';
import { requireAdmin } from '../services/settings.js';
import type { Services } from '../services/index.js';
import { MAX_POOL_PAGE } from '../services/pool-admin.js';
import type { PoolHostView } from '../services/pool-hosts.js';
import type { HostStatus, InfraType } from '../entities/index.js';
import { callerOf } from './routes.js';
import { pythonIsoUtc } from './shapes.js';

function hostShape(h: PoolHostView) {
  return {
    id: h.id,
    vm_name: h.vmName,
    ip_address: h.ipAddress,
    infra: h.infra,
    status: h.status,
    project_id: h.projectId,
    owner: h.owner,
    drain_requested: h.drainRequested,
    host_key_set: h.hostKeySet,
    host_key_fingerprints: h.hostKeyFingerprints,
    checked_at: h.checkedAt ? pythonIsoUtc(h.checkedAt) : null,
    check_ok: h.checkOk,
    check_message: h.checkMessage,
    updated_at: pythonIsoUtc(h.updatedAt),
  };
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidInput([{ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'model_type' }]);
  }
  return body as Record<string, unknown>;
}

function hostId(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  if (!/^\d{1,15}$/.test(raw)) throw invalidInput([{ loc: ['path', 'id'], msg: 'Input should be a valid integer', type: 'int_parsing' }]);
  return Number(raw);
}

/** `?limit=`: the page size, named as REST clients send it (the service calls it `first`). */
function pageSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw invalidInput([{ loc: ['query', 'limit'], msg: 'Input should be a valid integer', type: 'int_parsing' }]);
  const n = Number(value);
  if (n < 1 || n > MAX_POOL_PAGE) throw invalidInput([{ loc: ['query', 'limit'], msg: `must be from 1 to ${MAX_POOL_PAGE}`, type: 'int_range' }]);
  return n;
}

/** snake_case hosts of a body to the service's shape; anything else is passed on for it to refuse. */
function newHosts(body: Record<string, unknown>): unknown {
  if (!Array.isArray(body.hosts)) return body.hosts;
  return body.hosts.map((h: unknown) => {
    if (typeof h !== 'object' || h === null || Array.isArray(h)) return h;
    const host = h as Record<string, unknown>;
    return { vmName: host.vm_name, ipAddress: host.ip_address, infra: host.infra };
  });
}

export function registerPoolRoutes(app: FastifyInstance, services: Services): void {
  const { poolAdmin } = services;
  // Access first: a user or a caller without a token is refused before the path or query is read.
  const adminOf = async (request: FastifyRequest) => requireAdmin(await callerOf(services, request));

  app.get('/api/admin/pool', async (request) => {
    const caller = await adminOf(request);
    const q = request.query as Record<string, string | undefined>;
    const page = await poolAdmin.list(services.sqlDb, caller, {
      first: pageSize(q.limit),
      after: q.after || null,
      infra: (q.infra || null) as InfraType | null,
      status: (q.status || null) as HostStatus | null,
      search: q.search ?? null,
    });
    return { hosts: page.items.map(hostShape), total_count: page.totalCount, has_more: page.hasNextPage, next_after: page.hasNextPage ? page.endCursor : null };
  });

  app.post('/api/admin/pool', async (request) => {
    const caller = await adminOf(request);
    const added = await poolAdmin.add(services.sqlDb, caller, newHosts(objectBody(request.body)));
    return { status: 'success', message: `${added.length} hosts added`, hosts: added.map(hostShape) };
  });

  app.post('/api/admin/pool/check', async (request) => {
    const caller = await adminOf(request);
    const hosts = await poolAdmin.check(services.sqlDb, caller, objectBody(request.body).ids);
    return { hosts: hosts.map(hostShape) };
  });

  app.delete('/api/admin/pool/:id', async (request) => {
    const caller = await adminOf(request);
    const host = await poolAdmin.remove(services.sqlDb, caller, hostId(request));
    return { status: 'success', message: `Host ${host.vmName} (${host.ipAddress}) removed`, host: hostShape(host) };
  });

  app.post('/api/admin/pool/:id/drain', async (request) => {
    const caller = await adminOf(request);
    return { host: hostShape(await poolAdmin.drain(services.sqlDb, caller, hostId(request))) };
  });

  app.post('/api/admin/pool/:id/undrain', async (request) => {
    const caller = await adminOf(request);
    return { host: hostShape(await poolAdmin.undrain(services.sqlDb, caller, hostId(request))) };
  });

  app.post('/api/admin/pool/:id/reset-host-key', async (request) => {
    const caller = await adminOf(request);
    return { host: hostShape(await poolAdmin.resetHostKey(services.sqlDb, caller, hostId(request))) };
  });
}
