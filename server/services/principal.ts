import type { UserRole } from '../entities/index.js';
import { unauthenticated } from './errors.js';

/** Who is asking: taken from a verified access token. */
export interface Principal {
  username: string;
  role: UserRole;
  /** Token id, for logout (revocation). */
  jti?: string;
  expiresAt?: Date;
  /** Client address of the request, for the audit trail. */
  ip?: string;
}

export const isAdmin = (p: Principal): boolean => p.role === 'admin';

export function requireCaller(caller: Principal | null | undefined): Principal {
  if (!caller) throw unauthenticated();
  return caller;
}
