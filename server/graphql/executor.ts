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
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { execute, getVariableValues, GraphQLError, Kind, Source, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode, type SourceLocation } from 'graphql';
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
}

/** How operations were executed since start (the tests read these). */
export interface ExecutionCounts {
  interpreted: number;
  compiled: number;
  /** Compiled queries that refused variables graphql-js accepted, and ran interpreted. */
  fellBack: number;
  compilations: number;
  compileErrors: number;
}

export class CompiledExecution {
  readonly counts: ExecutionCounts = { interpreted: 0, compiled: 0, fellBack: 0, compilations: 0, compileErrors: 0 };
  private readonly operations = new Map<string, Operation>();
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
    if (!result.errors?.length) return result;
    const source = request.document.loc?.source ?? new Source(request.source);
    return { ...result, errors: result.errors.map((error) => asGraphQLJsError(error, source)) };
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
      if (this.operations.size >= this.maxOperations) this.operations.delete(this.operations.keys().next().value!);
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
