/**
 * GraphiQL's fetcher for our own server: queries and mutations POST to /graphql, subscriptions
 * go over graphql-ws on ws(s)://<this host>/graphql. Both carry the console's token, read at
 * each request (HTTP: `Authorization: Bearer …`, unless the headers editor sets its own) and at
 * each WebSocket connection (connectionParams, as the console's own client sends it).
 */
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit';
import { Kind, parse } from 'graphql';
import { createClient } from 'graphql-ws/client';
import { storedToken } from './console-state';

export interface PlaygroundFetcherOptions {
  /** The token to send; default: the console's stored session. */
  getToken?: () => string | null;
  location?: Pick<Location, 'protocol' | 'host'>;
}

export function subscriptionUrl(location: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
}

export function createPlaygroundFetcher(options: PlaygroundFetcherOptions = {}): Fetcher {
  const getToken = options.getToken ?? storedToken;
  const fetchWithToken: typeof fetch = (input, init = {}) => {
    const headers = new Headers(init.headers);
    const token = getToken();
    if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return window.fetch(input, { ...init, headers });
  };
  const wsClient = createClient({
    url: subscriptionUrl(options.location),
    lazy: true,
    retryAttempts: 0,
    connectionParams: () => {
      const token = getToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });
  const fetcher = createGraphiQLFetcher({
    url: '/graphql',
    fetch: fetchWithToken,
    wsClient,
    // The server has no @defer/@stream: plain JSON answers only.
    enableIncrementalDelivery: false,
  });
  return (params, opts) => fetcher(...withSentDocument(params, opts));
}

/**
 * GraphiQL hands the fetcher the document and operation name it parsed last, which lag behind
 * the editor for a moment after typing: run at once, a subscription typed over a query went to
 * HTTP (which refuses subscriptions) with the old operation's name. The fetcher decides from the
 * text actually sent instead; a text that does not parse goes as it is (the server says why).
 */
export function withSentDocument(params: FetcherParams, opts?: FetcherOpts): [FetcherParams, FetcherOpts] {
  let documentAST;
  try {
    documentAST = parse(params.query);
  } catch {
    return [params, { ...opts }];
  }
  const names = documentAST.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? null] : []));
  const known = params.operationName != null && names.includes(params.operationName);
  const operationName = known ? params.operationName : names.length === 1 ? names[0] : params.operationName;
  return [{ ...params, operationName: operationName ?? undefined }, { ...opts, documentAST }];
}
