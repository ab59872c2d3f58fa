/**
 * Input no part of the server can handle is refused at the edge, before any handler:
 *
 * - Lone UTF-16 surrogates: they would be stored as U+FFFD, so what was saved (a password, a
 *   secret) would differ from what was sent.
 * - U+0000 (NUL): no database here can take it. PostgreSQL refuses it in text and in its
 *   protocol, and MikroORM's SQLite driver inlines values into the SQL, which SQLite cuts at the
 *   NUL. A string holding one used to reach the services (a login name, a sign-up's full name, a
 *   setting, an audit filter, the audit record of a refused order) and end in a 500.
 * - Nesting deeper than {@link MAX_INPUT_DEPTH}: JSON.parse takes 100 000 levels within the body
 *   limit, but the services' recursive code (Array#toString of a bad value in an error message,
 *   JSON.stringify of an order's config for the database) overflowed the stack: a 500 again.
 *
 * REST bodies, query strings and path parameters are checked here; GraphQL variables (HTTP and
 * graphql-ws) in graphql/limits.ts; GraphQL string literals by {@link noNulStringsRule} (the
 * token limit already bounds how deep a literal can nest).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError, type ValidationRule } from 'graphql';
import { invalidInput } from './services/errors.js';

const NUL = '\u0000';

/** Deepest nesting of objects and arrays accepted in a body or in GraphQL variables. */
export const MAX_INPUT_DEPTH = 32;

export interface InputProblem {
  /** Where, from the root of the value. */
  path: (string | number)[];
  msg: string;
  type: string;
}

export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
export const SURROGATE_MESSAGE = 'must be well-formed Unicode (no lone surrogate)';

/** A string every layer stores as sent: no NUL, no lone UTF-16 surrogate (which would become U+FFFD). */
function stringProblem(v: string): { msg: string; type: string } | undefined {
  if (v.includes(NUL)) return { msg: NUL_MESSAGE, type: 'string_type' };
  if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) return { msg: SURROGATE_MESSAGE, type: 'string_unicode' };
  return undefined;
}
export const DEPTH_MESSAGE = `is nested too deeply (at most ${MAX_INPUT_DEPTH} levels)`;

/**
 * The first string (value or key) holding U+0000, or the first object or array nested deeper
 * than {@link MAX_INPUT_DEPTH}, in a parsed JSON value; undefined when there is none.
 * Iterative, so it never overflows the stack itself.
 */
export function findInputProblem(value: unknown): InputProblem | undefined {
  interface Entry {
    value: unknown;
    key: string | number | undefined;
    parent: Entry | undefined;
    depth: number;
  }
  const pathOf = (entry: Entry): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let e: Entry | undefined = entry; e && e.key !== undefined; e = e.parent) path.push(e.key);
    return path.reverse();
  };
  const stack: Entry[] = [{ value, key: undefined, parent: undefined, depth: 0 }];
  while (stack.length) {
    const entry = stack.pop()!;
    const v = entry.value;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return { path: pathOf(entry), ...problem };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const depth = entry.depth + 1;
    if (depth > MAX_INPUT_DEPTH) return { path: pathOf(entry), msg: DEPTH_MESSAGE, type: 'too_deep' };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push({ value: v[i], key: i, parent: entry, depth });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const child: Entry = { value: (v as Record<string, unknown>)[keys[i]], key: keys[i], parent: entry, depth };
        const problem = stringProblem(keys[i]);
        if (problem) return { path: pathOf(child), ...problem };
        stack.push(child);
      }
    }
  }
  return undefined;
}

/**
 * Refuses a REST request whose body, query string or path parameters hold U+0000 or nest too
 * deeply, with a 422 at the field, before authentication and the handler. (/graphql answers in
 * GraphQL's shape from graphql/limits.ts, once Apollo has decoded the variables, which a GET
 * sends as JSON text.)
 */
export function registerInputHygiene(http: FastifyInstance): void {
  http.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.url.startsWith('/graphql')) return;
    for (const [where, value] of [['body', request.body], ['query', request.query], ['path', request.params]] as const) {
      const problem = findInputProblem(value);
      if (problem) throw invalidInput([{ loc: [where, ...problem.path], msg: problem.msg, type: problem.type }]);
    }
  });
}

/** GraphQL string literals (`"a\u0000b"` is a valid GraphQL escape) may not hold U+0000 either. */
export const noNulStringsRule: ValidationRule = (context) => ({
  StringValue(node) {
    if (node.value.includes(NUL)) {
      context.reportError(new GraphQLError(`String values ${NUL_MESSAGE}.`, { nodes: [node], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
    }
  },
});
