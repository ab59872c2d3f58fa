/**
 * One formatter for GraphQL errors (HTTP and WebSocket): domain errors keep their stable
 * code and message; anything unexpected becomes "Internal server error" and is logged.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError } from '../services/errors.js';
import { TooManyAttemptsError } from '../services/login-guard.js';

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, logger?: ErrorLogger): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof DomainError) {
    const extensions: Record<string, unknown> = { code: original.code };
    if (original.issues.length) extensions.issues = original.issues;
    if (original instanceof TooManyAttemptsError) extensions.retryAfter = original.retryAfterSeconds;
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions };
  }
  const code = formatted.extensions?.code;
  const known = typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR';
  if (known || (original instanceof GraphQLError && !original.originalError)) {
    const { stacktrace: _drop, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { ...formatted, extensions: { ...extensions, code: code ?? 'GRAPHQL_VALIDATION_FAILED' } };
  }
  logger?.error({ err: original }, 'unexpected GraphQL error');
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
