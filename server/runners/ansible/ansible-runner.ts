/**
 * RUNNER=ansible: a project is provisioned by running `provision.yml` and removed by running
 * `teardown.yml` from ANSIBLE_PLAYBOOK_DIR against the project's pool hosts over SSH (the
 * contract is docs/PLAYBOOKS.md).
 *
 * A run is a private directory (inventory, the `hcmp` variables, the key file, known_hosts,
 * ssh's control sockets) made for it and removed after it, as ansible-runner does. The playbook
 * runs in a process group of its own; its JSON-lines output becomes the project's log as it
 * arrives, and every task start checkpoints the task before it, so a resumed run says where the
 * interrupted one stood. Cancel, delete, shutdown and the time limit stop it (SIGINT, SIGTERM,
 * SIGKILL). Before a run starts, whatever an earlier run of the same project left running on this
 * machine (its server was killed) is stopped: never two playbooks on one project.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AnsibleConfig } from '../../config/index.js';
import type { Catalog } from '../../config/catalog.js';
import type { ProjectResources } from '../../entities/project-details.js';
import { RunAbortedError, type Runner, type RunnerContext } from '../runner.js';
import { countListedTasks, PlaybookTranslator } from './events.js';
import { hcmpVars, hcmpVarsYaml, inventoryHosts, inventoryYaml, rolesOf, vcenterVarsYaml, type InventoryHost, type VcenterAccess } from './inventory.js';
import { RUN_DIR_VARIABLE, startPlaybook, stopRunProcesses, type PlaybookProcess } from './processes.js';

const run = promisify(execFile);

/** What the runner needs to reach hosts; H-CMP's SshAccess (services/ssh-access.ts) is one. */
export interface HostAccess {
  credentials(): Promise<{ user: string; privateKey: string } | null>;
  knownKeys(addresses: string[]): Promise<Map<string, string>>;
  recordKeys(learned: Map<string, string>): Promise<string[]>;
}

export interface AnsibleRunnerOptions {
  config: AnsibleConfig;
  catalog: Catalog;
  access: HostAccess;
  /** vCenter's address and account when set in the admin settings (the power-on play), else null. */
  vcenter(): Promise<VcenterAccess | null>;
  /** Parses known_hosts text into lines per address (services/ssh-access.ts parseKnownHosts). */
  parseKnownHosts(text: string): Map<string, string>;
}

type Playbook = 'provision' | 'teardown';

/** Steps recorded for a playbook's tasks: `ansible:<playbook>:<n>` once task n finished on every host. */
export const taskStep = (playbook: Playbook, n: number) => `ansible:${playbook}:${n}`;
export const RESOURCES_STEP = 'resources';

/** At most `size` holders at once; the others wait in order (or give up when their signal aborts). */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  get busy(): number {
    return this.used;
  }

  /** Resolves to a release function; rejects with RunAbortedError when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(once(release));
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new RunAbortedError(String(signal.reason ?? 'aborted')));
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}

/**
 * The runner's writes, in order and batched: lines and checkpoints that arrive while a write is
 * under way go together in the next one. The first failure (a cancel met at the write's fence,
 * the database gone for too long) is kept and stops further writes; `flush` rethrows it.
 */
class Recorder {
  private logs: string[] = [];
  private steps: string[] = [];
  private writing: Promise<void> | null = null;
  failure: unknown = null;

  constructor(
    private readonly ctx: RunnerContext,
    private readonly onFailure: (err: unknown) => void,
  ) {}

  add(logs: string[], steps: string[] = []): void {
    if (this.failure) return;
    this.logs.push(...logs);
    this.steps.push(...steps);
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.logs.length || this.steps.length) {
        const logs = this.logs.splice(0);
        const steps = this.steps.splice(0);
        await this.ctx.record({ logs, steps });
      }
    } catch (err) {
      this.failure = err;
      this.logs = [];
      this.steps = [];
      this.onFailure(err);
    } finally {
      this.writing = null;
    }
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }
}

export class AnsibleRunner implements Runner {
  readonly name = 'ansible';
  /** Both playbooks are idempotent (docs/PLAYBOOKS.md): an interrupted run is run again. */
  readonly resumable = true;
  private readonly slots: Slots;

  constructor(private readonly options: AnsibleRunnerOptions) {
    this.slots = new Slots(options.config.maxParallel);
    mkdirSync(options.config.runDir, { recursive: true, mode: 0o700 });
    chmodSync(options.config.runDir, 0o700);
  }

  async run(ctx: RunnerContext): Promise<void> {
    await this.play('provision', ctx);
  }

  async teardown(ctx: RunnerContext): Promise<void> {
    await this.play('teardown', ctx);
  }

  /** The prefix of every run directory of a project: what its processes carry in HCMP_RUN_DIR. */
  private projectPrefix(projectId: number): string {
    return join(this.options.config.runDir, `p${projectId}-`);
  }

  private async play(playbook: Playbook, ctx: RunnerContext): Promise<void> {
    const { config } = this.options;
    // Never two playbooks on one project: what an earlier run left on this machine goes first.
    const leftovers = await stopRunProcesses(this.projectPrefix(ctx.projectId), config.stopGraceMs);
    if (leftovers.length) {
      await ctx.log(`Stopped ${leftovers.length} process(es) an earlier run of this project left running (pids ${leftovers.join(', ')})`);
    }
    if (this.slots.busy >= config.maxParallel) await ctx.log(`Waiting for a free playbook slot (ANSIBLE_MAX_PARALLEL=${config.maxParallel})`);
    const release = await this.slots.acquire(ctx.signal);
    const dir = join(config.runDir, `p${ctx.projectId}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
    try {
      await this.runIn(dir, playbook, ctx);
    } finally {
      // ssh's ControlPersist masters leave the playbook's process group; they carry the directory.
      await stopRunProcesses(dir, 1_000).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      release();
    }
  }

  private async runIn(dir: string, playbook: Playbook, ctx: RunnerContext): Promise<void> {
    const { config, catalog, access } = this.options;
    if (ctx.signal.aborted) throw new RunAbortedError(String(ctx.signal.reason));
    const credentials = await access.credentials();
    if (!credentials) {
      throw new Error('No SSH credentials for the pool hosts: set sshUser and sshPrivateKey in the admin settings, or SSH_USER and SSH_PRIVATE_KEY_FILE');
    }
    const hosts = inventoryHosts(ctx.hosts, rolesOf(ctx.spec, catalog, ctx.hosts.length));
    mkdirSync(dir, { mode: 0o700 });
    for (const sub of ['cp', 'tmp', 'home']) mkdirSync(join(dir, sub), { mode: 0o700 });
    const file = (name: string, content: string) => writeFileSync(join(dir, name), content, { mode: 0o600 });
    file('id_key', credentials.privateKey);
    const recorded = await access.knownKeys(hosts.map((h) => h.ipAddress));
    file('known_hosts', [...recorded.values()].map((lines) => `${lines}\n`).join(''));
    file('inventory.yml', inventoryYaml(hosts));
    file('hcmp.yml', hcmpVarsYaml(hcmpVars(ctx.projectId, ctx.spec, hosts)));
    const args = ['-i', join(dir, 'inventory.yml'), '-e', `@${join(dir, 'hcmp.yml')}`];
    const vcenter = await this.options.vcenter();
    if (vcenter) {
      file('vcenter.yml', vcenterVarsYaml(vcenter));
      args.push('-e', `@${join(dir, 'vcenter.yml')}`);
    }
    const playbookFile = join(config.playbookDir, `${playbook}.yml`);
    args.push(playbookFile);
    const env = playbookEnvironment({ dir, projectId: ctx.projectId, user: credentials.user, hostCount: hosts.length, searchPath: config.searchPath });

    const done = [...ctx.completedSteps].filter((s) => s.startsWith(`ansible:${playbook}:`)).length;
    if (done > 0) {
      await ctx.log(`Resuming: the interrupted run had finished ${done} task(s) of ${playbook}.yml; running it again from the start (its tasks are idempotent)`);
    }
    await ctx.log(`Running ${playbook}.yml on ${hosts.map((h) => `${h.vmName} (${h.ipAddress}, ${h.role})`).join(', ')}`);

    const translator = new PlaybookTranslator(new Map(hosts.map((h) => [h.vmName, h.ipAddress])));
    translator.total = await this.countTasks(playbookFile, dir, env);
    let child: PlaybookProcess | undefined;
    let stopping: Promise<unknown> | undefined;
    const stop = () => (stopping ??= child ? child.stop(config.stopGraceMs) : Promise.resolve());
    // A write refused (a cancel met at its fence, the database gone too long) stops the playbook.
    const recorder = new Recorder(ctx, () => void stop());
    let customStats: Record<string, unknown> = {};
    child = startPlaybook({
      command: config.playbookCommand,
      args,
      cwd: config.playbookDir,
      env,
      onLine: (line) => {
        for (const out of translator.translate(line)) {
          if (out.kind === 'task') {
            // The task before this one finished on every host.
            recorder.add([out.log], out.index > 1 ? [taskStep(playbook, out.index - 1)] : []);
          } else if (out.kind === 'recap') {
            customStats = out.customStats;
            // The play ended: its last task finished too, unless a host failed.
            const last = translator.started > 0 && translator.failures.length === 0 ? [taskStep(playbook, translator.started)] : [];
            recorder.add(out.logs, last);
          } else {
            recorder.add([out.log]);
          }
        }
      },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stop();
    }, config.runTimeoutMs);
    const onAbort = () => void stop();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let exit;
    try {
      exit = await child.exited;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    await stopping;
    await this.learnHostKeys(dir, recorded);
    await recorder.flush();
    if (ctx.signal.aborted) throw new RunAbortedError(String(ctx.signal.reason));
    if (timedOut) throw new Error(`${playbook}.yml ran longer than ANSIBLE_RUN_TIMEOUT_MINUTES (${+(config.runTimeoutMs / 60_000).toFixed(2)} min) and was stopped`);
    if (exit.code !== 0) {
      const why = translator.failureSummary() ?? errorLines(child.stderrTail()) ?? `ansible-playbook exited with ${exit.signal ?? `code ${exit.code}`}`;
      throw new Error(`${playbook}.yml failed: ${why}`);
    }
    if (playbook === 'provision') {
      await ctx.completeStep(RESOURCES_STEP, null, resourcesOf(hosts, customStats.hcmp_resources, credentials.user));
    }
  }

  /**
   * How many tasks the playbook lists (for "[n/N]"): `--list-tasks` before the run (a few tenths
   * of a second, at most 15 s); not cached, so an edited playbook is counted as it is now.
   */
  private countTasks(playbookFile: string, dir: string, env: Record<string, string>): Promise<number | null> {
    return run(this.options.config.playbookCommand, ['--list-tasks', '-i', join(dir, 'inventory.yml'), '-e', `@${join(dir, 'hcmp.yml')}`, playbookFile], {
      cwd: this.options.config.playbookDir,
      env,
      timeout: 15_000,
    }).then(
      ({ stdout }) => countListedTasks(stdout) || null,
      () => null,
    );
  }

  /** Records the keys hosts presented on first contact (those with none recorded yet). */
  private async learnHostKeys(dir: string, recorded: Map<string, string>): Promise<void> {
    const path = join(dir, 'known_hosts');
    if (!existsSync(path)) return;
    const learned = this.options.parseKnownHosts(readFileSync(path, 'utf8'));
    for (const address of recorded.keys()) learned.delete(address);
    if (learned.size) await this.options.access.recordKeys(learned);
  }
}

/**
 * The environment of a run: only what ansible needs, never the server's own (database URL, keys).
 * The key file, known_hosts and control sockets are the run directory's.
 */
export function playbookEnvironment(run: { dir: string; projectId: number; user: string; hostCount: number; searchPath: string }): Record<string, string> {
  const { dir } = run;
  const sshArgs = [
    '-o ControlMaster=auto',
    '-o ControlPersist=30s',
    `-o UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=accept-new',
    '-o HashKnownHosts=no',
    '-o BatchMode=yes',
    '-o ServerAliveInterval=15',
  ].join(' ');
  return {
    PATH: run.searchPath,
    HOME: join(dir, 'home'),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    [RUN_DIR_VARIABLE]: dir,
    HCMP_PROJECT_ID: String(run.projectId),
    ANSIBLE_STDOUT_CALLBACK: 'ansible.posix.jsonl',
    ANSIBLE_SHOW_CUSTOM_STATS: 'True',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_SSH_ARGS: sshArgs,
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    ANSIBLE_PRIVATE_KEY_FILE: join(dir, 'id_key'),
    ANSIBLE_REMOTE_USER: run.user,
    ANSIBLE_TIMEOUT: '10',
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_FORKS: String(Math.min(Math.max(run.hostCount, 5), 50)),
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_NOCOLOR: 'True',
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    ANSIBLE_HOME: join(dir, 'home', '.ansible'),
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    ANSIBLE_SYSTEM_WARNINGS: 'False',
  };
}

/** The ERROR! lines ansible printed (a syntax error, a missing file), if any. */
function errorLines(tail: string[]): string | null {
  const errors = tail.filter((l) => /^ERROR!|^\[ERROR\]|error/i.test(l));
  return errors.length ? errors.join(' ').slice(0, 1000) : null;
}

/**
 * The project's resources: what the playbook reported (`hcmp_resources`, unknown keys kept), the
 * rest derived from the hosts (docs/PLAYBOOKS.md).
 */
export function resourcesOf(hosts: InventoryHost[], reported: unknown, user: string): ProjectResources {
  const first = (group: string) => hosts.find((h) => h.groups.includes(group));
  const front = first('lb') ?? first('web') ?? hosts[0];
  const db = first('db');
  const given = reported && typeof reported === 'object' && !Array.isArray(reported) ? (reported as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    ...given,
    alb_ip: str(given.alb_ip) ?? front?.ipAddress ?? '',
    web_url: str(given.web_url) ?? (front ? `http://${front.ipAddress}/` : ''),
    db_vip: str(given.db_vip) ?? db?.ipAddress ?? '',
    ssh_targets: hosts.map((h) => ({ host: h.ipAddress, port: 22, user })),
  };
}
