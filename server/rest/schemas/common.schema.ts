/**
 * What every route's schema shares: the FastAPI-shaped errors (defined once, components of the
 * OpenAPI document), the error answers by status, the security requirements, and the formats
 * the old contract writes (Python's ISO timestamps).
 */
import { ref } from './static.js';

/** Every error but a validation error: `{"detail": "..."}`. */
export const DETAIL = {
  $id: 'Detail',
  title: 'Detail',
  description: 'An error as FastAPI answers it: what went wrong, in words.',
  type: 'object',
  properties: { detail: { type: 'string' } },
  required: ['detail'],
} as const;

export const VALIDATION_ISSUE = {
  $id: 'ValidationIssue',
  title: 'ValidationIssue',
  description: 'One problem with the request: where (`loc`: body, query, path or header, then the field path), what (`msg`) and its kind (`type`).',
  type: 'object',
  properties: {
    loc: { type: 'array', items: { type: ['string', 'integer'] }, examples: [['body', 'serviceName']] },
    msg: { type: 'string', examples: ['Field required'] },
    type: { type: 'string', examples: ['missing'] },
    ctx: {
      type: 'object',
      additionalProperties: true,
      description: 'Values the message speaks of (pydantic\'s `ctx`); on the `too_many_errors` entry that ends a long list: `{"more": <problems left out>}`',
      properties: { more: { type: 'integer' } },
    },
  },
  required: ['loc', 'msg', 'type'],
} as const;

/** FastAPI's 422: every problem of the request at once. */
export const VALIDATION_ERROR = {
  $id: 'ValidationError',
  title: 'ValidationError',
  description: 'Invalid input or malformed JSON (FastAPI\'s 422): every problem found, each with its location.',
  type: 'object',
  properties: { detail: { type: 'array', items: ref(VALIDATION_ISSUE) } },
  required: ['detail'],
} as const;

/** `created_at` and the other timestamps of the old contract: ISO 8601 with microseconds, no zone (UTC). */
export const PYTHON_TIMESTAMP = {
  type: 'string',
  description: 'UTC, ISO 8601 with microseconds and no zone, as Python writes it',
  pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}$',
  examples: ['2026-11-26T15:04:05.123456'],
} as const;

/** `{"message": "..."}` */
export const MESSAGE = {
  type: 'object',
  properties: { message: { type: 'string' } },
  required: ['message'],
} as const;

/** `{"status": "success", "message": "..."}` */
export const SUCCESS_MESSAGE = {
  type: 'object',
  properties: { status: { type: 'string', const: 'success' }, message: { type: 'string' } },
  required: ['status', 'message'],
} as const;

const RETRY_AFTER = { 'retry-after': { type: 'integer', description: 'Seconds to wait before trying again' } } as const;

/** What each error status means on this API, as the document tells it. */
const ERROR_ANSWERS = {
  400: { ...ref(DETAIL), description: 'Refused as a whole (for example: the name exists already).' },
  401: {
    ...ref(DETAIL),
    description: 'No valid bearer token (missing, expired, revoked or malformed): `{"detail": "Not authenticated"}` or the reason.',
    headers: { 'www-authenticate': { type: 'string', description: '`Bearer`' } },
  },
  403: { ...ref(DETAIL), description: 'Not allowed to this caller (for example: admins only, `{"detail": "관리자만 접근 가능합니다."}`).' },
  404: { ...ref(DETAIL), description: 'Not found (also for what belongs to another user): `{"detail": "Not Found"}` or the reason.' },
  409: { ...ref(DETAIL), description: 'Conflicts with the current state (wrong status, too few free hosts, over a quota or a portal limit).' },
  413: { ...ref(DETAIL), description: 'The body is larger than BODY_LIMIT_BYTES.' },
  415: { ...ref(DETAIL), description: 'The body is not JSON (`Content-Type` other than application/json).' },
  422: {
    ...ref(VALIDATION_ERROR),
    description: 'Invalid input or malformed JSON: every problem, each with `loc`, `msg` and `type` (on every path: a NUL character or nesting deeper than 32 levels anywhere in the request).',
  },
  429: { ...ref(DETAIL), description: 'Too many failed logins for this account or address.', headers: RETRY_AFTER },
  503: {
    ...ref(DETAIL),
    description: 'The database is unavailable (`{"detail": "Database unavailable"}`) or busy, or maintenance mode refuses new orders.',
    headers: RETRY_AFTER,
  },
} as const;

export type ErrorStatus = keyof typeof ERROR_ANSWERS;

/**
 * The error answers of a route, by status. Every REST route may answer 422: a NUL character or
 * nesting too deep anywhere in the body, the query or the path is refused before any handler
 * (input-hygiene.ts).
 */
export function errors<const S extends ErrorStatus>(...statuses: S[]): { [K in S | 422]: (typeof ERROR_ANSWERS)[K] } {
  return Object.fromEntries([...statuses, 422 as const].sort((a, b) => a - b).map((s: ErrorStatus) => [s, ERROR_ANSWERS[s]])) as { [K in S | 422]: (typeof ERROR_ANSWERS)[K] };
}

/** Errors every route with a JSON body can answer before its handler runs. */
export const BODY_ERRORS = [413, 415, 422] as const;

/** The security schemes of the document. */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The `access_token` of `POST /api/login` (or the GraphQL `login` mutation): `Authorization: Bearer <access_token>`.',
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: '`METRICS_TOKEN` of the server: `Authorization: Bearer <METRICS_TOKEN>` (no account\'s token). Without it set, `/metrics` is open in development and test and absent in production.',
  },
} as const;

/** A signed-in account's token. */
export const BEARER = [{ bearerAuth: [] }];
/** No authentication. */
export const PUBLIC = [];
/** The scrape token. */
export const SCRAPE = [{ metricsToken: [] }];

/** The components registered once with `addSchema` (the route schemas refer to them). */
export const COMMON_SCHEMAS = [DETAIL, VALIDATION_ISSUE, VALIDATION_ERROR];
