/**
 * `/api/admin/pool`: the workload pool's hosts for admins — list, add, remove, drain and undrain,
 * reset a recorded host key, check reachability. Translates to the same service GraphQL uses;
 * errors are FastAPI-shaped (rest/errors.ts), a held host's removal is 409. The schemas
 * (schemas/pool.schema.ts) write the answers and validate the host id of the path.
 */
import type { FastifyInstance } from 'fastify';
import { invalidInput } from '../services/errors.js';
import type { Services } from '../services/index.js';
import { MAX_POOL_PAGE } from '../services/pool-admin.js';
import type { PoolHostView } from '../services/pool-hosts.js';
import type { HostStatus, InfraType } from '../entities/index.js';
import { adminOnly, callerFor } from './caller.js';
import {
  ADD_POOL_SCHEMA,
  CHECK_POOL_SCHEMA,
  DRAIN_SCHEMA,
  LIST_POOL_SCHEMA,
  REMOVE_POOL_HOST_SCHEMA,
  RESET_HOST_KEY_SCHEMA,
  UNDRAIN_SCHEMA,
} from './schemas/pool.schema.js';
import type { SchemaTypeProvider } from './schemas/static.js';
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

/** The path's host id, a whole number by its schema. */
const hostId = (request: { params: { id: string } }) => Number(request.params.id);

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

export function registerPoolRoutes(http: FastifyInstance, services: Services): void {
  const app = http.withTypeProvider<SchemaTypeProvider>();
  const { poolAdmin } = services;
  // Access first: a user or a caller without a token is refused before the path or query is read.
  const admin = adminOnly(services);

  app.get('/api/admin/pool', { schema: LIST_POOL_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
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

  app.post('/api/admin/pool', { schema: ADD_POOL_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
    const added = await poolAdmin.add(services.sqlDb, caller, newHosts(objectBody(request.body)));
    return { status: 'success', message: `${added.length} hosts added`, hosts: added.map(hostShape) } as const;
  });

  app.post('/api/admin/pool/check', { schema: CHECK_POOL_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
    const hosts = await poolAdmin.check(services.sqlDb, caller, objectBody(request.body).ids);
    return { hosts: hosts.map(hostShape) };
  });

  app.delete('/api/admin/pool/:id', { schema: REMOVE_POOL_HOST_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
    const host = await poolAdmin.remove(services.sqlDb, caller, hostId(request));
    return { status: 'success', message: `Host ${host.vmName} (${host.ipAddress}) removed`, host: hostShape(host) } as const;
  });

  app.post('/api/admin/pool/:id/drain', { schema: DRAIN_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
    return { host: hostShape(await poolAdmin.drain(services.sqlDb, caller, hostId(request))) };
  });

  app.post('/api/admin/pool/:id/undrain', { schema: UNDRAIN_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
    return { host: hostShape(await poolAdmin.undrain(services.sqlDb, caller, hostId(request))) };
  });

  app.post('/api/admin/pool/:id/reset-host-key', { schema: RESET_HOST_KEY_SCHEMA, preValidation: admin }, async (request) => {
    const caller = callerFor(request);
    return { host: hostShape(await poolAdmin.resetHostKey(services.sqlDb, caller, hostId(request))) };
  });
}
