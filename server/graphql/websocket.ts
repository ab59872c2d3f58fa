/**
 * GraphQL over WebSocket (graphql-ws) on `/graphql` (its upgrades routed here by
 * websocket/upgrades.ts). The connection
 * authenticates in `connection_init` (a bad token closes it with 4403); a socket lives no longer
 * than its token and ends (4401) when the token is logged out; every operation gets the same
 * limits as HTTP, its own context (EntityManager) and the same error formatting.
 */
import type { IncomingMessage } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/index.js';
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

  const server = useServer<Record<string, unknown>, { socket: WebSocket; request: IncomingMessage }>(
    {
      schema,
      onConnect: async (ctx) => {
        let caller;
        try {
          caller = await callerFromAuthorization(services, authorizationOf(ctx.connectionParams), ctx.extra.request.socket.remoteAddress);
        } catch {
          return false; // closes with 4403 Forbidden
        }
        if (caller?.jti && caller.expiresAt) bindToToken(ctx.extra.socket, caller.jti, caller.expiresAt);
        return true;
      },
      // The same limits as HTTP; returning errors refuses the operation before it runs.
      onSubscribe: (_ctx, _id, payload) => {
        const checked = checkOperation(schema, limits, payload, { introspection: !isProduction, suggestions: !hideSuggestions });
        if ('errors' in checked) return checked.errors;
        return { schema, document: checked.document, variableValues: payload.variables, operationName: payload.operationName };
      },
      context: async (ctx) => buildContext(services, authorizationOf(ctx.connectionParams), ctx.extra.request.socket.remoteAddress),
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
