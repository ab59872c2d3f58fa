/**
 * Brute-force defence for logins: failures are counted per account and per client address in
 * a sliding window; past the limit, further attempts answer 429 with Retry-After until the
 * oldest failure leaves the window. An unknown account is counted like a known one, so the
 * answers do not tell them apart. Kept in memory: per process, cleared on restart.
 */
import { DomainError } from './errors.js';

export interface LoginGuardLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  windowMinutes: number;
}

export class TooManyAttemptsError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', `Too many failed logins; try again in ${retryAfterSeconds} seconds`);
  }
}

export class LoginGuard {
  private readonly byAccount = new Map<string, number[]>();
  private readonly byAddress = new Map<string, number[]>();
  private readonly windowMs: number;

  constructor(
    private readonly limits: LoginGuardLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.windowMs = limits.windowMinutes * 60_000;
  }

  private recent(map: Map<string, number[]>, key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const times = (map.get(key) ?? []).filter((t) => t > cutoff);
    if (times.length) map.set(key, times);
    else map.delete(key);
    return times;
  }

  private retryAfter(times: number[], max: number): number | undefined {
    if (times.length < max) return undefined;
    const freesAt = times[times.length - max] + this.windowMs;
    return Math.max(1, Math.ceil((freesAt - this.now()) / 1000));
  }

  /** Throws {@link TooManyAttemptsError} while the account or the address is locked out. */
  check(account: string, address: string | undefined): void {
    const key = account.toLowerCase();
    const waits = [this.retryAfter(this.recent(this.byAccount, key), this.limits.maxFailuresPerAccount)];
    if (address) waits.push(this.retryAfter(this.recent(this.byAddress, address), this.limits.maxFailuresPerAddress));
    const wait = Math.max(...waits.map((w) => w ?? 0));
    if (wait > 0) throw new TooManyAttemptsError(wait);
  }

  recordFailure(account: string, address: string | undefined): void {
    const t = this.now();
    const key = account.toLowerCase();
    this.byAccount.set(key, [...this.recent(this.byAccount, key), t]);
    if (address) this.byAddress.set(address, [...this.recent(this.byAddress, address), t]);
  }

  recordSuccess(account: string): void {
    this.byAccount.delete(account.toLowerCase());
  }
}
