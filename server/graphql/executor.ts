/**
 * How Apollo executes GraphQL operations over HTTP: an operation is compiled into plain
 * JavaScript (graphql-jit) at its `compileAfter`-th execution and runs compiled from then on;
 * until then it runs through graphql-js's `execute`, as Apollo would run it itself.
 *
 * Why: in the `project(id)` profiles graphql-js spent most of its time walking the query and
 * the schema again for every request (field collection, argument and variable coercion, value
 * completion field by field). A compiled query does that walk once. Measured in process, the
 * console's `HistoryProject` takes ~13 µs in graphql-js and ~2.3 µs compiled; a server under
 * load answers 1.10-1.15 × as many (docs/BENCHMARKS.md, session 6).
 *
 * What stays the same:
 * - Parsing, validation, the depth/alias/complexity limits and every plugin hook are still
 *   Apollo's; only the execution step is plugged in, through Apollo's gateway interface (the
 *   documented place for a custom executor).
 * - Variables are coerced by graphql-js first: a bad variable answers with graphql-js's
 *   errors, and so with Apollo's HTTP 400 and `BAD_USER_INPUT`, whichever path runs.
 * - Should a compiled query still refuse variables graphql-js accepted (the two coerce
 *   separately), the request runs through graphql-js instead; an operation that cannot be
 *   compiled at all always runs through graphql-js.
 * - A mutation with more than one root field always runs through graphql-js, which stops at
 *   the first failing one (see `compilable`).
 * - Field errors are handed to Apollo as graphql-js's errors (see `asGraphQLJsError`).
 *
 * Compiling costs 0.1–0.4 ms for the console's operations, so an operation is only compiled
 * once it repeats (by default at its second execution). A compiled operation holds ~26 KiB
 * (`HistoryProject`) to ~200 KiB (the standard introspection query), so at most
 * `maxOperations` (200) are kept, the least recently used dropped first; the console sends 31
 * kinds over HTTP. Subscriptions and anything else over graphql-ws are not affected: they run
 * through graphql-js (graphql/websocket.ts).
 *
 * A query (not a mutation) that ran compiled is also remembered by its text and operation name
 * ({@link CompiledExecution.knownQuery}), for as long as its compiled operation is kept: the
 * next requests with the same text and name are answered by graphql/fast-path.ts without
 * Apollo's pipeline, which hands back to Apollo what it cannot answer exactly as Apollo would
 * ({@link Precomputed}).
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import {
  execute,
  getVariableValues,
  GraphQLError,
  Kind,
  Source,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SourceLocation,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type Gateway = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;
type ExecutorContext = Parameters<Executor>[0];

export interface CompiledExecutionOptions {
  /** The execution of an operation at which it is compiled (GRAPHQL_COMPILE_AFTER): 1 = the first; 0 = never. */
  compileAfter: number;
  /** Compiled operations kept at most (least recently used dropped first). */
  maxOperations?: number;
  /** Told when an operation cannot be compiled (it keeps running through graphql-js). */
  onCompileError?: (operationName: string | null, error: unknown) => void;
}

interface Operation {
  executions: number;
  /** undefined: not compiled yet; null: cannot be compiled. */
  compiled: CompiledQuery | null | undefined;
  /** Set when the operation is dropped from the compiled ones (its known query goes with it). */
  dropped?: true;
}

/**
 * A query that ran compiled here through Apollo: its text was parsed and validated by Apollo,
 * the operation chosen from it by name, and the limits checked (graphql/fast-path.ts answers
 * it again without Apollo, for the same text and operation name).
 */
export interface KnownQuery {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly compiled: CompiledQuery;
  /** The operation's key among the compiled ones (Apollo's query hash and the operation name). */
  readonly key: string;
  readonly record: Operation;
}

/**
 * What graphql/fast-path.ts already did with a request it hands on to Apollo after all: the
 * compiled query's result (field errors, which Apollo formats), or what it threw. Apollo runs
 * the request as usual, and its execution step answers this instead of running the query a
 * second time. Carried on the request's context (Apollo copies the context's own properties).
 */
export interface Precomputed {
  readonly source: string;
  readonly operationName: string;
  readonly outcome: { result: ExecutionResult } | { thrown: unknown };
}

export const PRECOMPUTED: unique symbol = Symbol('hcmp.precomputedExecution');

/** How operations were executed since start (the tests read these). */
export interface ExecutionCounts {
  interpreted: number;
  compiled: number;
  /** Compiled queries that refused variables graphql-js accepted, and ran interpreted. */
  fellBack: number;
  compilations: number;
  compileErrors: number;
  /** Known queries run by graphql/fast-path.ts (not counted in `compiled`). */
  direct: number;
  /** Of those, the ones handed on to Apollo with their result (they ended in errors). */
  handedOn: number;
}

export class CompiledExecution {
  readonly counts: ExecutionCounts = { interpreted: 0, compiled: 0, fellBack: 0, compilations: 0, compileErrors: 0, direct: 0, handedOn: 0 };
  private readonly operations = new Map<string, Operation>();
  /** Queries that ran compiled, by query text, then operation name ('' for none). */
  private readonly known = new Map<string, Map<string, KnownQuery>>();
  private knownCount = 0;
  private readonly maxOperations: number;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly options: CompiledExecutionOptions,
  ) {
    if (!Number.isSafeInteger(options.compileAfter) || options.compileAfter < 0) throw new Error('compileAfter: a whole number, 0 or more');
    this.maxOperations = options.maxOperations ?? 200;
    if (!Number.isSafeInteger(this.maxOperations) || this.maxOperations < 1) throw new Error('maxOperations: a whole number, 1 or more');
  }

  /** How many operations are remembered (compiled or counted). */
  get size(): number {
    return this.operations.size;
  }

  /** The Apollo gateway that serves `schema` and executes with this. */
  gateway(): Gateway {
    const schema = this.schema;
    const executor: Executor = (request) => this.execute(request);
    return {
      load: async () => ({ schema, executor }),
      onSchemaLoadOrUpdate: (callback) => {
        // The schema never changes while the server runs; Apollo needs it before load() returns.
        callback({ apiSchema: schema, coreSupergraphSdl: '' });
        return () => undefined;
      },
      stop: async () => undefined,
    };
  }

  async execute(request: ExecutorContext): Promise<ExecutionResult> {
    // Apollo executes even when no operation matches operationName; graphql-js words that error.
    const operation = request.operation as ExecutorContext['operation'] | undefined;
    if (!operation) return this.interpret(request);
    const precomputed = precomputedFor(request);
    if (precomputed) return this.handOver(request, precomputed);
    const compiled = this.compiledFor(request);
    if (!compiled) return this.interpret(request);
    const variables = request.request.variables ?? {};
    // Refused variables: graphql-js answers them, with its own wording, and runs nothing.
    if (getVariableValues(this.schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 }).errors) return this.interpret(request);
    const result = await compiled.query(undefined, request.context, variables);
    if (result.data === undefined) {
      // Only a refusal of the variables leaves no data at all; graphql-js accepted them.
      this.counts.fellBack++;
      return this.interpret(request);
    }
    this.counts.compiled++;
    if (operation.operation === 'query') this.remember(request, compiled);
    return this.asGraphQLJsResult(request, result);
  }

  /** A compiled query's result as graphql-js gives it (field errors wrapped as graphql-js does). */
  private asGraphQLJsResult(request: ExecutorContext, result: ExecutionResult): ExecutionResult {
    if (!result.errors?.length) return result;
    const source = request.document.loc?.source ?? new Source(request.source);
    return { ...result, errors: result.errors.map((error) => asGraphQLJsError(error, source)) };
  }

  /** The fast path's own execution of this request, handed on to Apollo (see {@link Precomputed}). */
  private handOver(request: ExecutorContext, precomputed: Precomputed): Promise<ExecutionResult> {
    this.counts.handedOn++;
    if ('thrown' in precomputed.outcome) return Promise.reject(precomputed.outcome.thrown);
    return Promise.resolve(this.asGraphQLJsResult(request, precomputed.outcome.result));
  }

  /**
   * The compiled query for a query text and operation name that already ran compiled through
   * Apollo, or undefined. A hit counts as a use of the compiled operation (it stays among the
   * most recently used).
   */
  knownQuery(source: string, operationName: string | undefined): KnownQuery | undefined {
    const byName = this.known.get(source);
    if (byName === undefined) return undefined;
    const query = byName.get(operationName ?? '');
    if (query === undefined) return undefined;
    if (query.record.dropped) {
      this.forget(source, operationName ?? '');
      return undefined;
    }
    const operations = this.operations;
    if (operations.size > 1) {
      operations.delete(query.key);
      operations.set(query.key, query.record);
    }
    return query;
  }

  /** Runs a known query compiled: the fast path's execution (graphql/fast-path.ts). */
  runKnown(query: KnownQuery, context: unknown, variables: Record<string, unknown>): Promise<ExecutionResult> | ExecutionResult {
    this.counts.direct++;
    return query.compiled.query(undefined, context, variables);
  }

  private remember(request: ExecutorContext, compiled: CompiledQuery): void {
    const source = request.source;
    const name = request.request.operationName ?? '';
    const existing = this.known.get(source)?.get(name);
    if (existing && !existing.record.dropped) return;
    if (existing) this.forget(source, name);
    const key = `${request.queryHash}\n${request.request.operationName ?? ''}`;
    const record = this.operations.get(key);
    if (!record || record.compiled !== compiled) return;
    if (this.knownCount >= this.maxOperations) {
      // The compiled operations hold at most maxOperations, so a full list has a dropped one.
      for (const [text, names] of this.known) {
        for (const [n, q] of names) if (q.record.dropped) this.forget(text, n);
      }
      if (this.knownCount >= this.maxOperations) return;
    }
    let byName = this.known.get(source);
    if (!byName) {
      byName = new Map();
      this.known.set(source, byName);
    }
    byName.set(name, { document: request.document, operation: request.operation, compiled, key, record });
    this.knownCount++;
  }

  private forget(source: string, name: string): void {
    const byName = this.known.get(source);
    if (!byName?.delete(name)) return;
    this.knownCount--;
    if (byName.size === 0) this.known.delete(source);
  }

  private interpret(request: ExecutorContext): Promise<ExecutionResult> {
    this.counts.interpreted++;
    return Promise.resolve(
      execute({
        schema: this.schema,
        document: request.document,
        contextValue: request.context,
        variableValues: request.request.variables,
        operationName: request.request.operationName,
      }),
    );
  }

  /** The compiled query once the operation has run often enough; null until then, or if it may not or cannot be compiled. */
  private compiledFor(request: ExecutorContext): CompiledQuery | null {
    if (this.options.compileAfter === 0) return null;
    // The hash of the query text (Apollo's), with the operation chosen from it.
    const key = `${request.queryHash}\n${request.request.operationName ?? ''}`;
    let operation = this.operations.get(key);
    if (operation) {
      // Most recently used last, so the first key is the one to drop.
      this.operations.delete(key);
    } else {
      operation = { executions: 0, compiled: undefined };
      if (this.operations.size >= this.maxOperations) {
        const [oldest, dropped] = this.operations.entries().next().value!;
        dropped.dropped = true;
        this.operations.delete(oldest);
      }
    }
    this.operations.set(key, operation);
    if (operation.compiled !== undefined) return operation.compiled;
    operation.executions++;
    if (operation.executions < this.options.compileAfter) return null;
    operation.compiled = compilable(request.operation) ? this.compile(request) : null;
    return operation.compiled;
  }

  private compile(request: ExecutorContext): CompiledQuery | null {
    this.counts.compilations++;
    const name = request.request.operationName ?? null;
    try {
      const compiled = compileQuery(this.schema, request.document, name ?? undefined);
      if (isCompiledQuery(compiled)) return compiled;
      this.counts.compileErrors++;
      this.options.onCompileError?.(name, compiled.errors);
    } catch (err) {
      this.counts.compileErrors++;
      this.options.onCompileError?.(name, err);
    }
    return null;
  }
}

/** The fast path's execution of this very request (same text, same operation), if it ran one. */
function precomputedFor(request: ExecutorContext): Precomputed | undefined {
  const context = request.context as { [PRECOMPUTED]?: Precomputed } | undefined;
  const precomputed = context?.[PRECOMPUTED];
  if (!precomputed || precomputed.source !== request.source || precomputed.operationName !== (request.request.operationName ?? '')) return undefined;
  return precomputed;
}

/**
 * Whether an operation may run compiled. A mutation only with one root field: graphql-js runs
 * a mutation's root fields one after another and stops at the first error that nulls the
 * result, while graphql-jit runs the later ones anyway. With five aliased `login` fields, the
 * first wrong password ends the request in graphql-js; compiled, all five would be tried
 * (brute-force.test.ts). Fragments at the root count as several fields.
 */
function compilable(operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'mutation') return true;
  const selections = operation.selectionSet.selections;
  return selections.length === 1 && selections[0].kind === Kind.FIELD;
}

/**
 * A field error of a compiled query as graphql-js reports it. graphql-jit's errors carry
 * `extensions` only when the thrown error had some (Apollo reads `extensions.code` of every
 * error) and no `originalError` for the errors it raises itself (a null in a non-null field);
 * graphql-js always wraps the thrown or raised Error. Same message, locations and path.
 */
function asGraphQLJsError(error: GraphQLError, source: Source): GraphQLError {
  const positions = error.locations?.map((location) => positionOf(source.body, location));
  return new GraphQLError(error.message, {
    source: positions?.length ? source : undefined,
    positions: positions?.length ? positions : undefined,
    path: error.path,
    originalError: error.originalError ?? new Error(error.message),
  });
}

/** The offset in `body` of a 1-based line and column (lines end at \r\n, \n or \r, as in graphql-js). */
export function positionOf(body: string, location: SourceLocation): number {
  const newline = /\r\n|[\n\r]/g;
  let lineStart = 0;
  for (let line = 1; line < location.line; line++) {
    newline.lastIndex = lineStart;
    const end = newline.exec(body);
    if (!end) break;
    lineStart = end.index + end[0].length;
  }
  return lineStart + location.column - 1;
}
