import type { EntityManager } from '@mikro-orm/core';
import type { Services } from '../services/index.js';
import type { Principal } from '../services/principal.js';
import { bearerToken } from '../services/tokens.js';

/** Per operation: its own EntityManager and the verified caller (or null). */
export interface GraphQLContext {
  /** Forked on first use: operations that only read through plain SQL (services.readDb) never pay for it. */
  readonly em: EntityManager;
  caller: Principal | null;
  services: Services;
  /** Address of the client, for the records that need it. */
  clientIp: string | undefined;
}

/**
 * Resolves the caller from an `Authorization` value. A missing token means anonymous; a bad,
 * expired or revoked one is an error, so a client never silently acts as nobody.
 */
export async function callerFromAuthorization(services: Services, authorization: unknown, ip?: string): Promise<Principal | null> {
  if (typeof authorization !== 'string' || authorization === '') return null;
  const token = bearerToken(authorization) ?? authorization;
  return services.sessions.authenticate(token, ip);
}

export async function buildContext(services: Services, authorization: unknown, clientIp?: string): Promise<GraphQLContext> {
  const caller = await callerFromAuthorization(services, authorization, clientIp);
  let em: EntityManager | undefined;
  return {
    get em() {
      em ??= services.fork();
      return em;
    },
    caller,
    services,
    clientIp,
  };
}
