/**
 * Turns a bearer token into a caller: the signature, algorithm, issuer, audience and expiry
 * (TokenService), then the server-side state — not revoked by logout, account still approved.
 * Logout revokes the token until it would have expired and tells listeners (open sockets).
 */
import type { EntityManager } from '@mikro-orm/core';
import { RevokedToken, type UserRole } from '../entities/index.js';
import { unauthenticated } from './errors.js';
import type { Principal } from './principal.js';
import type { TokenService } from './tokens.js';

export type RevocationListener = (jti: string) => void;

export class SessionService {
  private readonly listeners = new Set<RevocationListener>();
  /** Tells every instance of a logout (set when several instances share the database). */
  private broadcast: ((jti: string) => Promise<void>) | null = null;

  constructor(
    private readonly tokens: TokenService,
    private readonly fork: () => EntityManager,
  ) {}

  async authenticate(token: string, ip?: string): Promise<Principal & { jti: string; expiresAt: Date }> {
    const claims = await this.tokens.verify(token);
    // One plain query for both checks: this runs before every request and subscription.
    const [state]: { revoked: number | boolean; role: UserRole | null; status: string | null }[] = await this.fork()
      .getConnection()
      .execute(
        `select exists(select 1 from revoked_tokens where jti = ?) as revoked, u.role, u.status
           from (select 1 as one) x left join users u on u.username = ?`,
        [claims.jti, claims.username],
      );
    if (!state || Number(state.revoked)) throw unauthenticated('Token has been revoked (logged out)');
    if (!state.role || state.status !== 'approved') throw unauthenticated('Account is not active');
    return { ...claims, role: state.role, ip };
  }

  async logout(caller: Principal): Promise<void> {
    if (!caller.jti || !caller.expiresAt) return;
    const em = this.fork();
    await em.upsert(RevokedToken, { jti: caller.jti, expiresAt: caller.expiresAt });
    await em.nativeDelete(RevokedToken, { expiresAt: { $lt: new Date() } });
    if (!this.broadcast) return this.revoked(caller.jti);
    try {
      await this.broadcast(caller.jti);
    } catch {
      // The revocation is stored; other instances refuse the token on its next use. At least
      // this instance's sockets close now.
      this.revoked(caller.jti);
    }
  }

  /** Sends logouts through `broadcast`, which must call {@link revoked} on every instance. */
  useBroadcast(broadcast: (jti: string) => Promise<void>): void {
    this.broadcast = broadcast;
  }

  /** A token was logged out (here or on another instance): its open sockets close. */
  revoked(jti: string): void {
    for (const listener of this.listeners) listener(jti);
  }

  onRevoke(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
