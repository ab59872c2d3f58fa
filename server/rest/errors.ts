/**
 * The one REST error handler: domain errors and Fastify's own request errors become the
 * original's FastAPI shapes (`{"detail": ...}`, 422 with a `detail` list). Nothing else leaks:
 * an unexpected error is logged and answered as a plain 500 without a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { databaseUnavailableError, DomainError, type ErrorCode } from '../services/errors.js';
import { TooManyAttemptsError } from '../services/login-guard.js';
import { drainAfterRefusal } from '../http-early-refusal.js';

const STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 422,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  SERVICE_UNAVAILABLE: 503,
  TOO_MANY_REQUESTS: 429,
};

interface ErrorAnswer {
  status: number;
  body: { detail: unknown };
}

function fromDomain(err: DomainError): ErrorAnswer {
  if (err.code === 'BAD_USER_INPUT') {
    // A list of field problems is FastAPI's 422; a single refusal is its HTTPException(400).
    return err.issues.length > 0 ? { status: 422, body: { detail: err.issues } } : { status: 400, body: { detail: err.message } };
  }
  return { status: STATUS[err.code], body: { detail: err.message } };
}

function fromFastify(err: FastifyError, bodyLimit: number): ErrorAnswer | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { detail: `Request body too large (limit ${bodyLimit} bytes)` } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 422, body: { detail: [{ type: 'json_invalid', loc: ['body'], msg: `JSON decode error: ${err.message}` }] } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 422, body: { detail: [{ type: 'missing', loc: ['body'], msg: 'Field required' }] } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { detail: 'Unsupported media type: send application/json' } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { detail: 'Content-Length does not match the body' } };
  }
  if (err instanceof SyntaxError || (err as { type?: string }).type === 'entity.parse.failed') {
    return { status: 422, body: { detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] } };
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: { detail: err.message } };
  }
  return undefined;
}

export function restErrorAnswer(err: unknown, bodyLimit: number): ErrorAnswer | undefined {
  const domain = err instanceof DomainError ? err : databaseUnavailableError(err);
  if (domain) return fromDomain(domain);
  return fromFastify(err as FastifyError, bodyLimit);
}

export function makeErrorHandler(bodyLimit: number) {
  return function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    // A body refused before it was read (too large) is read and dropped, so the client reads the answer.
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') drainAfterRefusal(request, reply);
    const answer = restErrorAnswer(err, bodyLimit);
    const graphql = request.url.startsWith('/graphql');
    if (!answer) {
      request.log.error({ err }, 'unhandled error');
      const body = graphql ? { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] } : { detail: 'Internal Server Error' };
      return reply.status(500).send(body);
    }
    if (answer.status === 401) reply.header('www-authenticate', 'Bearer');
    if (err instanceof TooManyAttemptsError) reply.header('retry-after', String(err.retryAfterSeconds));
    const unavailable = databaseUnavailableError(err);
    if (unavailable) reply.header('retry-after', String(unavailable.retryAfterSeconds));
    if (graphql) {
      // GraphQL clients read GraphQL-shaped errors, even when the body never reached Apollo.
      const message = typeof answer.body.detail === 'string' ? answer.body.detail : 'Malformed request body';
      return reply.status(answer.status === 422 ? 400 : answer.status).send({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
    }
    return reply.status(answer.status).send(answer.body);
  };
}
