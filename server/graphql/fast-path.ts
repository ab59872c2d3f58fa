/**
 * The fast path for GraphQL queries over HTTP that already ran: a POST whose query text and
 * operation name Apollo has already parsed, validated and executed here as a compiled query
 * (graphql/executor.ts) is answered by running that compiled query directly, without Apollo's
 * request pipeline. Anything else goes to Apollo, which stays the reference: the fast path only
 * answers where Apollo would have answered the same bytes, and hands every other request on.
 *
 * Why: Apollo's pipeline per request (plugin hooks, a SHA-256 of the query text for its
 * document store, header maps, content negotiation, the gateway request context) cost more
 * than the query's execution and read together (docs/BENCHMARKS.md). For a query that ran
 * before, none of it changes the answer: the document is the one Apollo validated, the
 * operation the one it chose, and the rest is checked here again per request.
 *
 * A request is answered here only when all of this holds; otherwise it goes to Apollo as is:
 * - POST with a JSON body (Content-Type application/json, which also passes Apollo's CSRF
 *   check) that is one operation (no batch): `query` a string, `operationName` absent, null or
 *   a string, `variables` absent, null or an object, `extensions` absent or null (so no
 *   persisted query);
 * - the same text and operation name already ran compiled through Apollo, and it is a query
 *   (mutations always go through Apollo);
 * - the `Accept` header is absent, or a value Apollo already answered a query for (its content
 *   type is then known: {@link learnAccept});
 * - the variables pass the same checks as in Apollo (input hygiene, complexity: graphql/limits.ts)
 *   and graphql-js's coercion (as in the executor).
 * Then the context is built (the caller is authenticated) and the compiled query runs. When the
 * context cannot be built, or the query answers with errors, the request still goes to Apollo,
 * with the context's outcome and the execution's result handed on, so that nothing is run
 * twice and Apollo formats the errors and chooses the status as always.
 *
 * A successful answer is what Apollo would write: status 200, `cache-control: no-store` (the
 * no-store plugin), the negotiated content type, and `JSON.stringify` of `{errors, data,
 * extensions}` with a line feed. Fastify's hooks (security headers, CORS, request timing,
 * compression) run for both paths alike. tests/integration/graphql-fast-path.test.ts sends
 * every request to a server with the fast path and one without and compares status, headers
 * and bodies byte for byte.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getVariableValues, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { isPromise } from 'node:util/types';
import { PRECOMPUTED, type CompiledExecution, type Precomputed } from './executor.js';
import { complexityError, variablesError } from './limits.js';

/** Apollo's content type for a single result when the request has no `Accept` header. */
export const DEFAULT_CONTENT_TYPE = 'application/json; charset=utf-8';
/** `Accept` values whose content type is remembered (the client chooses them). */
const MAX_ACCEPT_VALUES = 32;
const JSON_BODY = /^application\/json[\t ]*(?:;|$)/i;

export interface FastPathOptions<TContext> {
  execution: CompiledExecution;
  schema: GraphQLSchema;
  maxComplexity: number;
  /** The same context function the route gives Apollo. */
  context: (request: FastifyRequest) => Promise<TContext>;
}

/** What the route hands Apollo after the fast path declined: the context it already built, if any. */
export interface HandOn<TContext> {
  context?: () => Promise<TContext>;
}

interface Body {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

export class GraphQLFastPath<TContext extends object> {
  /** Content types Apollo answered with, by `Accept` value. */
  private readonly contentTypes = new Map<string, string>();

  constructor(private readonly options: FastPathOptions<TContext>) {}

  /**
   * Answers the request (the body to send; headers and status are set on `reply`), or returns
   * what Apollo needs to take it over.
   */
  async answer(request: FastifyRequest, reply: FastifyReply): Promise<string | HandOn<TContext>> {
    if (request.method !== 'POST') return {};
    const body = request.body as Body | null | undefined;
    if (!isRecord(body)) return {};
    const { query, operationName, variables } = body as Body;
    if (typeof query !== 'string') return {};
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return {};
    if (variables !== undefined && variables !== null && !isRecord(variables)) return {};
    if (body.extensions !== undefined && body.extensions !== null) return {};
    const contentType = request.headers['content-type'];
    if (typeof contentType !== 'string' || !JSON_BODY.test(contentType)) return {};
    const accept = request.headers.accept;
    const answerType = accept ? this.contentTypes.get(accept) : DEFAULT_CONTENT_TYPE;
    if (answerType === undefined) return {};
    const { execution, schema, maxComplexity } = this.options;
    const name = typeof operationName === 'string' ? operationName : undefined;
    const known = execution.knownQuery(query, name);
    if (!known) return {};
    const values = isRecord(variables) ? variables : undefined;
    if (variablesError(values) ?? complexityError(schema, known.document, maxComplexity, values, name)) return {};
    if (known.operation.variableDefinitions?.length && getVariableValues(schema, known.operation.variableDefinitions, values ?? {}, { maxErrors: 50 }).errors) return {};

    let context: TContext;
    try {
      context = await this.options.context(request);
    } catch (err) {
      return { context: () => Promise.reject(err) };
    }
    let outcome: Precomputed['outcome'];
    try {
      const run = execution.runKnown(known, context, values ?? {});
      const result: ExecutionResult = isPromise(run) ? await run : run;
      if (result.data === undefined) return { context: () => Promise.resolve(context) };
      if (!result.errors?.length) {
        void reply.header('cache-control', 'no-store');
        void reply.header('content-type', answerType);
        void reply.code(200);
        return `${JSON.stringify({ errors: undefined, data: result.data, extensions: result.extensions })}\n`;
      }
      outcome = { result };
    } catch (thrown) {
      outcome = { thrown };
    }
    const precomputed: Precomputed = { source: query, operationName: name ?? '', outcome };
    Object.assign(context, { [PRECOMPUTED]: precomputed });
    return { context: () => Promise.resolve(context) };
  }

  /**
   * Remembers the content type Apollo answered a POST with for an `Accept` value (from a 200
   * answer of Apollo's: its negotiation between JSON and graphql-response+JSON).
   */
  learnAccept(accept: string | undefined, contentType: string | undefined): void {
    if (!accept || contentType === undefined || this.contentTypes.has(accept)) return;
    if (this.contentTypes.size >= MAX_ACCEPT_VALUES) return;
    this.contentTypes.set(accept, contentType);
  }
}
