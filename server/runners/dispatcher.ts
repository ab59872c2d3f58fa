/**
 * Runs PENDING projects in the background, a bounded number at a time. For each job it
 * takes the hosts (atomically, with the RUNNING status), drives the runner through a context,
 * saves every change through the journal (which publishes after commit), and on any failure
 * records the error on the project and returns its hosts. It never throws at its caller.
 */
import type { Catalog } from '../config/catalog.js';
import type { Orm } from '../db/orm.js';
import { Project } from '../entities/index.js';
import { PoolExhaustedError } from '../services/errors.js';
import { ProjectGoneError, type ProjectJournal } from '../services/project-journal.js';
import { PROJECT_DELETED_REASON, type ProvisionQueue } from '../services/projects.js';
import { specFromDetails } from '../services/provision-input.js';
import type { AllocatedHost, WorkloadPool } from '../services/workload-pool.js';
import { RunAbortedError, type Runner, type RunnerContext } from './runner.js';

export interface DispatcherLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface DispatcherDeps {
  orm: Orm;
  journal: ProjectJournal;
  pool: WorkloadPool;
  runner: Runner;
  catalog: Catalog;
  concurrency: number;
  logger: DispatcherLogger;
}

export const RESTART_REASON = 'interrupted by server restart';
export const SHUTDOWN_REASON = 'interrupted by server shutdown';

interface ActiveJob {
  controller: AbortController;
  done: Promise<void>;
}

export class Dispatcher implements ProvisionQueue {
  private readonly waiting: number[] = [];
  private readonly waitingSet = new Set<number>();
  private readonly active = new Map<number, ActiveJob>();
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: DispatcherDeps) {}

  enqueue(projectId: number): void {
    if (this.closing || this.waitingSet.has(projectId) || this.active.has(projectId)) return;
    this.waiting.push(projectId);
    this.waitingSet.add(projectId);
    this.pump();
  }

  async abort(projectId: number, reason: string): Promise<void> {
    if (this.waitingSet.delete(projectId)) this.waiting.splice(this.waiting.indexOf(projectId), 1);
    const job = this.active.get(projectId);
    if (!job) return;
    job.controller.abort(reason);
    await job.done;
  }

  /** Jobs waiting or running. */
  get load(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.active.size };
  }

  /** Resolves when no job waits or runs (tests and shutdown). */
  whenIdle(): Promise<void> {
    if (this.waiting.length === 0 && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Start-up recovery: runs left RUNNING by a dead process are failed with the reason and
   * their hosts returned; hosts held by no live project are freed; PENDING ones are run.
   */
  async recover(): Promise<{ failed: number; released: number; resumed: number }> {
    const em = this.deps.orm.em.fork();
    const running = await em.find(Project, { status: 'RUNNING' }, { fields: ['id'], orderBy: { id: 'asc' } });
    for (const { id } of running) {
      await this.deps.journal.write(id, async ({ em: tem, project }) => {
        if (project.status !== 'RUNNING') return [];
        await this.deps.pool.release(tem, id);
        return [{ kind: 'error', message: RESTART_REASON }];
      });
    }
    const released = await this.deps.pool.releaseOrphans(em);
    const pending = await em.find(Project, { status: 'PENDING' }, { fields: ['id'], orderBy: { id: 'asc' } });
    for (const { id } of pending) this.enqueue(id);
    return { failed: running.length, released, resumed: pending.length };
  }

  /** Stops taking jobs, aborts running ones (they end FAILED with the reason) and waits for them. */
  async close(): Promise<void> {
    this.closing = true;
    this.waiting.length = 0;
    this.waitingSet.clear();
    const jobs = [...this.active.values()];
    for (const job of jobs) job.controller.abort(SHUTDOWN_REASON);
    await Promise.all(jobs.map((j) => j.done));
  }

  private pump(): void {
    while (!this.closing && this.active.size < this.deps.concurrency && this.waiting.length > 0) {
      const projectId = this.waiting.shift()!;
      this.waitingSet.delete(projectId);
      const controller = new AbortController();
      const done = this.execute(projectId, controller.signal)
        .catch((err) => this.deps.logger.error({ err, projectId }, 'provisioning job crashed'))
        .finally(() => {
          this.active.delete(projectId);
          this.pump();
          if (this.waiting.length === 0 && this.active.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
      this.active.set(projectId, { controller, done });
    }
  }

  private async execute(projectId: number, signal: AbortSignal): Promise<void> {
    const { journal, pool, catalog, runner } = this.deps;
    const project = await this.deps.orm.em.fork().findOne(Project, projectId);
    if (!project || project.status !== 'PENDING') return;
    const spec = specFromDetails(project.details, project.owner, catalog);
    const allocationLog = { kind: 'log', message: catalog.provisioning.allocationLog } as const;

    let hosts: AllocatedHost[] = [];
    try {
      await journal.write(projectId, async ({ em, project: locked }) => {
        if (locked.status !== 'PENDING') throw new ProjectGoneError(projectId);
        hosts = await pool.allocate(em, locked.infra, spec.hostCount, projectId, locked.owner);
        return [allocationLog, { kind: 'status', status: 'RUNNING' }];
      });
    } catch (err) {
      if (err instanceof ProjectGoneError) return;
      if (!(err instanceof PoolExhaustedError)) throw err;
      await journal.append(projectId, allocationLog, { kind: 'error', message: err.message }).catch(ignoreGone);
      return;
    }

    const ensureLive = () => {
      if (signal.aborted) throw new RunAbortedError(String(signal.reason));
    };
    const ctx: RunnerContext = {
      projectId,
      spec,
      hosts: hosts.map((h) => ({ vmName: h.vmName, ipAddress: h.ipAddress })),
      signal,
      log: async (message) => {
        ensureLive();
        await journal.append(projectId, { kind: 'log', message });
      },
      reportResources: async (resources) => {
        ensureLive();
        await journal.append(projectId, { kind: 'resources', resources });
      },
    };
    try {
      await runner.run(ctx);
      ensureLive();
      await journal.write(projectId, async ({ em }) => {
        await pool.markAssigned(em, projectId);
        return [
          { kind: 'log', message: catalog.provisioning.completedLog },
          { kind: 'status', status: 'COMPLETED' },
        ];
      });
    } catch (err) {
      if (err instanceof ProjectGoneError || signal.reason === PROJECT_DELETED_REASON) return;
      const message = signal.aborted ? String(signal.reason) : errorMessage(err);
      await journal
        .write(projectId, async ({ em }) => {
          await pool.release(em, projectId);
          return [{ kind: 'error', message }];
        })
        .catch(ignoreGone);
    }
  }
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.slice(0, 2000) || 'provisioning failed';
}

function ignoreGone(err: unknown): void {
  if (!(err instanceof ProjectGoneError)) throw err;
}
