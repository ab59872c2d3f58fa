/**
 * ansible-playbook as a child process: started in a process group of its own, read line by
 * line, and stopped with SIGINT, then SIGTERM, then SIGKILL a grace period apart. Every process
 * of a run — the playbook, its forks, the ssh connections and their ControlPersist masters (which
 * leave the group) — carries the run's directory in its environment (`HCMP_RUN_DIR`) or, for the
 * masters, in its command line (the control socket's path). That is how what a run left behind is
 * found: after the run, and when a project's job is taken up again after its server was killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_DIR_VARIABLE = 'HCMP_RUN_DIR';

export interface PlaybookExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PlaybookProcess {
  pid: number;
  exited: Promise<PlaybookExit>;
  /** The last lines of stderr (warnings, ERROR! lines), for a failure's message. */
  stderrTail(): string[];
  /** SIGINT, then SIGTERM, then SIGKILL to the process group, `graceMs` apart; resolves once it exited. */
  stop(graceMs: number): Promise<PlaybookExit>;
}

export interface StartOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  onLine(line: string): void;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

export function startPlaybook(options: StartOptions): PlaybookProcess {
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true, // a process group of its own: signals reach its forks too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const exited = new Promise<PlaybookExit>((resolve) => {
    child.once('error', () => resolve({ code: 127, signal: null }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let at: number;
    while ((at = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      options.onLine(line);
    }
  });
  child.stdout!.on('end', () => {
    if (pending) options.onLine(pending);
    pending = '';
  });
  let errPending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    errPending += chunk;
    const lines = errPending.split('\n');
    errPending = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) tail.push(l.trim());
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    exited,
    stderrTail: () => (errPending.trim() ? [...tail, errPending.trim()] : [...tail]),
    async stop(graceMs) {
      if (pid <= 0) return exited;
      let done = false;
      void exited.then(() => {
        done = true;
      });
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
        if (done) break;
        signalGroup(pid, signal);
        await Promise.race([exited, new Promise((r) => setTimeout(r, signal === 'SIGKILL' ? 5_000 : graceMs))]);
      }
      return exited;
    },
  };
}

/** Processes (not this one) whose environment holds `HCMP_RUN_DIR` with a value that starts with `prefix`. */
export function processesOfRuns(prefix: string): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found; // not Linux: nothing to find this way
  }
  const needle = `${RUN_DIR_VARIABLE}=${prefix}`;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    let cmdline: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    // ssh's ControlPersist master writes its title ("ssh: <run>/cp/… [mux]") over its argv and
    // environment, so it is known by the control path in its command line instead.
    if (environ.split('\0').some((v) => v.startsWith(needle)) || cmdline.includes(prefix)) found.push(Number(entry));
  }
  return found;
}

/** Running (a zombie waiting for its parent to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stops every process of the runs under `prefix` (SIGTERM, then SIGKILL after `graceMs`) and
 * waits until they are gone; answers their pids.
 */
export async function stopRunProcesses(prefix: string, graceMs: number): Promise<number[]> {
  const pids = processesOfRuns(prefix);
  if (!pids.length) return pids;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const killDeadline = Date.now() + 5_000;
  while (pids.some(alive) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
  return pids;
}
