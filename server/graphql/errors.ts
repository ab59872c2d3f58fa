/**
 * One formatter for GraphQL errors (HTTP and WebSocket): domain errors keep their stable
 * code and message; anything unexpected becomes "Internal server error" and is logged.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DatabaseUnavailableError, databaseUnavailableError, DomainError, HostHeldError, PoolExhaustedError } from '../services/errors.js';
import { TooManyAttemptsError } from '../services/login-guard.js';

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/** Removes graphql's "Did you mean …?" hints, which name fields, types and values of the schema. */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

const VARIABLE_ERROR = /^Variable "\$([A-Za-z_][A-Za-z0-9_]*)" got invalid value /;

/**
 * graphql-js repeats the whole rejected variable value in its message ("Variable "$input" got
 * invalid value { vcenterPassword: "…", … }; …"), which would send a write-only secret back.
 * Keep the variable name and the reason; drop every echoed value.
 */
export function withoutEchoedValues(message: string, original: unknown): string {
  const m = VARIABLE_ERROR.exec(message);
  if (!m) return message;
  const inner = original instanceof Error ? original.message : '';
  const reason = inner.replace(/ cannot represent (.*?)value: [\s\S]*$/, ' cannot represent $1value');
  return `Variable "$${m[1]}" got invalid value${reason ? `; ${reason}` : ''}`;
}

export interface FormatOptions {
  /** Production: drop "Did you mean …?" from validation and variable errors. */
  hideSuggestions?: boolean;
}

export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, logger?: ErrorLogger, options: FormatOptions = {}): GraphQLFormattedError {
  const unwrapped = unwrapResolverError(error);
  const original = databaseUnavailableError(unwrapped) ?? unwrapped;
  if (original instanceof DomainError) {
    const extensions: Record<string, unknown> = { code: original.code };
    if (original.issues.length) extensions.issues = original.issues;
    if (original instanceof TooManyAttemptsError || original instanceof DatabaseUnavailableError) extensions.retryAfter = original.retryAfterSeconds;
    if (original instanceof PoolExhaustedError) Object.assign(extensions, { needed: original.needed, available: original.available });
    if (original instanceof HostHeldError) extensions.projectId = original.projectId;
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions };
  }
  const code = formatted.extensions?.code;
  const known = typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR';
  if (known || (original instanceof GraphQLError && !original.originalError)) {
    const { stacktrace: _drop, http: _http, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    const cause = original instanceof GraphQLError ? original.originalError : undefined;
    const redacted = withoutEchoedValues(formatted.message, cause);
    const message = options.hideSuggestions ? withoutSuggestions(redacted) : redacted;
    return { ...formatted, message, extensions: { ...extensions, code: code ?? 'GRAPHQL_VALIDATION_FAILED' } };
  }
  logger?.error({ err: original }, 'unexpected GraphQL error');
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
