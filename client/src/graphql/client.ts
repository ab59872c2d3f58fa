/**
 * A small fetch-based GraphQL client for typed documents (generated/operations.ts). Errors
 * become {@link ApiError} with the server's `extensions.code`; callers branch on the code,
 * never on message text.
 */
import type { TypedDocumentString } from './generated/operations';

export const API_ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'SERVICE_UNAVAILABLE',
  'TOO_MANY_REQUESTS',
  'INTERNAL_SERVER_ERROR',
  /** The server could not be reached or did not answer with GraphQL. */
  'NETWORK_ERROR',
  /** Any other code (query limits, validation of the document). */
  'UNKNOWN',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** One problem with the input, as the server reports it in `extensions.issues`. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
  /** On the last entry of a long list (`type: 'too_many_errors'`): how many problems were left out. */
  ctx?: { more?: number };
}

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** Input problems (BAD_USER_INPUT). */
    readonly issues: ValidationIssue[] = [],
    /** Seconds until another try may succeed (TOO_MANY_REQUESTS). */
    readonly retryAfter: number | null = null,
    /** The code as the server sent it, when it is not one of ours. */
    readonly serverCode: string | null = null,
    /** The error's other `extensions` (CONFLICT of an exhausted pool: `needed`, `available`). */
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  /** Send the session token (default). Public operations and login send none. */
  auth?: boolean;
  signal?: AbortSignal;
}

export interface GraphQLClientOptions {
  endpoint?: string;
  getToken: () => string | null;
  /** Called when a request that carried `token` is answered UNAUTHENTICATED. */
  onUnauthenticated?: (error: ApiError, token: string) => void;
  fetch?: typeof fetch;
}

export interface GraphQLClient {
  request<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables: TVariables, options?: RequestOptions): Promise<TResult>;
}

interface GraphQLResponseBody {
  data?: unknown;
  errors?: GraphQLErrorBody[];
}

interface GraphQLErrorBody {
  message?: unknown;
  extensions?: { code?: unknown; issues?: unknown; retryAfter?: unknown; [key: string]: unknown };
}

function toCode(code: unknown): ApiErrorCode {
  return typeof code === 'string' && (API_ERROR_CODES as readonly string[]).includes(code) ? (code as ApiErrorCode) : 'UNKNOWN';
}

/** The ApiError for the first GraphQL error of an answer. */
export function errorFromGraphQL(error: GraphQLErrorBody, httpStatus: number): ApiError {
  const rawCode = error.extensions?.code;
  let code = toCode(rawCode);
  if (rawCode === undefined && httpStatus === 401) code = 'UNAUTHENTICATED';
  const issues = Array.isArray(error.extensions?.issues) ? (error.extensions.issues as ValidationIssue[]) : [];
  const retryAfter = typeof error.extensions?.retryAfter === 'number' ? error.extensions.retryAfter : null;
  const message = typeof error.message === 'string' ? error.message : code;
  const extensions = error.extensions && typeof error.extensions === 'object' ? { ...error.extensions } : {};
  return new ApiError(code, message, issues, retryAfter, typeof rawCode === 'string' && code === 'UNKNOWN' ? rawCode : null, extensions);
}

function errorFromStatus(status: number): ApiError {
  if (status === 401) return new ApiError('UNAUTHENTICATED', `HTTP ${status}`);
  if (status === 403) return new ApiError('FORBIDDEN', `HTTP ${status}`);
  if (status === 429) return new ApiError('TOO_MANY_REQUESTS', `HTTP ${status}`);
  if (status === 503) return new ApiError('SERVICE_UNAVAILABLE', `HTTP ${status}`);
  if (status >= 500) return new ApiError('INTERNAL_SERVER_ERROR', `HTTP ${status}`);
  return new ApiError('NETWORK_ERROR', `HTTP ${status} without a GraphQL answer`);
}

async function readBody(response: Response): Promise<GraphQLResponseBody | null> {
  try {
    const body: unknown = await response.json();
    return body && typeof body === 'object' ? (body as GraphQLResponseBody) : null;
  } catch {
    return null;
  }
}

export function createGraphQLClient(options: GraphQLClientOptions): GraphQLClient {
  const endpoint = options.endpoint ?? '/graphql';
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));

  return {
    async request(document, variables, { auth = true, signal } = {}) {
      const token = auth ? options.getToken() : null;
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;

      let response: Response;
      try {
        response = await doFetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query: document.toString(), variables }), signal });
      } catch (err) {
        if (signal?.aborted) throw err;
        throw new ApiError('NETWORK_ERROR', err instanceof Error ? err.message : String(err));
      }

      const body = await readBody(response);

      let error: ApiError | null = null;
      if (body?.errors?.length) error = errorFromGraphQL(body.errors[0], response.status);
      else if (!body || body.data == null) error = errorFromStatus(response.status);
      if (error) {
        if (error.code === 'UNAUTHENTICATED' && token) options.onUnauthenticated?.(error, token);
        throw error;
      }
      return body!.data as never;
    },
  };
}
