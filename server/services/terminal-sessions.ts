/**
 * The console's terminal sessions on this instance: who may open one (a valid token, access to
 * the project's host, at most TERMINAL_MAX_SESSIONS per account) and what ends them besides the
 * shell itself, the idle timeout, the maximum length and the token's expiry:
 * - a logout of the token, on any instance (SessionService.onRevoke, through the event feed);
 * - a change to the account, on any instance (disabled, role lost): its sessions check their
 *   token and their access again (SessionService.onAccountChange);
 * - the project leaving COMPLETED (its teardown starts: DELETING), heard on the event bus.
 * Every open and every end is in the audit trail (`terminal.open`, refusals included, and
 * `terminal.close` with duration and bytes each way). Transport-agnostic: the WebSocket adapter
 * is websocket/terminal.ts.
 */
import type { TerminalConfig } from '../config/index.js';
import type { SqlTarget } from '../db/sql.js';
import type { AuditLog } from './audit.js';
import type { UserRole } from '../entities/index.js';
import { DatabaseUnavailableError, databaseUnavailableError, DomainError } from './errors.js';
import type { ProjectEventBus } from './event-bus.js';
import type { SessionService } from './sessions.js';
import type { SshAccess } from './ssh-access.js';
import { TERMINAL_CLOSE, TerminalRefusal, terminalTarget, type TerminalTarget } from './terminal-access.js';
import { auditTarget, closeReason, TerminalSession, type TerminalCaller, type TerminalPeer } from './terminal-session.js';

export interface TerminalSessionsDeps {
  sessions: SessionService;
  audit: AuditLog;
  ssh: SshAccess;
  bus: ProjectEventBus;
  /** Where the access checks read (plain SQL). */
  db: SqlTarget;
  limits: TerminalConfig;
  log: { warn(obj: object, msg: string): void };
  /** The SSH connection and login; default 10 s. */
  connectTimeoutMs?: number;
}

export interface TerminalOpenRequest {
  token: unknown;
  projectId: number;
  address: string;
  ip?: string;
  cols: number;
  rows: number;
}

type AuthenticatedCaller = TerminalCaller & { role: UserRole };

export class TerminalSessions {
  /** Open sessions and those still connecting (both count toward the per-account limit). */
  private readonly live = new Set<TerminalSession>();
  private readonly pendingAudits = new Set<Promise<void>>();
  private readonly unhook: (() => void)[] = [];
  private closing = false;

  constructor(private readonly deps: TerminalSessionsDeps) {
    this.unhook.push(
      deps.sessions.onRevoke((jti) => {
        for (const s of this.live) if (s.caller.jti === jti) s.end(TERMINAL_CLOSE.unauthenticated, 'Logged out');
      }),
      deps.sessions.onAccountChange((username) => {
        for (const s of this.live) if (username === null || s.username === username) void this.recheck(s);
      }),
      deps.bus.subscribeChanges({ all: true }, (change) => {
        if (change.status === 'COMPLETED' && !change.deleted) return;
        for (const s of this.live) {
          if (s.target.projectId !== change.id) continue;
          s.end(TERMINAL_CLOSE.notCompleted, change.status === 'DELETING' || change.deleted ? 'The project is being deleted' : `The project is ${change.status}`);
        }
      }),
    );
  }

  /** Sessions open or connecting on this instance (of one account). */
  count(username?: string): number {
    if (username === undefined) return this.live.size;
    let n = 0;
    for (const s of this.live) if (s.username === username) n++;
    return n;
  }

  /** What is open or connecting on this instance, for observation (no tokens). */
  snapshot(): { id: string; username: string; projectId: number; host: string; tokenId: string; bytesToHost: number; bytesFromHost: number }[] {
    return [...this.live].map((s) => ({ id: s.id, username: s.username, projectId: s.target.projectId, host: s.target.address, tokenId: s.caller.jti, bytesToHost: s.bytesToHost, bytesFromHost: s.bytesFromHost }));
  }

  /**
   * Authenticates, checks access and the account's limit, logs in to the host and starts a shell.
   * Rejects with a {@link TerminalRefusal} (audited as a failed `terminal.open`). `signal`: the
   * client left meanwhile. The session is ready; {@link TerminalSession.attach} starts its flow.
   */
  async open(request: TerminalOpenRequest, signal?: AbortSignal): Promise<TerminalSession> {
    let caller: AuthenticatedCaller | null = null;
    let target: TerminalTarget | null = null;
    let session: TerminalSession | null = null;
    const stopOnAbort = () => session?.end(TERMINAL_CLOSE.normal, 'The client left');
    try {
      if (this.closing) throw new TerminalRefusal(TERMINAL_CLOSE.goingAway, 'The server is shutting down');
      caller = await this.authenticate(request.token, request.ip);
      target = await terminalTarget(this.deps.db, caller, request.projectId, request.address).catch(refusalOf);
      if (this.count(caller.username) >= this.deps.limits.maxSessionsPerUser) {
        throw new TerminalRefusal(TERMINAL_CLOSE.tooMany, `At most ${this.deps.limits.maxSessionsPerUser} terminal sessions at once`);
      }
      session = new TerminalSession(caller, target, {
        audit: this.deps.audit,
        ssh: this.deps.ssh,
        limits: this.deps.limits,
        connectTimeoutMs: this.deps.connectTimeoutMs ?? 10_000,
        onEnded: (s) => this.live.delete(s),
        track: (write) => this.track(write),
      });
      this.live.add(session);
      if (signal?.aborted) stopOnAbort();
      signal?.addEventListener('abort', stopOnAbort, { once: true });
      await session.start({ cols: request.cols, rows: request.rows }).catch(refusalOf);
      signal?.removeEventListener('abort', stopOnAbort);
      await this.record(caller.username, request.ip, `project:${target.projectId}`, 'success', { ...auditTarget(target), session: session.id });
      return session;
    } catch (err) {
      signal?.removeEventListener('abort', stopOnAbort);
      const refusal = err instanceof TerminalRefusal ? err : new TerminalRefusal(TERMINAL_CLOSE.internal, 'Internal server error');
      if (!(err instanceof TerminalRefusal)) this.deps.log.warn({ err }, 'terminal session could not be opened');
      session?.end(refusal.code, refusal.message);
      // What was asked for, also when it did not resolve to a host (the address as sent, cut short).
      const asked = Number.isSafeInteger(request.projectId) ? `project:${request.projectId}` : null;
      await this.record(caller?.username ?? null, request.ip, asked, 'failure', {
        ...(target ? auditTarget(target) : { host: String(request.address).slice(0, 64) }),
        code: refusal.code,
        reason: refusal.message,
      });
      throw refusal;
    }
  }

  /** Reauthenticates a session with a renewed token; the account must be the same. */
  async renew(session: TerminalSession, token: unknown): Promise<void> {
    const caller = await this.authenticate(token, session.caller.ip);
    if (caller.username !== session.username) throw new TerminalRefusal(TERMINAL_CLOSE.unauthenticated, 'A token of another account');
    session.rebind(caller);
  }

  /** Ends every session (the server is shutting down) and waits for their audit entries. */
  async close(): Promise<void> {
    this.closing = true;
    for (const stop of this.unhook) stop();
    for (const s of [...this.live]) s.end(TERMINAL_CLOSE.goingAway, 'The server is shutting down');
    while (this.pendingAudits.size) await Promise.allSettled([...this.pendingAudits]);
  }

  private async authenticate(token: unknown, ip: string | undefined): Promise<AuthenticatedCaller> {
    if (typeof token !== 'string' || !token || token.length > 4096) throw new TerminalRefusal(TERMINAL_CLOSE.unauthenticated, 'Not authenticated');
    try {
      const principal = await this.deps.sessions.authenticate(token, ip);
      return { username: principal.username, role: principal.role, jti: principal.jti, expiresAt: principal.expiresAt, token, ip };
    } catch (err) {
      throw refusalOf(err);
    }
  }

  /** The account changed: a session whose token or access no longer holds ends. */
  private async recheck(session: TerminalSession): Promise<void> {
    try {
      const caller = await this.authenticate(session.caller.token, session.caller.ip);
      await terminalTarget(this.deps.db, caller, session.target.projectId, session.target.address);
    } catch (err) {
      // Only a definite answer ends it; a database that does not answer now is asked on the next change.
      if (err instanceof TerminalRefusal && err.code !== TERMINAL_CLOSE.tryAgain && err.code !== TERMINAL_CLOSE.internal) session.end(err.code, err.message);
    }
  }

  private record(actor: string | null, ip: string | undefined, target: string | null, result: 'success' | 'failure', detail: Record<string, unknown>): Promise<void> {
    const write = this.deps.audit.record({ actor, action: 'terminal.open', target, ip: ip ?? null, result, detail });
    this.track(write);
    return write.catch(() => undefined);
  }

  private track(write: Promise<void>): void {
    const kept = write.catch((err) => this.deps.log.warn({ err }, 'could not write a terminal audit entry'));
    this.pendingAudits.add(kept);
    void kept.finally(() => this.pendingAudits.delete(kept));
  }
}

/** An error as the close code it ends a terminal with (a database that does not answer: try again); others as they are. */
function refusalOf(err: unknown): never {
  if (err instanceof TerminalRefusal) throw err;
  const domain = err instanceof DomainError ? err : databaseUnavailableError(err);
  if (domain instanceof DatabaseUnavailableError) throw new TerminalRefusal(TERMINAL_CLOSE.tryAgain, closeReason(domain.message));
  if (domain?.code === 'UNAUTHENTICATED') throw new TerminalRefusal(TERMINAL_CLOSE.unauthenticated, closeReason(domain.message));
  throw err;
}
