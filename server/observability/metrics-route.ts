/**
 * `GET /metrics` and who may read it: with METRICS_TOKEN set, only `Authorization: Bearer
 * <METRICS_TOKEN>` (an account's access token is no scrape token); anything else is 401 with
 * `WWW-Authenticate: Bearer`. Without a token (development and test only; see config) it is open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { METRICS_SCHEMA } from '../rest/schemas/platform.schema.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Whether an Authorization header carries `token` as a bearer token. Compares SHA-256 digests
 * with timingSafeEqual, so the time taken tells neither the token's content nor its length.
 */
export function bearerMatcher(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = authorization === undefined ? null : /^Bearer +(\S+) *$/i.exec(authorization);
    // Always one comparison, also without a header, so a missing token takes as long as a wrong one.
    return timingSafeEqual(digest(match ? match[1] : ''), expected) && match !== null;
  };
}

export function registerMetricsRoute(http: FastifyInstance, registry: Registry, token: string | undefined): void {
  const authorized = token === undefined ? () => true : bearerMatcher(token);
  http.get('/metrics', { schema: METRICS_SCHEMA }, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    if (!authorized(request.headers.authorization)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Not authenticated' });
    }
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}
