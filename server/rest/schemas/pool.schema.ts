/**
 * Schemas of `/api/admin/pool` (rest/pool-routes.ts). The host id in the path is validated by
 * the schema (after the caller is known to be an admin); lists and bodies by the service,
 * which reports every problem at once.
 */
import { HOST_STATUSES, INFRA_TYPES } from '../../entities/index.js';
import { MAX_HOSTS_PER_CHECK, MAX_POOL_PAGE } from '../../services/pool-admin.js';
import { BEARER, BODY_ERRORS, errors, PYTHON_TIMESTAMP } from './common.schema.js';
import { handlerValidated, ref } from './static.js';

const POOL = ['pool'];

export const POOL_HOST = {
  $id: 'PoolHost',
  title: 'PoolHost',
  description: 'A workload-pool host with its state, recorded host keys and last reachability check.',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    vm_name: { type: 'string' },
    ip_address: { type: 'string' },
    infra: { type: 'string', enum: INFRA_TYPES },
    status: { type: 'string', enum: HOST_STATUSES },
    project_id: { type: ['integer', 'null'], description: 'The project holding it' },
    owner: { type: ['string', 'null'] },
    drain_requested: { type: 'boolean', description: 'Drained while held: it becomes `drained` when its project gives it back' },
    host_key_set: { type: 'boolean' },
    host_key_fingerprints: { type: 'array', items: { type: 'string' }, description: '`<key type> SHA256:<fingerprint>` per recorded key' },
    checked_at: { ...PYTHON_TIMESTAMP, type: ['string', 'null'], description: 'The last reachability check; null before the first' },
    check_ok: { type: ['boolean', 'null'] },
    check_message: { type: ['string', 'null'] },
    updated_at: PYTHON_TIMESTAMP,
  },
  required: ['id', 'vm_name', 'ip_address', 'infra', 'status', 'project_id', 'owner', 'drain_requested', 'host_key_set', 'host_key_fingerprints', 'checked_at', 'check_ok', 'check_message', 'updated_at'],
} as const;

export const POOL_SCHEMAS = [POOL_HOST];

const HOST_LIST = { type: 'array', items: ref(POOL_HOST) } as const;
const ONE_HOST = { type: 'object', properties: { host: ref(POOL_HOST) }, required: ['host'] } as const;

/** The path's host id: a whole number (the service refuses 0 with its own message). */
const HOST_ID_PARAMS = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^\\d{1,15}$', description: 'The host\'s id', 'x-fastapi-error': { msg: 'Input should be a valid integer', type: 'int_parsing' } },
  },
  required: ['id'],
} as const;

/** A new host, as given in a body. */
const NEW_HOST = {
  type: 'object',
  properties: {
    vm_name: { type: 'string', description: 'Unique name' },
    ip_address: { type: 'string', description: 'Unique IPv4 or IPv6 address' },
    infra: { type: 'string', enum: INFRA_TYPES },
  },
  required: ['vm_name', 'ip_address', 'infra'],
} as const;

export const LIST_POOL_SCHEMA = {
  tags: POOL,
  operationId: 'poolHosts',
  summary: 'Pool hosts',
  description: 'Lowest id first, keyset-paginated: pass `next_after` as `after`.',
  security: BEARER,
  querystring: handlerValidated({
    type: 'object',
    properties: {
      limit: { type: 'string', pattern: '^\\d{1,9}$', description: `Page size from 1 to ${MAX_POOL_PAGE} (default 50)` },
      after: { type: 'string', description: 'Cursor: the `next_after` of the page before' },
      infra: { type: 'string', enum: INFRA_TYPES },
      status: { type: 'string', enum: HOST_STATUSES },
      search: { type: 'string', maxLength: 64, description: 'Part of the name, address, owner or project' },
    },
  }),
  response: {
    200: {
      description: 'A page of hosts and the count of every match',
      type: 'object',
      properties: { hosts: HOST_LIST, total_count: { type: 'integer' }, has_more: { type: 'boolean' }, next_after: { type: ['string', 'null'] } },
      required: ['hosts', 'total_count', 'has_more', 'next_after'],
    },
    ...errors(401, 403, 422, 503),
  },
} as const;

export const ADD_POOL_SCHEMA = {
  tags: POOL,
  operationId: 'addPoolHosts',
  summary: 'Add hosts',
  description: 'All or none: a 422 lists every problem (bad or duplicated names and addresses, ones the pool has).',
  security: BEARER,
  body: handlerValidated({ type: 'object', properties: { hosts: { type: 'array', minItems: 1, items: NEW_HOST } }, required: ['hosts'] }),
  response: {
    200: {
      description: 'Added',
      type: 'object',
      properties: { status: { type: 'string', const: 'success' }, message: { type: 'string' }, hosts: HOST_LIST },
      required: ['status', 'message', 'hosts'],
    },
    ...errors(401, 403, ...BODY_ERRORS, 503),
  },
} as const;

export const CHECK_POOL_SCHEMA = {
  tags: POOL,
  operationId: 'checkPoolHosts',
  summary: 'Check hosts\' reachability',
  description: 'An SSH login and a trivial command per host; a host key seen for the first time is recorded.',
  security: BEARER,
  body: handlerValidated({
    type: 'object',
    properties: { ids: { type: 'array', minItems: 1, maxItems: MAX_HOSTS_PER_CHECK, items: { type: 'integer', minimum: 1 } } },
    required: ['ids'],
  }),
  response: {
    200: { description: 'The hosts with their check results', type: 'object', properties: { hosts: HOST_LIST }, required: ['hosts'] },
    ...errors(401, 403, 404, ...BODY_ERRORS, 503),
  },
} as const;

export const REMOVE_POOL_HOST_SCHEMA = {
  tags: POOL,
  operationId: 'removePoolHost',
  summary: 'Remove a host',
  description: 'Only a host no project holds (else 409 naming the project).',
  security: BEARER,
  params: HOST_ID_PARAMS,
  response: {
    200: {
      description: 'Removed',
      type: 'object',
      properties: { status: { type: 'string', const: 'success' }, message: { type: 'string' }, host: ref(POOL_HOST) },
      required: ['status', 'message', 'host'],
    },
    ...errors(401, 403, 404, 409, 422, 503),
  },
} as const;

function hostAction(operationId: string, summary: string, description: string) {
  return {
    tags: POOL,
    operationId,
    summary,
    description,
    security: BEARER,
    params: HOST_ID_PARAMS,
    response: { 200: { ...ONE_HOST, description: 'The host now' }, ...errors(401, 403, 404, 409, 422, 503) },
  } as const;
}

export const DRAIN_SCHEMA = hostAction('drainPoolHost', 'Drain a host', 'A drained host is never given to an order; a held one is drained when its project gives it back.');
export const UNDRAIN_SCHEMA = hostAction('undrainPoolHost', 'Undrain a host', 'Back in service.');
export const RESET_HOST_KEY_SCHEMA = hostAction('resetPoolHostKey', 'Forget a host\'s recorded key', 'The next login records the key it sees.');
