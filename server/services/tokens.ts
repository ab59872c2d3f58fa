/** Signed access tokens: HS256 only, with issuer, audience and expiry checked on every use. */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { USER_ROLES, type UserRole } from '../entities/index.js';
import { unauthenticated } from './errors.js';
import type { Principal } from './principal.js';

const ISSUER = 'h-cmp';
const AUDIENCE = 'h-cmp-console';
const ALGORITHM = 'HS256';

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

type VerifiedToken = Principal & { expiresAt: Date; jti: string };

/** How many verified tokens are remembered (the oldest is forgotten first). */
const MAX_REMEMBERED = 10_000;

export class TokenService {
  private readonly key: Uint8Array;
  /**
   * Tokens whose signature and claims were verified, by their exact text. The same token comes
   * with every request of a session; checking the HMAC once is enough, the expiry is checked on
   * every use. (Logout and account state are checked by SessionService on every use too.)
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    secret: string,
    private readonly ttlMinutes: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(principal: Principal): Promise<IssuedToken> {
    const expiresAt = new Date(Date.now() + this.ttlMinutes * 60_000);
    const token = await new SignJWT({ role: principal.role })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(principal.username)
      .setJti(randomUUID())
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.key);
    return { token, expiresAt };
  }

  /** Returns the principal of a valid token; any defect answers UNAUTHENTICATED. */
  async verify(token: string): Promise<VerifiedToken> {
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAt.getTime() > Date.now()) return { ...known };
      this.verified.delete(token);
      throw unauthenticated('Invalid or expired token');
    }
    const principal = await this.verifySignature(token);
    if (this.verified.size >= MAX_REMEMBERED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, principal);
    return { ...principal };
  }

  private async verifySignature(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      const role = payload.role as UserRole;
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || !USER_ROLES.includes(role)) throw new Error('bad claims');
      return { username: payload.sub, role, jti: payload.jti, expiresAt: new Date((payload.exp as number) * 1000) };
    } catch {
      throw unauthenticated('Invalid or expired token');
    }
  }
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1];
}
