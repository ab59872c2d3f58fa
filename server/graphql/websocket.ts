/**
 * GraphQL over WebSocket (graphql-ws) on `/graphql` (its upgrades routed here by
 * websocket/upgrades.ts). The connection
 * authenticates in `connection_init` (a bad token closes it with 4403); a socket lives no longer
 * than its token and ends (4401) when the token is logged out; every operation gets the same
 * limits as HTTP, its own context (EntityManager) and the same error formatting.
 *
 * The context is built in `onSubscribe`, where a failure refuses that one operation: graphql-ws
 * closes the whole socket (4500) when its `context` hook throws, which would end every other
 * subscription the console holds on it. A subscription that arrives while the database is down
 * waits for it (as a live stream's own reads do, up to DB_OUTAGE_GRACE_SECONDS); a query or a
 * mutation is answered SERVICE_UNAVAILABLE at once, as over HTTP. A connection that arrives
 * during an outage waits the same way; past the grace it is closed 1013 (try again later), never
 * 4403, which would tell the console that its token is bad.
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError, getOperationAST, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/index.js';
import { DatabaseOutageError, waitOutOutage } from '../db/unavailable.js';
import type { Services } from '../services/index.js';
import { buildContext, callerFromAuthorization } from './context.js';
import { formatGraphQLError, type ErrorLogger } from './errors.js';
import { checkOperation } from './limits.js';
import type { WebSocketRoutes } from '../websocket/upgrades.js';

export interface GraphQLWebSocketOptions {
  routes: WebSocketRoutes;
  schema: GraphQLSchema;
  services: Services;
  limits: Config['graphql'];
  isProduction: boolean;
  maxPayload: number;
  /** How long a subscribe that arrives during a database outage waits for the database (DB_OUTAGE_GRACE_SECONDS). */
  outageGraceMs: number;
  log: ErrorLogger & { warn(obj: object, msg: string): void };
}

/** The token from connectionParams: `authorization` ("Bearer …") or a bare `token`. */
function authorizationOf(params: Record<string, unknown> | undefined): unknown {
  return params?.authorization ?? params?.Authorization ?? (params?.token ? `Bearer ${String(params.token)}` : undefined);
}

export function attachGraphQLWebSocket(options: GraphQLWebSocketOptions): { close(): Promise<void> } {
  const { schema, services, limits, isProduction, log } = options;
  const hideSuggestions = isProduction;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  options.routes.add('/graphql', wss);
  const socketsByToken = new Map<string, Set<WebSocket>>();
  const stopRevocations = services.sessions.onRevoke((jti) => {
    for (const socket of socketsByToken.get(jti) ?? []) socket.close(4401, 'Logged out');
  });

  /** Closes the socket when its token expires, and lets a logout find it. */
  const bindToToken = (socket: WebSocket, jti: string, expiresAt: Date) => {
    const timer = setTimeout(() => socket.close(4401, 'Token expired'), Math.max(0, expiresAt.getTime() - Date.now()));
    const set = socketsByToken.get(jti) ?? new Set();
    set.add(socket);
    socketsByToken.set(jti, set);
    socket.once('close', () => {
      clearTimeout(timer);
      set.delete(socket);
      if (set.size === 0) socketsByToken.delete(jti);
    });
  };

  /** Runs `build` until the database answers, for as long as the socket is open and the grace lasts. */
  const waitForDatabase = <T>(socket: WebSocket, build: () => Promise<T>): Promise<T> => {
    const closed = new AbortController();
    const abort = () => closed.abort();
    socket.once('close', abort);
    return waitOutOutage(build, {
      graceMs: options.outageGraceMs,
      signal: closed.signal,
      onRetry: (err, failures) => {
        if (failures === 1) log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'a subscription waits for the database');
      },
    }).finally(() => socket.off('close', abort));
  };

  const server = useServer<Record<string, unknown>, { socket: WebSocket; request: IncomingMessage }>(
    {
      schema,
      onConnect: async (ctx) => {
        let caller;
        try {
          caller = await waitForDatabase(ctx.extra.socket, () => callerFromAuthorization(services, authorizationOf(ctx.connectionParams), ctx.extra.request.socket.remoteAddress));
        } catch (err) {
          // Past the outage grace: 1013 Try Again Later, which graphql-ws clients retry (4403 they do not).
          if (err instanceof DatabaseOutageError) ctx.extra.socket.close(1013, 'Database unavailable');
          return false; // closes with 4403 Forbidden (a socket already closing stays as it is)
        }
        if (caller?.jti && caller.expiresAt) bindToToken(ctx.extra.socket, caller.jti, caller.expiresAt);
        return true;
      },
      // The same limits as HTTP; returning errors refuses the operation before it runs.
      onSubscribe: async (ctx, _id, payload) => {
        const checked = checkOperation(schema, limits, payload, { introspection: !isProduction, suggestions: !hideSuggestions });
        if ('errors' in checked) return checked.errors;
        const operation = getOperationAST(checked.document, payload.operationName)?.operation;
        const build = () => buildContext(services, authorizationOf(ctx.connectionParams), ctx.extra.request.socket.remoteAddress);
        let contextValue;
        try {
          contextValue = operation === 'subscription' ? await waitForDatabase(ctx.extra.socket, build) : await build();
        } catch (err) {
          const formatted = formatGraphQLError({ message: err instanceof Error ? err.message : String(err) }, err, log, { hideSuggestions });
          return [new GraphQLError(formatted.message, { extensions: formatted.extensions })];
        }
        return { schema, document: checked.document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: result.errors.map((e) => formatGraphQLError(e.toJSON(), e, log, { hideSuggestions })) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatGraphQLError(e.toJSON(), e, log, { hideSuggestions })),
    },
    wss,
  );
  // A frame over maxPayload (or otherwise broken) is the client's fault: ws has already closed
  // the socket with the right code (1009…). Log it as a warning instead of graphql-ws's
  // console.error with a stack trace.
  wss.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (err: Error & { code?: string }) => log.warn({ code: err.code, reason: err.message }, 'WebSocket client error'));
  });

  return {
    async close() {
      stopRevocations();
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
