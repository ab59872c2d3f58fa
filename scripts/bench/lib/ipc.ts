/**
 * Parent side of the plumbing for the benchmark processes (child side: child.mjs). Every process the harness starts is a
 * `fork` with an IPC channel: the parent calls methods (`child.call('fanout', {...})`), the
 * child answers. A child exits as soon as its IPC channel closes, so a parent that dies (even
 * by SIGKILL) takes its children with it; the parent also kills every child still registered
 * when it exits, on any path.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
const CHILDREN_DIR = join(import.meta.dirname, '..', 'children');

interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
interface Ready {
  type: 'ready';
  info: unknown;
}
interface Fatal {
  type: 'fatal';
  error: string;
}
type ChildMessage = Reply | Ready | Fatal;

const live = new Set<BenchChild>();

/** Kills every child still running (SIGKILL); safe to call from an 'exit' handler. */
export function killAllChildren(): void {
  for (const child of live) child.kill();
  live.clear();
}

export function liveChildren(): number {
  return live.size;
}

export interface ChildOptions {
  /** Shown in errors and in the log tail. */
  name: string;
  /** File under scripts/bench/children/, e.g. `loadgen.ts`; a `.mjs` file runs on plain node (no TypeScript loader). */
  file: string;
  env?: Record<string, string | undefined>;
  /** Start from `env` alone instead of this process's environment plus `env`. */
  cleanEnv?: boolean;
  /** Extra node flags (e.g. --expose-gc, --cpu-prof). */
  nodeFlags?: string[];
  /** How long to wait for the child's `ready` message. */
  readyTimeoutMs?: number;
}

export class BenchChild<Info = unknown> {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly ready: Promise<Info>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private readonly tailLines: string[] = [];
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(options: ChildOptions) {
    this.name = options.name;
    this.proc = fork(join(CHILDREN_DIR, options.file), [], {
      cwd: ROOT,
      execArgv: [...(options.file.endsWith('.ts') ? ['--import', 'tsx'] : []), ...(options.nodeFlags ?? [])],
      env: { ...(options.cleanEnv ? {} : process.env), ...options.env, HCMP_BENCH_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    live.add(this);
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        this.tailLines.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
        if (this.tailLines.length > 60) this.tailLines.shift();
      }
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    let readyResolve!: (info: Info) => void;
    let readyReject!: (err: Error) => void;
    this.ready = new Promise<Info>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    // Nobody may await `ready` (e.g. a child killed early); never an unhandled rejection.
    this.ready.catch(() => undefined);
    const readyTimer = setTimeout(
      () => readyReject(new Error(`${this.name}: not ready within ${options.readyTimeoutMs ?? 60_000} ms\n${this.tail()}`)),
      options.readyTimeoutMs ?? 60_000,
    );
    this.proc.on('message', (raw: unknown) => {
      const message = raw as ChildMessage;
      if (message.type === 'ready') {
        clearTimeout(readyTimer);
        readyResolve(message.info as Info);
      } else if (message.type === 'fatal') {
        clearTimeout(readyTimer);
        readyReject(new Error(`${this.name} failed: ${message.error}\n${this.tail()}`));
      } else if (message.type === 'reply') {
        const waiter = this.pending.get(message.id);
        if (!waiter) return;
        this.pending.delete(message.id);
        clearTimeout(waiter.timer);
        if (message.ok) waiter.resolve(message.result);
        else waiter.reject(new Error(`${this.name}: ${message.error}`));
      }
    });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        live.delete(this);
        clearTimeout(readyTimer);
        const why = new Error(`${this.name} exited (code ${code}, signal ${signal})\n${this.tail()}`);
        readyReject(why);
        for (const waiter of this.pending.values()) {
          clearTimeout(waiter.timer);
          waiter.reject(why);
        }
        this.pending.clear();
        resolve();
      });
    });
    this.proc.on('error', (err) => readyReject(new Error(`${this.name}: ${err.message}`)));
  }

  get alive(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The child's last lines of output, for error messages. */
  tail(): string {
    return this.tailLines.length ? this.tailLines.map((l) => `    | ${l}`).join('\n') : '    | (no output)';
  }

  call<T = unknown>(method: string, params: unknown = {}, timeoutMs = 600_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited\n${this.tail()}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${method} timed out after ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.proc.send({ type: 'call', id, method, params }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`${this.name}: could not send ${method}: ${err.message}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.exited) return;
    try {
      this.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
