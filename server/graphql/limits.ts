/**
 * Limits every GraphQL operation must pass before any resolver runs, over HTTP (Apollo) and
 * over WebSocket (graphql-ws) alike. All numbers come from `config.graphql`:
 *
 * - tokens     (`maxTokens`):     the parser gives up past this many tokens (HTTP: Apollo's
 *                                 `parseOptions`; WebSocket: {@link checkOperation}).
 * - depth      (`maxDepth`):      how deeply fields nest, fragments followed ({@link maxDepthRule}).
 * - aliases    (`maxAliases`):    aliased fields per operation, fragments counted once per spread
 *                                 ({@link maxAliasesRule}); one alias is one more resolver call, so
 *                                 this is what stops "100 logins in one request".
 * - complexity (`maxComplexity`): an estimate of the work, from graphql-query-complexity: every
 *                                 field costs 1, and a paged field costs its page size times the
 *                                 cost of one item ({@link pagedComplexity}); needs the variables,
 *                                 so it runs after validation ({@link operationLimitsPlugin}).
 *
 * Depth, alias and complexity refusals answer 400 with `extensions.code` GRAPHQL_VALIDATION_FAILED
 * and a message that names the limit; too many tokens is a GRAPHQL_PARSE_FAILED 400. Besides the
 * limits: variables and string literals holding U+0000 or nested too deeply are refused
 * (input-hygiene.ts), and over HTTP a document with a subscription ({@link isHttpSubscription}).
 * Batching stays off and CSRF prevention on (Apollo); the body size is Fastify's `bodyLimit`
 * over HTTP and the WebSocket server's `maxPayload` over graphql-ws (server/app.ts).
 */
import { createRequire } from 'node:module';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { findInputProblem, noNulStringsRule } from '../input-hygiene.js';
import { withoutSuggestions } from './errors.js';

// The package's ESM build imports `graphql/index.mjs`, a second copy of graphql next to the
// CommonJS one type-graphql and Apollo load, and graphql refuses schemas from "another realm".
// Its CommonJS build shares our copy.
const requireCjs = createRequire(import.meta.url);
const { getComplexity, fieldExtensionsEstimator, simpleEstimator } = requireCjs('graphql-query-complexity') as typeof import('graphql-query-complexity');

export interface GraphQLLimits {
  maxDepth: number;
  maxAliases: number;
  maxComplexity: number;
  maxTokens: number;
}

export const LIMIT_ERROR_CODE = 'GRAPHQL_VALIDATION_FAILED';

function limitError(message: string, nodes?: OperationDefinitionNode): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code: LIMIT_ERROR_CODE, http: { status: 400 } } });
}

function operationLabel(operation: OperationDefinitionNode): string {
  return operation.name ? `Operation "${operation.name.value}"` : 'The operation';
}

/**
 * Walks selection sets through fragments. Each fragment is measured once per flag value
 * (memoised), so nested spreads cost linear time however often they are repeated, and a
 * fragment cycle (reported by graphql's own NoFragmentCycles rule) counts as empty.
 */
function fragmentWalker<T>(
  context: ValidationContext,
  measure: (set: SelectionSetNode, flag: boolean, spread: (name: string, flag: boolean) => T) => T,
  empty: T,
) {
  const memo = new Map<string, T>();
  const active = new Set<string>();
  const spread = (name: string, flag: boolean): T => {
    const key = `${flag ? 1 : 0}:${name}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const fragment: FragmentDefinitionNode | null | undefined = context.getFragment(name);
    if (!fragment || active.has(key)) return empty;
    active.add(key);
    const value = measure(fragment.selectionSet, flag, spread);
    active.delete(key);
    memo.set(key, value);
    return value;
  };
  return (set: SelectionSetNode, flag = false) => measure(set, flag, spread);
}

const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * Field nesting depth of each operation; top-level fields are depth 1. Under `__schema` or
 * `__type`, `ofType` does not count: it walks a type's wrappers (non-null, list), a chain of
 * at most a few objects, and the standard introspection query nests it nine times.
 */
export function maxDepthRule(maxDepth: number): ValidationRule {
  return (context) => {
    const depthOf = fragmentWalker<number>(
      context,
      function measure(set, introspection, spread): number {
        let deepest = 0;
        for (const selection of set.selections) {
          let depth = 0;
          if (selection.kind === Kind.FIELD) {
            const name = selection.name.value;
            const inside = introspection || INTROSPECTION_ROOTS.has(name);
            const own = inside && name === 'ofType' ? 0 : 1;
            depth = own + (selection.selectionSet ? measure(selection.selectionSet, inside, spread) : 0);
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            depth = measure(selection.selectionSet, introspection, spread);
          } else {
            depth = spread(selection.name.value, introspection);
          }
          if (depth > deepest) deepest = depth;
        }
        return deepest;
      },
      0,
    );
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet);
        if (depth > maxDepth) {
          context.reportError(limitError(`${operationLabel(operation)} nests fields ${depth} deep; the maximum depth is ${maxDepth}.`, operation));
        }
      },
    };
  };
}

/** Aliased fields per operation; a fragment's aliases count once for every spread of it. */
export function maxAliasesRule(maxAliases: number): ValidationRule {
  return (context) => {
    const aliasesOf = fragmentWalker<number>(
      context,
      function measure(set, flag, spread): number {
        let count = 0;
        for (const selection of set.selections) {
          if (selection.kind === Kind.FIELD) {
            if (selection.alias) count += 1;
            if (selection.selectionSet) count += measure(selection.selectionSet, flag, spread);
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            count += measure(selection.selectionSet, flag, spread);
          } else {
            count += spread(selection.name.value, flag);
          }
        }
        return count;
      },
      0,
    );
    return {
      OperationDefinition(operation) {
        const count = aliasesOf(operation.selectionSet);
        if (count > maxAliases) {
          context.reportError(limitError(`${operationLabel(operation)} uses ${count} aliases; the maximum alias count is ${maxAliases}.`, operation));
        }
      },
    };
  };
}

/** Refuses `__schema` and `__type` (production, WebSocket; Apollo has its own for HTTP). */
export const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    if (INTROSPECTION_ROOTS.has(node.name.value)) {
      context.reportError(new GraphQLError('GraphQL introspection is not allowed on this server.', { nodes: [node], extensions: { code: LIMIT_ERROR_CODE } }));
    }
  },
});

/** Our rules, to run next to graphql's `specifiedRules`: depth, aliases, no U+0000 in string literals. */
export function limitRules(limits: Pick<GraphQLLimits, 'maxDepth' | 'maxAliases'>): ValidationRule[] {
  return [maxDepthRule(limits.maxDepth), maxAliasesRule(limits.maxAliases), noNulStringsRule];
}

/** The refusal for variables holding U+0000 or nested too deeply (see input-hygiene.ts), or undefined. */
export function variablesError(variables: unknown): GraphQLError | undefined {
  const problem = findInputProblem(variables);
  if (!problem) return undefined;
  return new GraphQLError(`Variable $${problem.path.join('.')} ${problem.msg}.`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

/**
 * type-graphql `complexity` for a paged field: 1 + page size × the cost of one item. The page
 * size is the `sizeArg` argument (its default when left out), at least 1, at most `cap` when the
 * server never returns more than that. The page type's list fields cost only their items
 * ({@link ITEMS}) and its bookkeeping fields nothing ({@link BOOKKEEPING}), so "one item" is
 * what the caller selects on each element.
 */
export function pagedComplexity(sizeArg: string, cap = Number.POSITIVE_INFINITY) {
  return ({ args, childComplexity }: ComplexityEstimatorArgs): number => {
    const asked = Number(args[sizeArg]);
    const size = Number.isFinite(asked) ? Math.min(Math.max(1, Math.trunc(asked)), cap) : 1;
    return 1 + size * Math.max(1, childComplexity);
  };
}

/** type-graphql `complexity` for a page's list of items (edges, nodes, events, entries): only the items' fields cost. */
export const ITEMS = 0;

/** type-graphql `complexity` for a page's bookkeeping (pageInfo, hasMore, lastSeq, nextBefore): free. */
export const BOOKKEEPING = (): number => 0;

const estimators = [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })];

/**
 * The complexity refusal for an operation, or undefined when it is within `maxComplexity`.
 * Variables that do not fit the operation are left to execution, which refuses them before
 * any resolver runs.
 */
/**
 * Complexities already measured, per parsed document (Apollo keeps one DocumentNode per query
 * text in its document store) and per schema, operation name and numeric variables: the console
 * sends the same few operations over and over, and measuring walks the whole document. Only a
 * page size changes a complexity ({@link pagedComplexity}, an Int argument), so variables that
 * are neither numbers nor null (an order's whole input) are left out of the key rather than
 * written out as JSON for every request.
 */
const measured = new WeakMap<DocumentNode, WeakMap<GraphQLSchema, Map<string, number>>>();
const MEASURED_PER_DOCUMENT = 64;

function measuredComplexity(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName: string | undefined): number {
  let key = operationName ?? '';
  for (const name in variables) {
    const value = variables[name];
    // null too: an explicit null size is measured differently from a left-out one (its default).
    if (typeof value === 'number' || value === null) key += `\u0000${name}=${value}`;
  }
  let bySchema = measured.get(document);
  if (!bySchema) {
    bySchema = new WeakMap();
    measured.set(document, bySchema);
  }
  let known = bySchema.get(schema);
  if (!known) {
    known = new Map();
    bySchema.set(schema, known);
  }
  const hit = known.get(key);
  if (hit !== undefined) return hit;
  const complexity = getComplexity({ schema, query: document, estimators, variables, operationName });
  if (known.size >= MEASURED_PER_DOCUMENT) known.delete(known.keys().next().value!);
  known.set(key, complexity);
  return complexity;
}

export function complexityError(
  schema: GraphQLSchema,
  document: DocumentNode,
  maxComplexity: number,
  variables?: Record<string, unknown> | null,
  operationName?: string | null,
): GraphQLError | undefined {
  let complexity: number;
  try {
    complexity = measuredComplexity(schema, document, variables ?? {}, operationName ?? undefined);
  } catch (err) {
    if (err instanceof GraphQLError && !/maximum allowed number of nodes/i.test(err.message)) return undefined;
    return limitError(`The operation is too large to measure; the maximum complexity is ${maxComplexity}.`);
  }
  if (complexity > maxComplexity) {
    return limitError(`The operation has complexity ${complexity}; the maximum complexity is ${maxComplexity}.`);
  }
  return undefined;
}

export const SUBSCRIPTION_OVER_HTTP = 'Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql, not over HTTP.';

/**
 * Whether an HTTP request's `query` holds a subscription, which is refused (400) before Apollo
 * sees it (graphql/http.ts). Over HTTP the subscription's field would run without its event (a
 * crash), and graphql 16's own SingleFieldSubscriptionsRule throws, rather than reporting, on
 * `@include(if: $var)` at a subscription's root (a 500 from validation). A text that does not
 * parse is left to Apollo, which answers the syntax error.
 */
export function isHttpSubscription(query: unknown, maxTokens: number): boolean {
  if (typeof query !== 'string' || !query.includes('subscription')) return false;
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens });
  } catch {
    return false;
  }
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription');
}

/** Apollo plugin, once the operation is parsed and validated: checks the variables and measures complexity. */
export function operationLimitsPlugin(schema: GraphQLSchema, maxComplexity: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const error = variablesError(request.variables) ?? complexityError(schema, document, maxComplexity, request.variables, request.operationName);
          if (error) throw error;
        },
      };
    },
  };
}

/**
 * What graphql-ws runs for every `subscribe` message: the same token, validation, depth,
 * alias and complexity checks as HTTP. Returns the document, or the errors that refuse it.
 */
export function checkOperation(
  schema: GraphQLSchema,
  limits: GraphQLLimits,
  payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
  options: { introspection: boolean; suggestions: boolean },
): { document: DocumentNode } | { errors: GraphQLError[] } {
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: limits.maxTokens });
  } catch (err) {
    const error = err instanceof GraphQLError ? err : new GraphQLError(String(err));
    return { errors: [new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
  }
  const rules = [...specifiedRules, ...limitRules(limits), ...(options.introspection ? [] : [noIntrospectionRule])];
  let invalid: readonly GraphQLError[];
  try {
    invalid = validate(schema, document, rules);
  } catch (err) {
    // graphql 16's SingleFieldSubscriptionsRule throws on `@include(if: $var)` at a subscription's root.
    if (!(err instanceof GraphQLError)) throw err;
    invalid = [err];
  }
  if (invalid.length) {
    return {
      errors: invalid.map((e) => {
        const message = options.suggestions ? e.message : withoutSuggestions(e.message);
        return new GraphQLError(message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions: { ...e.extensions, code: LIMIT_ERROR_CODE } });
      }),
    };
  }
  const refused = variablesError(payload.variables) ?? complexityError(schema, document, limits.maxComplexity, payload.variables, payload.operationName);
  if (refused) return { errors: [refused] };
  return { document };
}
