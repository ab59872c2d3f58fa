/**
 * Turns ansible-playbook's JSON-lines output (the `ansible.posix.jsonl` stdout callback) into
 * what a project's log shows: a line per play, per task start (with the progress, tasks done of
 * all), per host result (ok / changed / skipping / failed / unreachable, with the message), and
 * the recap per host. Pure: no process, no database.
 */

export type HostOutcome = 'ok' | 'changed' | 'skipping' | 'failed' | 'unreachable';

export interface HostFailure {
  host: string;
  address: string | undefined;
  task: string;
  unreachable: boolean;
  message: string;
}

export type PlaybookOutput =
  | { kind: 'play'; log: string }
  /** A task started: the ones before it are done on every host (the linear strategy). */
  | { kind: 'task'; index: number; log: string }
  | { kind: 'result'; outcome: HostOutcome; log: string; failure?: HostFailure }
  | { kind: 'recap'; logs: string[]; customStats: Record<string, unknown> };

/** The longest message kept from one result (a failing command may print megabytes). */
const MAX_MESSAGE = 600;

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

/** One line, control characters out, cut to `max`. */
function oneLine(value: string, max = MAX_MESSAGE): string {
  const flat = value.trim().replace(/(\r?\n)+/g, ' ⏎ ').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** What a failed or unreachable result says: its msg, then stderr or stdout, never module arguments. */
function messageOf(result: Record<string, unknown>): string {
  if (typeof result.censored === 'string') return 'output hidden (no_log)';
  const parts = [text(result.msg)];
  const stderr = text(result.stderr).trim();
  const stdout = text(result.stdout).trim();
  if (stderr) parts.push(stderr);
  else if (stdout && !parts[0]) parts.push(stdout);
  if (typeof result.rc === 'number' && result.rc !== 0) parts.push(`rc=${result.rc}`);
  if (Array.isArray(result.results)) {
    // A loop: the failed items' messages.
    for (const item of result.results as Record<string, unknown>[]) {
      if (item && (item.failed || item.unreachable)) parts.push(messageOf(item));
    }
  }
  return oneLine(parts.filter(Boolean).join(': ') || 'no message');
}

/** ssh's words for a host whose key is not the one recorded. */
export const HOST_KEY_CHANGED = /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i;

export class PlaybookTranslator {
  private tasksStarted = 0;
  private currentTask = '';
  /** All the tasks of the run, once `ansible-playbook --list-tasks` told (handlers and dynamic includes are not in it). */
  total: number | null = null;
  readonly failures: HostFailure[] = [];

  constructor(
    /** inventory name → address, to name a failing host by both. */
    private readonly addresses: Map<string, string>,
  ) {}

  /** Tasks started so far (the last of them may still be running). */
  get started(): number {
    return this.tasksStarted;
  }

  /** The outputs of one stdout line; lines that are not callback events (warnings) give none. */
  translate(line: string): PlaybookOutput[] {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) return [];
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return [];
    }
    switch (event._event) {
      case 'v2_playbook_on_play_start':
        return [{ kind: 'play', log: `PLAY [${oneLine(text((event.play as { name?: unknown })?.name), 200)}]` }];
      case 'v2_playbook_on_task_start':
      case 'v2_playbook_on_handler_task_start':
      case 'v2_runner_on_start':
        return this.taskStart(event);
      case 'v2_runner_on_ok':
      case 'v2_runner_on_failed':
      case 'v2_runner_on_skipped':
      case 'v2_runner_on_unreachable':
        return this.results(event);
      case 'v2_playbook_on_stats':
        return [this.recap(event)];
      default:
        return [];
    }
  }

  private taskStart(event: Record<string, unknown>): PlaybookOutput[] {
    const task = event.task as { name?: unknown; id?: unknown } | undefined;
    const name = oneLine(text(task?.name), 200) || 'unnamed task';
    // The free strategy announces a task once per host (v2_runner_on_start): count it once.
    if (event._event === 'v2_runner_on_start' && name === this.currentTask) return [];
    this.currentTask = name;
    this.tasksStarted++;
    const handler = event._event === 'v2_playbook_on_handler_task_start' ? 'RUNNING HANDLER' : 'TASK';
    const of = this.total !== null && this.tasksStarted <= this.total ? `${this.tasksStarted}/${this.total}` : `${this.tasksStarted}`;
    return [{ kind: 'task', index: this.tasksStarted, log: `[${of}] ${handler} [${name}]` }];
  }

  private results(event: Record<string, unknown>): PlaybookOutput[] {
    const hosts = (event.hosts ?? {}) as Record<string, Record<string, unknown>>;
    const out: PlaybookOutput[] = [];
    for (const [host, result] of Object.entries(hosts)) {
      const address = this.addresses.get(host);
      let outcome: HostOutcome;
      if (event._event === 'v2_runner_on_unreachable') outcome = 'unreachable';
      else if (event._event === 'v2_runner_on_failed') outcome = 'failed';
      else if (event._event === 'v2_runner_on_skipped') outcome = 'skipping';
      else outcome = result.changed ? 'changed' : 'ok';
      const ignored = outcome === 'failed' && result.ignore_errors === true;
      if (outcome === 'failed' || outcome === 'unreachable') {
        const message = messageOf(result);
        const failure: HostFailure = { host, address, task: this.currentTask, unreachable: outcome === 'unreachable', message };
        if (!ignored) this.failures.push(failure);
        const where = outcome === 'unreachable' ? `${host} (${address ?? 'unknown address'})` : host;
        out.push({ kind: 'result', outcome, log: `${outcome}: [${where}]${ignored ? ' (ignored)' : ''}: ${message}`, failure });
      } else {
        const note = typeof result.msg === 'string' && result.action === 'ansible.builtin.debug' ? `: ${oneLine(result.msg, 300)}` : '';
        out.push({ kind: 'result', outcome, log: `${outcome}: [${host}]${note}` });
      }
    }
    return out;
  }

  private recap(event: Record<string, unknown>): PlaybookOutput {
    const stats = (event.stats ?? {}) as Record<string, Record<string, number>>;
    const logs = Object.entries(stats)
      // A play on the controller (the vCenter power-on play) that did nothing is no host of the project.
      .filter(([host, s]) => this.addresses.has(host) || (s.ok ?? 0) + (s.changed ?? 0) + (s.failures ?? 0) + (s.unreachable ?? 0) > 0)
      .map(
      ([host, s]) =>
        `RECAP ${host}: ok=${s.ok ?? 0} changed=${s.changed ?? 0} unreachable=${s.unreachable ?? 0} failed=${s.failures ?? 0} skipped=${s.skipped ?? 0} rescued=${s.rescued ?? 0} ignored=${s.ignored ?? 0}`,
    );
    const customStats = (event.global_custom_stats ?? {}) as Record<string, unknown>;
    return { kind: 'recap', logs, customStats };
  }

  /** Why the run failed, naming each failing host once (its first failure), for the project's error. */
  failureSummary(): string | null {
    if (!this.failures.length) return null;
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const f of this.failures) {
      if (seen.has(f.host)) continue;
      seen.add(f.host);
      if (f.unreachable) {
        const why = HOST_KEY_CHANGED.test(f.message)
          ? 'its SSH host key has changed since it was recorded (an admin can reset it in the pool if the host was rebuilt)'
          : f.message;
        parts.push(`host ${f.host} (${f.address ?? '?'}) is unreachable: ${why}`);
      } else {
        parts.push(`host ${f.host} failed at task "${f.task}": ${f.message}`);
      }
    }
    return parts.join('; ');
  }
}

/** How many tasks `ansible-playbook --list-tasks` lists (its human-readable output). */
export function countListedTasks(output: string): number {
  let count = 0;
  let inTasks = false;
  for (const line of output.split('\n')) {
    if (/^\s+tasks:\s*$/.test(line)) {
      inTasks = true;
      continue;
    }
    if (/^\s+play #\d+/.test(line) || !line.trim()) {
      inTasks = false;
      continue;
    }
    if (inTasks && /\tTAGS: \[/.test(line)) count++;
  }
  return count;
}
