/**
 * Who is calling a REST route, settled before anything of the request is validated or read:
 * a route that needs a signed-in caller has {@link authenticated} (or {@link adminOnly}) as its
 * preValidation hook, after the body is parsed and the input hygiene has run, before the
 * schema's validation and the handler. A caller without a valid token is answered 401 whatever
 * else the request gets wrong; the handler reads the caller with {@link callerFor}.
 */
import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { unauthenticated } from '../services/errors.js';
import type { Services } from '../services/index.js';
import type { Principal } from '../services/principal.js';
import { requireAdmin } from '../services/settings.js';
import { bearerToken } from '../services/tokens.js';

const callers = new WeakMap<object, Principal>();

/** The caller of the request's bearer token (401 without a valid one). */
export async function callerOf(services: Services, request: FastifyRequest): Promise<Principal> {
  const token = bearerToken(request.headers.authorization);
  if (!token) throw unauthenticated('Not authenticated');
  return services.sessions.authenticate(token, request.ip);
}

/** preValidation hook: a signed-in caller. */
export function authenticated(services: Services): preValidationAsyncHookHandler {
  return async (request) => {
    callers.set(request, await callerOf(services, request));
  };
}

/** preValidation hook: an admin (403 for anyone else), before the path or the query is read. */
export function adminOnly(services: Services): preValidationAsyncHookHandler {
  return async (request) => {
    callers.set(request, requireAdmin(await callerOf(services, request)));
  };
}

/** The caller its route's hook settled. */
export function callerFor(request: Pick<FastifyRequest, 'method' | 'url'>): Principal {
  const caller = callers.get(request);
  if (!caller) throw new Error(`${request.method} ${request.url} reads its caller without an authentication hook`);
  return caller;
}
