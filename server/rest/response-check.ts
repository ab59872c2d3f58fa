/**
 * A check for tests: every answer serialized by its route's response schema (fast-json-stringify,
 * which writes only the fields a schema declares and coerces values to the declared types) must
 * say exactly what `JSON.stringify` of the handler's value says. A field missing from a schema,
 * a null declared as a string, a fraction declared as an integer: each fails the request with a
 * 500 naming the route, the status and the first difference, so a suite that meets it fails.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';

/** The first place where two JSON values differ, as a path, or undefined when they are equal. */
export function firstDifference(expected: unknown, actual: unknown, path = '$'): string | undefined {
  if (isDeepStrictEqual(expected, actual)) return undefined;
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null || Array.isArray(expected) !== Array.isArray(actual)) {
    return `${path}: ${JSON.stringify(expected)?.slice(0, 80)} was written as ${JSON.stringify(actual)?.slice(0, 80)}`;
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    const inner = firstDifference((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], Array.isArray(expected) ? `${path}[${key}]` : `${path}.${key}`);
    if (inner) return inner;
  }
  return `${path}: differs`;
}

export function checkResponseSerialization(http: FastifyInstance): void {
  http.addHook('preSerialization', async (request, reply, payload) => {
    if (!request.routeOptions.schema?.response) return payload;
    const written = JSON.parse(reply.serialize(payload) as string) as unknown;
    const meant = JSON.parse(JSON.stringify(payload)) as unknown;
    const difference = firstDifference(meant, written);
    if (difference) {
      throw new Error(`${request.method} ${request.routeOptions.url} answered ${reply.statusCode} with a value its response schema does not describe: ${difference}`);
    }
    return payload;
  });
}
