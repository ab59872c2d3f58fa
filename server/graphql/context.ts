import type { EntityManager } from '@mikro-orm/core';
import type { Services } from '../services/index.js';
import type { Principal } from '../services/principal.js';
import { bearerToken } from '../services/tokens.js';

/** Per operation: its own EntityManager and the verified caller (or null). */
export interface GraphQLContext {
  /** Forked on first use: operations that only run plain SQL (on services.sqlDb) never pay for it. */
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

/**
 * The context object. Apollo copies it for every operation (`Object.assign(Object.create(proto),
 * context)`), which reads every own property: the fork is therefore a getter on the class, where
 * the copy keeps it, and happens on the copy's first use of `em`. (As an own getter it ran at the
 * copy, for every request: docs/BENCHMARKS.md, session 4.)
 */
class OperationContext implements GraphQLContext {
  private forked: EntityManager | undefined = undefined;

  constructor(
    readonly caller: Principal | null,
    readonly services: Services,
    readonly clientIp: string | undefined,
  ) {}

  get em(): EntityManager {
    this.forked ??= this.services.fork();
    return this.forked;
  }
}

export async function buildContext(services: Services, authorization: unknown, clientIp?: string): Promise<GraphQLContext> {
  return new OperationContext(await callerFromAuthorization(services, authorization, clientIp), services, clientIp);
}
