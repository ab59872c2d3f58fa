/**
 * One terminal session: the SSH shell behind it, its byte counts, its timers (idle, maximum
 * length, token expiry) and its one way out, {@link TerminalSession.end}, which stops the shell,
 * tells the transport and writes the `terminal.close` audit entry. The registry
 * (terminal-sessions.ts) decides who may open one and which events end it.
 */
import { randomUUID } from 'node:crypto';
import type { TerminalConfig } from '../config/index.js';
import type { AuditLog } from './audit.js';
import { openShell, ShellError, type OpenedShell } from './ssh-shell.js';
import type { SshAccess } from './ssh-access.js';
import { TERMINAL_CLOSE, TerminalRefusal, type TerminalCloseCode, type TerminalTarget } from './terminal-access.js';

/** What the transport does for a session once it is open. */
export interface TerminalPeer {
  /** Bytes from the host, to the client. */
  output(data: Buffer): void;
  /** The session is over: send the shell's exit code when there is one (not undefined), then close with `code`. */
  closed(code: number, reason: string, exitCode: number | null | undefined): void;
}

export interface TerminalCaller {
  username: string;
  jti: string;
  expiresAt: Date;
  token: string;
  ip?: string;
}

export interface SessionDeps {
  audit: AuditLog;
  ssh: SshAccess;
  limits: TerminalConfig;
  /** The whole SSH connection and login. */
  connectTimeoutMs: number;
  /** Told once the session is over (the registry forgets it). */
  onEnded(session: TerminalSession): void;
  /** Keeps the audit write, so a shutdown can wait for it. */
  track(write: Promise<void>): void;
}

/** Close reasons travel in the close frame, at most 123 bytes. */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -2) + '…';
  return out;
}

export class TerminalSession {
  readonly id = randomUUID();
  readonly startedAt = Date.now();
  bytesToHost = 0;
  bytesFromHost = 0;
  private shell: OpenedShell | null = null;
  private peer: TerminalPeer | null = null;
  private readonly abort = new AbortController();
  private ended: { code: TerminalCloseCode; reason: string } | null = null;
  private exitCode: number | null | undefined = undefined;
  private lastInput = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private tokenTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private drainListener: (() => void) | null = null;
  /** What the host said before the client was told the session is ready (the login banner, the prompt). */
  private early: Buffer[] = [];

  constructor(
    readonly caller: TerminalCaller,
    readonly target: TerminalTarget,
    private readonly deps: SessionDeps,
  ) {}

  get username(): string {
    return this.caller.username;
  }

  get isOver(): boolean {
    return this.ended !== null;
  }

  /** Connects and starts the shell; rejects with a {@link TerminalRefusal} (also when ended meanwhile). */
  async start(pty: { cols: number; rows: number }): Promise<void> {
    const credentials = await this.deps.ssh.credentials();
    if (!credentials) throw new TerminalRefusal(TERMINAL_CLOSE.sshNotConfigured, 'No SSH account and key are configured for the hosts');
    const recorded = (await this.deps.ssh.knownKeys([this.target.address])).get(this.target.address) ?? null;
    this.throwIfEnded();
    let shell: OpenedShell;
    try {
      shell = await openShell({ address: this.target.address, credentials, recorded, pty: { ...pty, term: 'xterm-256color' }, readyTimeoutMs: this.deps.connectTimeoutMs, signal: this.abort.signal });
    } catch (err) {
      this.throwIfEnded();
      if (err instanceof ShellError) throw new TerminalRefusal(err.kind === 'host-key-changed' ? TERMINAL_CLOSE.hostKeyChanged : TERMINAL_CLOSE.sshFailed, closeReason(err.message));
      throw err;
    }
    this.shell = shell;
    if (shell.learnedKey) await this.recordFirstKey(shell.learnedKey);
    this.throwIfEnded();
    const { stream, client } = shell;
    const output = (data: Buffer) => {
      this.bytesFromHost += data.length;
      if (this.peer) this.peer.output(data);
      else this.early.push(data);
    };
    stream.on('data', output);
    stream.stderr.on('data', output);
    stream.on('exit', (code: number | null) => {
      this.exitCode = typeof code === 'number' ? code : null;
    });
    stream.on('close', () => {
      if (this.exitCode !== undefined) this.end(TERMINAL_CLOSE.normal, `The shell exited with code ${this.exitCode ?? 'none'}`);
      else this.end(TERMINAL_CLOSE.sshFailed, 'The connection to the host was lost');
    });
    stream.on('drain', () => this.drainListener?.());
    client.on('error', () => this.end(TERMINAL_CLOSE.sshFailed, 'The connection to the host was lost'));
    client.on('close', () => this.end(TERMINAL_CLOSE.sshFailed, 'The connection to the host was lost'));
  }

  /** Starts the timers and the flow of output; called once the client was told the session is ready. */
  attach(peer: TerminalPeer): void {
    this.peer = peer;
    for (const data of this.early) peer.output(data);
    this.early = [];
    const { idleMs, maxSessionMs } = this.deps.limits;
    this.timers.push(setTimeout(() => this.end(TERMINAL_CLOSE.maxLength, 'The session reached its maximum length'), maxSessionMs));
    this.armIdle(idleMs);
    this.bindToken(this.caller);
  }

  /** Keystrokes from the user; false when the host is not taking input as fast (wait for {@link onInputDrain}). */
  input(data: Buffer): boolean {
    if (!this.shell || this.ended) return true;
    this.lastInput = Date.now();
    this.bytesToHost += data.length;
    return this.shell.stream.write(data);
  }

  onInputDrain(listener: () => void): void {
    this.drainListener = listener;
  }

  resize(cols: number, rows: number): void {
    if (!this.shell || this.ended) return;
    this.lastInput = Date.now();
    this.shell.stream.setWindow(rows, cols, 0, 0);
  }

  /** Holds the host's output while the client is slow to take it. */
  pauseOutput(): void {
    this.shell?.stream.pause();
  }

  resumeOutput(): void {
    this.shell?.stream.resume();
  }

  /** The session continues under a renewed token of the same account (its expiry and logout from now on). */
  rebind(caller: TerminalCaller): void {
    Object.assign(this.caller, { jti: caller.jti, expiresAt: caller.expiresAt, token: caller.token });
    if (this.peer) this.bindToken(this.caller);
  }

  /** Ends the session (once): the shell stops, the client hears why, the audit trail records it. */
  end(code: TerminalCloseCode, reason: string): void {
    if (this.ended) return;
    this.ended = { code, reason: closeReason(reason) };
    for (const timer of this.timers) clearTimeout(timer);
    clearTimeout(this.tokenTimer);
    clearTimeout(this.idleTimer);
    this.abort.abort(new TerminalRefusal(code, this.ended.reason));
    if (this.shell) {
      this.shell.stream.removeAllListeners('data');
      this.shell.stream.stderr.removeAllListeners('data');
      this.shell.client.end();
    }
    this.deps.onEnded(this);
    if (!this.peer) return; // never opened: the registry audits the refusal
    this.peer.closed(code, this.ended.reason, code === TERMINAL_CLOSE.normal ? this.exitCode : undefined);
    this.deps.track(
      this.deps.audit.record({
        actor: this.caller.username,
        action: 'terminal.close',
        target: `project:${this.target.projectId}`,
        ip: this.caller.ip,
        result: 'success',
        detail: {
          ...auditTarget(this.target),
          session: this.id,
          seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
          bytesToHost: this.bytesToHost,
          bytesFromHost: this.bytesFromHost,
          code,
          reason: this.ended.reason,
          ...(this.exitCode !== undefined ? { exitCode: this.exitCode } : {}),
        },
      }),
    );
  }

  private throwIfEnded(): void {
    if (this.ended) throw new TerminalRefusal(this.ended.code, this.ended.reason);
  }

  /** First contact: record the key the host showed, unless another contact recorded one first (then it must be the same). */
  private async recordFirstKey(line: string): Promise<void> {
    const address = this.target.address;
    const recorded = await this.deps.ssh.recordKeys(new Map([[address, line]]));
    if (recorded.includes(address)) return;
    const now = (await this.deps.ssh.knownKeys([address])).get(address) ?? '';
    const blob = line.split(' ')[2];
    if (!now.split('\n').some((l) => l.trim().split(/\s+/)[2] === blob)) {
      throw new TerminalRefusal(TERMINAL_CLOSE.hostKeyChanged, 'The host showed a key other than the one recorded for it meanwhile');
    }
  }

  private armIdle(wait: number): void {
    this.idleTimer = setTimeout(() => {
      const idle = Date.now() - this.lastInput;
      if (idle >= this.deps.limits.idleMs) this.end(TERMINAL_CLOSE.idle, 'No input for too long');
      else this.armIdle(this.deps.limits.idleMs - idle);
    }, wait);
  }

  private bindToken(caller: TerminalCaller): void {
    clearTimeout(this.tokenTimer);
    // setTimeout waits at most ~24.8 days; tokens live at most 7.
    this.tokenTimer = setTimeout(() => this.end(TERMINAL_CLOSE.unauthenticated, 'The session’s token expired'), Math.max(0, caller.expiresAt.getTime() - Date.now()));
  }
}

/** The audit detail naming the session's target. */
export function auditTarget(target: TerminalTarget): Record<string, unknown> {
  return {
    host: target.address,
    vmName: target.vmName,
    projectOwner: target.projectOwner,
    ...(target.asAdmin ? { asAdmin: true } : {}),
  };
}
