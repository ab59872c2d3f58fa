/**
 * The worker side of every server instance. The `projects` table is the job queue: a project
 * that is PENDING, DELETING, or RUNNING without an owner (handed back, or left by a dead
 * instance) is a job. An instance claims one with a single locking query (`FOR UPDATE SKIP
 * LOCKED` on PostgreSQL; SQLite has one writer) and marks it with its id in `claimed_by`, in
 * the same transaction that records the new status. Every later write of the job re-reads the
 * locked row and goes on only while `claimed_by` is still this instance and no cancel or
 * delete is pending: that check is the fence that keeps a job from running twice, even when an
 * instance that was thought dead wakes up.
 *
 * Instances heartbeat in `runner_instances`. One whose heartbeat is older than
 * RUNNER_DEAD_AFTER_MS is removed by any other, and its projects lose their owner, so they are
 * claimed again: a resumable runner continues from its last checkpoint, any other ends FAILED
 * with "interrupted" and returns its hosts. On shutdown an instance stops claiming, stops its
 * jobs at their next safe point and hands them back (owner cleared) for another instance, or
 * itself after a restart, to resume.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Catalog } from '../config/catalog.js';
import { backendOf, type Orm } from '../db/orm.js';
import { Project, RunnerInstance, type InfraType, type PendingAction, type ProjectDetails, type ProjectStatus } from '../entities/index.js';
import type { ProjectEventBus } from '../services/event-bus.js';
import type { ControlMessage, EventFeed } from '../services/event-feed.js';
import { ProjectGoneError, type EventDraft, type JournalTx, type ProjectJournal, type WriteReceipt } from '../services/project-journal.js';
import type { ProvisionQueue } from '../services/projects.js';
import { specFromDetails } from '../services/provision-input.js';
import type { WorkloadPool } from '../services/workload-pool.js';
import { RunAbortedError, type Runner, type RunnerContext } from './runner.js';
import { sql } from '../db/sql.js';
import { DatabaseOutageError, isDatabaseUnavailable, waitOutOutage } from '../db/unavailable.js';

export interface DispatcherLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface DispatcherTiming {
  /** How often this instance refreshes its heartbeat. */
  heartbeatMs: number;
  /** An instance silent for this long is dead; its jobs are taken over. */
  deadAfterMs: number;
  /** How often to look for dead instances and unclaimed jobs (besides notifications). */
  pollMs: number;
  /** On shutdown, how long to wait for running jobs to reach a safe point. */
  shutdownGraceMs: number;
  /**
   * How long a job waits out an unreachable database (each write retried with back-off) before
   * it stops; its claim is then handed back as soon as the database answers (DB_OUTAGE_GRACE_SECONDS).
   */
  outageGraceMs: number;
}

/** The status a run ended in. */
export type RunOutcome = Extract<ProjectStatus, 'COMPLETED' | 'FAILED' | 'CANCELLED'>;

/**
 * Hears of every run this instance ended, once, after the outcome was stored (metrics).
 * `seconds` runs from this instance's claim of the run to its end; null when the instance settled
 * the run without running it (interrupted and not resumable, or a cancel found at the claim).
 * Called synchronously: it must be quick and must not throw.
 */
export interface RunObserver {
  runFinished(infra: InfraType, status: RunOutcome, seconds: number | null): void;
}

export interface DispatcherDeps {
  orm: Orm;
  journal: ProjectJournal;
  pool: WorkloadPool;
  runner: Runner;
  catalog: Catalog;
  feed: EventFeed;
  /** Every committed change of every project, from this instance and (through the feed) all others. */
  bus: ProjectEventBus;
  concurrency: number;
  timing: DispatcherTiming;
  logger: DispatcherLogger;
  runs?: RunObserver;
}

export const RESTART_REASON = 'interrupted by server restart';
export const SHUTDOWN_REASON = 'interrupted by server shutdown';
export const CANCELLED_LOG = 'Cancelled; hosts returned to the pool';
const TEARDOWN_RETRY_BASE_MS = 5_000;
const TEARDOWN_RETRY_MAX_MS = 300_000;

/**
 * Why a job's signal was aborted. `lost`: this instance was taken for dead and its claims were
 * cleared; `stopped`: the job could not record its outcome (see launch) and lets go.
 */
type StopReason = PendingAction | 'handoff' | 'lost' | 'stopped';

/** A cancel or delete is pending on the project. */
class StopRequested extends Error {
  constructor(readonly action: PendingAction) {
    super(`stop requested: ${action}`);
  }
}

/** Another instance owns the project now (this one was thought dead): let go silently. */
class ClaimLostError extends Error {
  constructor(projectId: number) {
    super(`project ${projectId} is no longer claimed by this instance`);
  }
}

type Plan = 'run' | 'teardown';

interface ClaimedJob {
  projectId: number;
  infra: InfraType;
  /** performance.now() at this instance's claim. */
  claimedAt: number;
  plan: Plan;
  owner: string;
  details: ProjectDetails;
  completedSteps: string[];
  hosts: { vmName: string; ipAddress: string }[];
}

interface ActiveJob {
  /** Replaced when a run stopped by a delete goes on with the teardown. */
  controller: AbortController;
  plan: Plan;
  done: Promise<void>;
}

export interface StartReport {
  instanceId: string;
  /** Projects whose owner was dead (or, on SQLite, any earlier process) and are claimable again. */
  reclaimed: number;
  /** Hosts held by no live project, returned to the pool. */
  released: number;
}

export class Dispatcher implements ProvisionQueue {
  readonly instanceId: string;
  private readonly postgres: boolean;
  private readonly active = new Map<number, ActiveJob>();
  private stopping = false;
  private started = false;
  private stopWatchingChanges: (() => void) | undefined;
  private pumping = false;
  private pumpAgain = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Failed teardowns this instance holds and will try again. */
  private readonly retryTimers = new Map<number, NodeJS.Timeout>();
  private readonly teardownFailures = new Map<number, number>();
  /** Failed teardowns between their retry timer and their relaunch (still held, not yet running). */
  private readonly relaunching = new Set<number>();
  /** The poll asks for a check of this instance's claims; the pump runs it between claims. */
  private reconcileDue = false;
  /**
   * Since when this instance has reached the database again after it last found it unavailable
   * (0: it never did); null while it cannot reach it.
   */
  private databaseUpSince: number | null = 0;
  private databaseDownSince = 0;
  private heartbeating = false;
  /** Aborted once close() stops waiting for jobs: writes stop waiting out an outage. */
  private readonly closing = new AbortController();

  constructor(private readonly deps: DispatcherDeps) {
    this.instanceId = `${hostname().slice(0, 32)}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.postgres = backendOf(deps.orm) === 'postgresql';
  }

  /** Registers the instance, takes over jobs of dead ones, and starts claiming. */
  async start(): Promise<StartReport> {
    const em = this.deps.orm.em.fork();
    await this.register(em);
    if (!this.postgres) {
      // The embedded database belongs to one process: whoever registered before is gone.
      await em.nativeDelete(RunnerInstance, { id: { $ne: this.instanceId } });
    }
    this.deps.feed.onJobs(() => this.wake());
    // An order, a retry or a delete commits a change to PENDING or DELETING, which every
    // instance hears through the feed: that is the announcement of the new job (no separate
    // notification per order, which on PostgreSQL took the notify lock a second time).
    this.stopWatchingChanges = this.deps.bus.subscribeChanges({ all: true }, (change) => {
      if (!change.deleted && (change.status === 'PENDING' || change.status === 'DELETING')) this.wake();
    });
    this.deps.feed.onControl((message) => this.onControl(message));
    const reclaimed = await this.sweep();
    const released = await this.deps.journal.transact((tx) => this.deps.pool.releaseOrphans(tx.db));
    this.started = true;
    const { heartbeatMs, pollMs } = this.deps.timing;
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatMs));
    this.timers.push(
      setInterval(() => {
        this.reconcileDue = true;
        this.sweep()
          .catch((err) => this.databaseFailed(err, 'dispatcher sweep failed'))
          .finally(() => this.wake());
      }, pollMs),
    );
    for (const t of this.timers) t.unref();
    this.wake();
    return { instanceId: this.instanceId, reclaimed, released };
  }

  /** A new job exists: this instance looks at once; the others hear of its change through the feed. */
  enqueue(): void {
    this.wake();
  }

  /** Asks whichever instance runs the project to stop it at its next safe point. */
  async requestStop(projectId: number, action: PendingAction): Promise<void> {
    // A job of this instance stops at once; any other instance hears it through the feed. If the
    // feed is down, the request is not lost: it is in the project row (pendingAction), and the
    // job meets it at its next write.
    this.onControl({ projectId, action });
    await this.deps.feed.sendControl({ projectId, action }).catch((err) => this.deps.logger.warn({ err, projectId }, 'could not announce a stop request; the job sees it at its next step'));
  }

  /** Jobs running on this instance. */
  get load(): { running: number; instance: string } {
    return { running: this.active.size, instance: this.instanceId };
  }

  /** Resolves when this instance runs no job and found nothing more to claim (tests). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops claiming, stops running jobs at their next safe point, hands them back, leaves. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopWatchingChanges?.();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // A claim in flight finishes first; the job it launches is stopped with the others.
    await this.pumpDone;
    // Teardowns waiting to be tried again go back to the queue for whoever runs next.
    const waitingTeardowns = [...this.retryTimers.keys()];
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    if (waitingTeardowns.length) {
      await this.deps.orm.em
        .fork()
        .nativeUpdate(Project, { id: { $in: waitingTeardowns }, claimedBy: this.instanceId }, { claimedBy: null })
        .catch(() => undefined);
    }
    const jobs = [...this.active.values()];
    for (const job of jobs) job.controller.abort('handoff' satisfies StopReason);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.deps.timing.shutdownGraceMs);
    });
    await Promise.race([Promise.all(jobs.map((j) => j.done)), grace]);
    clearTimeout(timer);
    // Jobs still waiting out an unreachable database give up now; the claims they hold are taken
    // over by another instance once this one's heartbeat is old enough.
    this.closing.abort();
    if (this.started) {
      await this.deps.orm.em.fork().nativeDelete(RunnerInstance, { id: this.instanceId }).catch(() => undefined);
    }
    this.resolveIdle();
  }

  private isIdle(): boolean {
    return this.active.size === 0 && !this.pumping;
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private onControl(message: ControlMessage): void {
    const job = this.active.get(message.projectId);
    // A teardown is not stopped by a cancel or delete (a late copy of the request that ended the run).
    if (job && job.plan === 'run') job.controller.abort(message.action satisfies StopReason);
  }

  /** The instance's row: alive as long as its heartbeat goes on. */
  private async register(em: EntityManager): Promise<void> {
    const now = new Date();
    await em.insert(RunnerInstance, { id: this.instanceId, hostname: hostname().slice(0, 255), pid: process.pid, startedAt: now, heartbeatAt: now });
  }

  private async heartbeat(): Promise<void> {
    // A heartbeat still waiting for an unreachable database is not joined by another.
    if (this.stopping || this.heartbeating) return;
    this.heartbeating = true;
    try {
      const em = this.deps.orm.em.fork();
      const conn = em.getConnection();
      const viaPool = async () =>
        this.postgres
          ? Number((await conn.execute('update runner_instances set heartbeat_at = now() where id = ?', [this.instanceId], 'run')).affectedRows ?? 0)
          : em.nativeUpdate(RunnerInstance, { id: this.instanceId }, { heartbeatAt: new Date() });
      const feed = this.deps.feed;
      // On PostgreSQL the feed's own connection, so a pool busy with job writes cannot delay
      // the heartbeat; the pool when that connection is down.
      const changed =
        this.postgres && feed.execute
          ? await feed.execute('update runner_instances set heartbeat_at = now() where id = $1', [this.instanceId]).catch(viaPool)
          : await viaPool();
      if (changed === 0 && !this.stopping) {
        // Another instance took us for dead: our jobs lost their owner. Stop them now (they
        // let go at their fence) and register again so we may claim new work.
        this.deps.logger.warn({ instance: this.instanceId, jobs: this.active.size }, 'this instance was taken for dead; stopping its jobs and registering again');
        for (const job of this.active.values()) job.controller.abort('lost' satisfies StopReason);
        await this.register(em);
      }
      this.databaseAnswered();
    } catch (err) {
      this.databaseFailed(err, 'heartbeat failed');
    } finally {
      this.heartbeating = false;
    }
  }

  /**
   * A database call of the dispatcher failed. An unreachable database starts an outage (said
   * once, not at every poll); anything else is logged as the error it is.
   */
  private databaseFailed(err: unknown, what: string): void {
    if (!isDatabaseUnavailable(err)) {
      this.deps.logger.error({ err }, what);
      return;
    }
    if (this.databaseUpSince === null) return;
    this.databaseUpSince = null;
    this.databaseDownSince = Date.now();
    this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err), jobs: this.active.size }, 'database unavailable: jobs wait and retry their writes');
  }

  /** A database call of the dispatcher succeeded: an outage, if any, is over. */
  private databaseAnswered(): void {
    if (this.databaseUpSince !== null) return;
    this.databaseUpSince = Date.now();
    this.deps.logger.info({ downForMs: this.databaseUpSince - this.databaseDownSince, jobs: this.active.size }, 'database reachable again');
  }

  /** Removes dead instances and clears the owner of projects nobody alive holds; returns how many. */
  private async sweep(): Promise<number> {
    const em = this.deps.orm.em.fork();
    const conn = em.getConnection();
    const { deadAfterMs } = this.deps.timing;
    // After an outage every instance's heartbeat is as old as the outage, though the instances
    // are alive: nobody is taken for dead until this instance has reached the database again for
    // RUNNER_DEAD_AFTER_MS (time for the others to heartbeat), nor until PostgreSQL itself has
    // been up that long (a restart this instance may not have noticed).
    const upSince = this.databaseUpSince;
    if (upSince === null || Date.now() - upSince < deadAfterMs) {
      // not yet
    } else if (this.postgres) {
      await conn.execute(
        `delete from runner_instances where id <> ? and heartbeat_at < now() - (? * interval '1 millisecond')
           and pg_postmaster_start_time() < now() - (? * interval '1 millisecond')`,
        [this.instanceId, deadAfterMs, deadAfterMs],
        'run',
      );
    } else {
      await em.nativeDelete(RunnerInstance, { id: { $ne: this.instanceId }, heartbeatAt: { $lt: new Date(Date.now() - deadAfterMs) } });
    }
    const result = await conn.execute(
      `update projects set claimed_by = null where claimed_by is not null and claimed_by not in (select id from runner_instances)`,
      [],
      'run',
    );
    const reclaimed = Number(result.affectedRows ?? result.changes ?? 0);
    if (reclaimed) this.deps.logger.warn({ reclaimed }, 'took over projects of instances that stopped');
    this.databaseAnswered();
    return reclaimed;
  }

  /**
   * No project stays claimed by this instance without running here: a claim whose job is not in
   * the running set (its job stopped without letting go — the database was unreachable for
   * longer than DB_OUTAGE_GRACE_SECONDS, or the answer to a claim's COMMIT was lost) is handed
   * back, with a log line saying so, and claimed again by whoever is free. Runs in the pump,
   * never beside a claim of this instance.
   */
  private async reconcile(): Promise<void> {
    const held = () => new Set([...this.active.keys(), ...this.retryTimers.keys(), ...this.relaunching]);
    const rows = await sql<{ id: number }[]>(this.deps.orm.em.fork(), 'select id from projects where claimed_by = ?', [this.instanceId]);
    const orphans = rows.map((r) => Number(r.id)).filter((id) => !held().has(id));
    for (const id of orphans) {
      await this.deps.journal.transact(async (tx) => {
        const p = await tx.lock(id);
        if (!p || p.claimedBy !== this.instanceId || held().has(id)) return;
        p.claimedBy = null;
        tx.append(p, { kind: 'log', message: `Handed back by instance ${this.instanceId}: it held the claim but no longer ran the job` });
      });
    }
    if (orphans.length) this.deps.logger.warn({ projects: orphans }, 'handed back claims of jobs this instance no longer runs');
    this.databaseAnswered();
  }

  private wake(): void {
    if (this.stopping || !this.started) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.pumpDone = this.pump()
      .catch((err) => this.databaseFailed(err, 'dispatcher could not claim jobs'))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain && !this.stopping) {
          this.wake();
          return;
        }
        if (this.isIdle()) this.resolveIdle();
      });
  }

  private async pump(): Promise<void> {
    do {
      this.pumpAgain = false;
      if (this.reconcileDue && !this.stopping) {
        this.reconcileDue = false;
        await this.reconcile();
      }
      while (!this.stopping && this.active.size < this.deps.concurrency) {
        const claimed = await this.claimNext();
        if (claimed === null) break;
        if (claimed !== 'skip') this.launch(claimed);
      }
    } while (this.pumpAgain && !this.stopping && (this.reconcileDue || this.active.size < this.deps.concurrency));
  }

  /** Claims one job, or settles one that needs no run (interrupted non-resumable, pending cancel). */
  private async claimNext(): Promise<ClaimedJob | 'skip' | null> {
    const { journal, pool, runner } = this.deps;
    // Never a project whose job still runs here: when this instance was taken for dead (a stall
    // longer than RUNNER_DEAD_AFTER_MS), its projects lost their owner but its jobs go on until
    // their next write. Claiming one again under the same instance id would let that old job
    // pass the claim fence too, and both would run the same steps. It is claimable again once
    // the old job has met the fence and let go.
    const running = [...this.active.keys()];
    const settled: { status?: RunOutcome; infra?: InfraType } = {};
    const claimed = await journal.transact(async (tx): Promise<ClaimedJob | 'skip' | null> => {
      settled.status = undefined;
      const rows: { id: number }[] = await sql(
        tx.db,
        // SQLite is told which index to use: without statistics it picks projects_claimed_by_idx
        // (claimed_by is null on every finished project too) and walks the whole history.
        `select id from projects${this.postgres ? '' : ' indexed by projects_status_id_idx'} where claimed_by is null and status in ('PENDING', 'RUNNING', 'DELETING')${
          running.length ? ` and id not in (${running.map(() => '?').join(', ')})` : ''
        }
          order by id limit 1${this.postgres ? ' for update skip locked' : ''}`,
        running,
      );
      if (rows.length === 0) return null;
      const project = await tx.lock(rows[0].id);
      if (!project || project.claimedBy) return 'skip';
      const id = project.id;
      project.claimedBy = this.instanceId;
      let plan: Plan;
      if (project.status === 'PENDING') {
        plan = 'run';
        tx.append(project, { kind: 'status', status: 'RUNNING' });
      } else if (project.status === 'DELETING') {
        plan = 'teardown';
        tx.append(project, { kind: 'log', message: `Tearing down (instance ${this.instanceId})` });
      } else if (project.pendingAction === 'cancel') {
        await this.settleCancel(tx, project);
        Object.assign(settled, { status: 'CANCELLED', infra: project.infra });
        return 'skip';
      } else if (project.pendingAction === 'delete') {
        plan = 'teardown';
        this.enterDeleting(tx, project);
      } else if (runner.resumable) {
        plan = 'run';
        const done = project.completedSteps?.length ?? 0;
        tx.append(project, { kind: 'log', message: `Resumed by instance ${this.instanceId} after an interruption (${done} steps already done)` });
      } else {
        await pool.release(tx.db, id);
        project.claimedBy = null;
        tx.append(project, { kind: 'error', message: RESTART_REASON });
        Object.assign(settled, { status: 'FAILED', infra: project.infra });
        return 'skip';
      }
      const hosts = await pool.hostsOf(tx.db, id);
      return {
        projectId: id,
        infra: project.infra,
        claimedAt: performance.now(),
        plan,
        owner: project.owner,
        details: project.details,
        completedSteps: [...(project.completedSteps ?? [])],
        hosts: hosts.map((h) => ({ vmName: h.vmName, ipAddress: h.ipAddress })),
      };
    });
    if (settled.status && settled.infra) this.runFinished(settled.infra, settled.status, null);
    return claimed;
  }

  /** Tells the observer (metrics) that a run ended; its failure never reaches the job. */
  private runFinished(infra: InfraType, status: RunOutcome, claimedAt: number | null): void {
    if (!this.deps.runs) return;
    try {
      this.deps.runs.runFinished(infra, status, claimedAt === null ? null : (performance.now() - claimedAt) / 1000);
    } catch (err) {
      this.deps.logger.error({ err }, 'run observer failed');
    }
  }

  private launch(job: ClaimedJob): void {
    const entry: ActiveJob = { controller: new AbortController(), plan: job.plan, done: Promise.resolve() };
    entry.done = this.execute(job, entry)
      .catch((err) => {
        // Not even the outcome could be recorded. The job stops here and its claim stays
        // behind: the next poll's reconcile() hands it back (once the database answers), so the
        // job is taken up again instead of staying RUNNING.
        entry.controller.abort('stopped' satisfies StopReason);
        if (err instanceof DatabaseOutageError) {
          this.deps.logger.warn({ projectId: job.projectId, err: err.message }, 'job stopped waiting for the database; its claim is handed back once the database answers');
        } else {
          this.deps.logger.error({ err, projectId: job.projectId }, 'provisioning job crashed');
        }
        this.reconcileDue = true;
      })
      .finally(() => {
        this.active.delete(job.projectId);
        if (this.stopping) {
          if (this.active.size === 0) this.resolveIdle();
          return;
        }
        this.wake();
      });
    this.active.set(job.projectId, entry);
  }

  private enterDeleting(tx: JournalTx, project: Project): void {
    project.pendingAction = null;
    tx.append(project, { kind: 'status', status: 'DELETING' });
  }

  private async settleCancel(tx: JournalTx, project: Project): Promise<void> {
    await this.deps.pool.release(tx.db, project.id);
    project.pendingAction = null;
    project.claimedBy = null;
    tx.append(project, { kind: 'log', message: CANCELLED_LOG }, { kind: 'status', status: 'CANCELLED' });
  }

  /**
   * One journal transaction of a claimed job, fenced by the claim and pending actions.
   *
   * While the database is unavailable the write waits and is tried again with back-off, for up
   * to DB_OUTAGE_GRACE_SECONDS (then a DatabaseOutageError stops the job; see launch). A failure
   * can leave it unknown whether the COMMIT went through; the next attempt first looks for the
   * event the last one appended ({@link WriteReceipt}) and, when it is stored, counts the write
   * as done instead of doing it twice.
   */
  private jobWrite(projectId: number, fn: (tx: JournalTx, project: Project) => Promise<void> | void, honourStops = true): Promise<void> {
    let receipt: WriteReceipt | null = null;
    return waitOutOutage(
      () =>
        this.deps.journal.transact(async (tx) => {
          const project = await tx.lock(projectId);
          if (!project) throw new ProjectGoneError(projectId);
          if (receipt && (await tx.holds(receipt))) return;
          receipt = null;
          if (project.claimedBy !== this.instanceId) throw new ClaimLostError(projectId);
          if (honourStops && project.pendingAction) throw new StopRequested(project.pendingAction);
          await fn(tx, project);
          receipt = tx.receiptOf(projectId);
        }),
      {
        graceMs: this.deps.timing.outageGraceMs,
        signal: this.closing.signal,
        onRetry: (err) => this.databaseFailed(err, 'job write failed'),
      },
    ).then(() => this.databaseAnswered());
  }

  private context(job: ClaimedJob, signal: AbortSignal): RunnerContext {
    const completed = new Set(job.completedSteps);
    const ensureLive = () => {
      if (signal.aborted) throw new RunAbortedError(String(signal.reason));
    };
    return {
      projectId: job.projectId,
      spec: specFromDetails(job.details, job.owner, this.deps.catalog),
      hosts: job.hosts,
      signal,
      completedSteps: completed,
      log: async (message) => {
        ensureLive();
        await this.jobWrite(job.projectId, (tx, p) => tx.append(p, { kind: 'log', message }), job.plan === 'run');
      },
      completeStep: async (stepId, log, resources) => {
        ensureLive();
        await this.jobWrite(
          job.projectId,
          (tx, p) => {
            if (p.completedSteps?.includes(stepId)) return;
            const drafts: EventDraft[] = [];
            if (log) drafts.push({ kind: 'log', message: log });
            if (resources) drafts.push({ kind: 'resources', resources });
            p.completedSteps = [...(p.completedSteps ?? []), stepId];
            if (drafts.length) tx.append(p, ...drafts);
            else tx.touch(p);
          },
          job.plan === 'run',
        );
        completed.add(stepId);
      },
      record: async ({ logs = [], steps = [] }) => {
        ensureLive();
        if (!logs.length && !steps.length) return;
        await this.jobWrite(
          job.projectId,
          (tx, p) => {
            const done = new Set(p.completedSteps ?? []);
            const fresh = steps.filter((s) => !done.has(s));
            if (fresh.length) p.completedSteps = [...(p.completedSteps ?? []), ...fresh];
            if (logs.length) tx.append(p, ...logs.map((message): EventDraft => ({ kind: 'log', message })));
            else tx.touch(p);
          },
          job.plan === 'run',
        );
        for (const s of steps) completed.add(s);
      },
    };
  }

  private async execute(job: ClaimedJob, entry: ActiveJob): Promise<void> {
    if (job.plan === 'run') {
      const next = await this.run(job, entry.controller.signal);
      if (next !== 'teardown') return;
      // The delete aborted the run's signal; the teardown gets its own (still honouring shutdown).
      job.plan = 'teardown';
      entry.plan = 'teardown';
      entry.controller = new AbortController();
      if (this.stopping) entry.controller.abort('handoff' satisfies StopReason);
    }
    await this.teardown(job, entry.controller.signal);
  }

  /** Runs the runner; answers 'teardown' when a delete stopped it and the teardown follows. */
  private async run(job: ClaimedJob, signal: AbortSignal): Promise<'done' | 'teardown'> {
    const { pool, catalog, runner } = this.deps;
    const ctx = this.context(job, signal);
    try {
      await runner.run(ctx);
      if (signal.aborted) throw new RunAbortedError(String(signal.reason));
      await this.jobWrite(job.projectId, async (tx, p) => {
        await pool.markAssigned(tx.db, p.id);
        p.claimedBy = null;
        tx.append(p, { kind: 'log', message: catalog.provisioning.completedLog }, { kind: 'status', status: 'COMPLETED' });
      });
      this.runFinished(job.infra, 'COMPLETED', job.claimedAt);
      return 'done';
    } catch (err) {
      if (err instanceof ClaimLostError || err instanceof ProjectGoneError) return 'done';
      if (signal.aborted && signal.reason === 'lost') return 'done';
      // The database was unavailable for too long: nothing can be recorded (see launch).
      if (err instanceof DatabaseOutageError) throw err;
      const reason = signal.aborted ? (signal.reason as StopReason) : null;
      let outcome: 'done' | 'teardown' = 'done';
      const ended: { status?: RunOutcome } = {};
      const stored = await this.jobWrite(
        job.projectId,
        async (tx, p) => {
          ended.status = undefined;
          const action = p.pendingAction ?? (err instanceof StopRequested ? err.action : null);
          if (action === 'delete') {
            this.enterDeleting(tx, p);
            // The teardown undoes what the run completed, as recorded, not as first claimed.
            job.completedSteps = [...(p.completedSteps ?? [])];
            outcome = 'teardown';
          } else if (action === 'cancel') {
            await this.settleCancel(tx, p);
            ended.status = 'CANCELLED';
          } else if (reason === 'handoff') {
            if (runner.resumable) {
              p.claimedBy = null;
              tx.append(p, { kind: 'log', message: `Handed back by instance ${this.instanceId} (shutting down); it resumes on the next instance` });
            } else {
              await pool.release(tx.db, p.id);
              p.claimedBy = null;
              tx.append(p, { kind: 'error', message: SHUTDOWN_REASON });
              ended.status = 'FAILED';
            }
          } else {
            await pool.release(tx.db, p.id);
            p.claimedBy = null;
            tx.append(p, { kind: 'error', message: errorMessage(err) });
            ended.status = 'FAILED';
          }
        },
        false,
      ).then(
        () => true,
        (e: unknown) => {
          ignoreLost(e);
          return false;
        },
      );
      if (stored && ended.status) this.runFinished(job.infra, ended.status, job.claimedAt);
      return outcome;
    }
  }

  /** Undoes what the run created, returns the hosts and removes the project. */
  private async teardown(job: ClaimedJob, signal: AbortSignal): Promise<void> {
    const { pool, runner } = this.deps;
    const ctx = this.context(job, signal);
    try {
      await runner.teardown(ctx);
      if (signal.aborted) throw new RunAbortedError(String(signal.reason));
      await this.jobWrite(
        job.projectId,
        async (tx, p) => {
          await pool.release(tx.db, p.id);
          await tx.remove(p);
        },
        false,
      );
    } catch (err) {
      if (err instanceof ClaimLostError || err instanceof ProjectGoneError) return;
      if (signal.aborted && signal.reason === 'lost') return;
      if (err instanceof DatabaseOutageError) throw err;
      const handoff = signal.aborted && signal.reason === 'handoff';
      const failures = (this.teardownFailures.get(job.projectId) ?? 0) + 1;
      const delayMs = Math.min(TEARDOWN_RETRY_MAX_MS, TEARDOWN_RETRY_BASE_MS * 2 ** (failures - 1));
      await this.jobWrite(
        job.projectId,
        async (tx, p) => {
          if (handoff) {
            p.claimedBy = null;
            tx.append(p, { kind: 'log', message: `Teardown handed back by instance ${this.instanceId} (shutting down)` });
          } else {
            // What the teardown could not remove may still exist: the project stays DELETING
            // with its hosts held (they count against quotas) and this instance keeps it and
            // tries again later; if this instance dies, the next one does.
            tx.append(p, { kind: 'log', message: `Teardown failed: ${errorMessage(err)}; trying again in ${Math.round(delayMs / 1000)} s` });
          }
        },
        false,
      ).catch(ignoreLost);
      if (!handoff && !this.stopping) {
        this.teardownFailures.set(job.projectId, failures);
        const timer = setTimeout(() => {
          this.retryTimers.delete(job.projectId);
          void this.relaunchTeardown(job.projectId);
        }, delayMs);
        timer.unref();
        this.retryTimers.set(job.projectId, timer);
      }
      return;
    }
    this.teardownFailures.delete(job.projectId);
  }

  /** Runs the teardown of a project this instance still holds again (after a failure). */
  private async relaunchTeardown(projectId: number): Promise<void> {
    if (this.stopping || this.active.has(projectId)) return;
    this.relaunching.add(projectId);
    try {
      const job = await this.deps.journal.transact(async (tx) => {
        const p = await tx.lock(projectId);
        if (!p || p.claimedBy !== this.instanceId || p.status !== 'DELETING') return null;
        const hosts = await this.deps.pool.hostsOf(tx.db, projectId);
        return {
          projectId,
          infra: p.infra,
          claimedAt: performance.now(),
          plan: 'teardown' as const,
          owner: p.owner,
          details: p.details,
          completedSteps: [...(p.completedSteps ?? [])],
          hosts: hosts.map((h) => ({ vmName: h.vmName, ipAddress: h.ipAddress })),
        };
      });
      if (job) this.launch(job);
      else this.teardownFailures.delete(projectId);
    } catch (err) {
      this.databaseFailed(err, 'could not restart a teardown');
    } finally {
      this.relaunching.delete(projectId);
    }
  }
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.slice(0, 2000) || 'provisioning failed';
}

function ignoreLost(err: unknown): void {
  if (!(err instanceof ProjectGoneError) && !(err instanceof ClaimLostError)) throw err;
}
