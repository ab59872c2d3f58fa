/**
 * graphql-ws clients for subscriptions (same origin, path /graphql). The token goes in
 * connectionParams as `{ authorization: 'Bearer …' }`, read at each (re)connection so that a
 * renewed session is used; the server closes a socket with a bad token with 4403.
 */
import { createClient, type Client } from 'graphql-ws/client';
import { currentToken, reportTokenRejected } from './auth-token';
import { ApiError, errorFromGraphQL } from './client';
import type { TypedDocumentString } from './generated/operations';

export const CLOSE_FORBIDDEN = 4403;

export interface SubscriptionClientOptions {
  url?: string;
  getToken?: () => string | null;
  /** A WebSocket class where the platform has none (Node tests). */
  webSocketImpl?: unknown;
  retryAttempts?: number;
}

export function defaultSubscriptionUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/graphql`;
}

export function createSubscriptionClient(options: SubscriptionClientOptions = {}): Client {
  const getToken = options.getToken ?? currentToken;
  let sentToken: string | null = null;
  return createClient({
    url: options.url ?? defaultSubscriptionUrl(),
    webSocketImpl: options.webSocketImpl,
    lazy: true,
    retryAttempts: options.retryAttempts ?? 5,
    connectionParams: () => {
      sentToken = getToken();
      return sentToken ? { authorization: `Bearer ${sentToken}` } : {};
    },
    shouldRetry: (event) => (event as CloseEvent | undefined)?.code !== CLOSE_FORBIDDEN,
    on: {
      closed: (event) => {
        if ((event as CloseEvent | undefined)?.code === CLOSE_FORBIDDEN) reportTokenRejected(sentToken);
      },
    },
  });
}

export interface SubscriptionSink<TResult> {
  next(data: TResult): void;
  error(error: ApiError): void;
  complete(): void;
}

/** Subscribes with a typed document; returns the function that unsubscribes. */
export function subscribe<TResult, TVariables>(
  client: Client,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  sink: SubscriptionSink<TResult>,
): () => void {
  return client.subscribe<TResult>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.length) sink.error(errorFromGraphQL(result.errors[0] as Parameters<typeof errorFromGraphQL>[0], 200));
        else if (result.data) sink.next(result.data as TResult);
      },
      error: (err) => {
        if (Array.isArray(err) && err.length) sink.error(errorFromGraphQL(err[0] as Parameters<typeof errorFromGraphQL>[0], 200));
        else if ((err as CloseEvent | undefined)?.code === CLOSE_FORBIDDEN) sink.error(new ApiError('UNAUTHENTICATED', 'the server refused the token'));
        else sink.error(new ApiError('NETWORK_ERROR', err instanceof Error ? err.message : 'subscription closed'));
      },
      complete: () => sink.complete(),
    },
  );
}
