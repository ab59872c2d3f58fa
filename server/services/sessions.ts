/**
 * Turns a bearer token into a caller: the signature, algorithm, issuer, audience and expiry
 * (TokenService), then the server-side state — not revoked by logout, account still approved.
 * Logout revokes the token until it would have expired and tells listeners (open sockets).
 *
 * The server-side state of a token is remembered for {@link ACCOUNT_STATE_TTL_MS} once it has
 * been read (it is read before every request and subscription, and the same token comes with
 * every request of a session), but only while every change reaches this instance at once:
 * - a logout here forgets the token before it answers, and every instance forgets it when the
 *   logout is announced ({@link revoked}, the event feed);
 * - an account change (UserAdminService) forgets the account's tokens here before the admin's
 *   action answers and is announced to every instance ({@link announceAccountChange});
 * - while the feed may miss messages (its connection is lost) nothing is remembered, and what
 *   was is forgotten, also when it is back ({@link accountChanged} with null);
 * - a lookup that was under way when something was forgotten is not remembered.
 * The TTL is the backstop for changes made outside these paths. Only accepted tokens are
 * remembered; a refusal is read again on every use.
 */
import type { EntityManager } from '@mikro-orm/core';
import { RevokedToken, type UserRole } from '../entities/index.js';
import { unauthenticated } from './errors.js';
import type { Principal } from './principal.js';
import type { TokenService } from './tokens.js';

export type RevocationListener = (jti: string) => void;
/** An account changed (null: any account may have): what depends on its state checks it again. */
export type AccountChangeListener = (username: string | null) => void;

/** How long a token's state (not logged out, account approved, its role) is used without reading it again. */
export const ACCOUNT_STATE_TTL_MS = 1000;
/** How many tokens' states are remembered (the oldest is forgotten first). */
const MAX_REMEMBERED = 10_000;

/** What connects the remembered account state of every instance (see app.ts). */
export interface AccountFeed {
  /** Tells every instance (this one included) that an account changed. */
  announce(username: string): Promise<void>;
  /** True while every announcement of every instance reaches this one. */
  live(): boolean;
}

interface KnownState {
  username: string;
  role: UserRole;
  /** Date.now() after which the state is read again. */
  until: number;
}

export class SessionService {
  private readonly listeners = new Set<RevocationListener>();
  private readonly accountListeners = new Set<AccountChangeListener>();
  /** Tells every instance of a logout (set when several instances share the database). */
  private broadcast: ((jti: string) => Promise<void>) | null = null;
  /** Without one (see {@link useAccountFeed}) nothing is remembered: another instance's change could not reach us. */
  private accountFeed: AccountFeed | null = null;
  /** Accepted tokens' state, by jti. */
  private readonly known = new Map<string, KnownState>();
  /** Moves on whenever something is forgotten: a lookup begun before is not remembered. */
  private generation = 0;

  constructor(
    private readonly tokens: TokenService,
    private readonly fork: () => EntityManager,
  ) {}

  async authenticate(token: string, ip?: string): Promise<Principal & { jti: string; expiresAt: Date }> {
    const claims = await this.tokens.verify(token);
    const known = this.known.get(claims.jti);
    if (known) {
      if (known.until > Date.now() && this.accountFeed?.live()) return { ...claims, role: known.role, ip };
      this.known.delete(claims.jti);
    }
    const generation = this.generation;
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
    if (generation === this.generation && this.accountFeed?.live()) {
      if (this.known.size >= MAX_REMEMBERED) this.known.delete(this.known.keys().next().value!);
      this.known.set(claims.jti, { username: claims.username, role: state.role, until: Date.now() + ACCOUNT_STATE_TTL_MS });
    }
    return { ...claims, role: state.role, ip };
  }

  /** Lets token states be remembered; `feed` carries account changes between instances (see app.ts). */
  useAccountFeed(feed: AccountFeed): void {
    this.accountFeed = feed;
  }

  /**
   * An account's status or role changed (here or on another instance; null: any account may
   * have, the feed may have missed messages): its tokens' state is read again on their next use.
   */
  accountChanged(username: string | null): void {
    this.generation += 1;
    if (username === null) this.known.clear();
    else for (const [jti, state] of this.known) if (state.username === username) this.known.delete(jti);
    for (const listener of this.accountListeners) listener(username);
  }

  /**
   * Hears every account change reaching this instance (after what it remembered is forgotten,
   * so an {@link authenticate} from the listener reads the account again): long-lived sessions
   * that authenticated once (terminals) check their token again.
   */
  onAccountChange(listener: AccountChangeListener): () => void {
    this.accountListeners.add(listener);
    return () => this.accountListeners.delete(listener);
  }

  /** After an account change is stored: forgets its tokens' state here at once, then on every instance. */
  async announceAccountChange(username: string): Promise<void> {
    this.accountChanged(username);
    try {
      await this.accountFeed?.announce(username);
    } catch {
      // Other instances read the account again within ACCOUNT_STATE_TTL_MS; this one already does.
    }
  }

  private forgetToken(jti: string): void {
    this.generation += 1;
    this.known.delete(jti);
  }

  async logout(caller: Principal): Promise<void> {
    if (!caller.jti || !caller.expiresAt) return;
    const em = this.fork();
    await em.upsert(RevokedToken, { jti: caller.jti, expiresAt: caller.expiresAt });
    // Refused here from now on, whether or not the announcement below reaches anyone.
    this.forgetToken(caller.jti);
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

  /** A token was logged out (here or on another instance): it is refused from now on and its open sockets close. */
  revoked(jti: string): void {
    this.forgetToken(jti);
    for (const listener of this.listeners) listener(jti);
  }

  onRevoke(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
