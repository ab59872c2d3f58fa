/**
 * The runner seam. A runner gets plain data (project id, spec, hosts) and reports through
 * its context; it never touches the database, GraphQL or HTTP. Real runners (Ansible first)
 * implement the same interface and are chosen by configuration.
 *
 * Steps and checkpoints: a runner names its steps. `completeStep` records a step's log line
 * and the checkpoint in one transaction, so after a crash the step is either recorded (and
 * skipped on resume) or not (and done again); it is never recorded twice. A runner whose steps
 * are idempotent says `resumable` and is resumed after a crash; any other is failed with
 * "interrupted" and its hosts are returned.
 */
import type { ProjectResources } from '../entities/project-details.js';
import type { ProvisionSpec } from '../services/provision-input.js';

export interface RunnerHost {
  vmName: string;
  ipAddress: string;
}

export interface RunnerContext {
  projectId: number;
  spec: ProvisionSpec;
  hosts: RunnerHost[];
  /** Aborted on cancel, delete or shutdown: stop at the next safe point. */
  signal: AbortSignal;
  /** Steps already completed in this attempt (a resumed run skips them). */
  readonly completedSteps: ReadonlySet<string>;
  /** Records one log line (persisted and streamed before this resolves). */
  log(message: string): Promise<void>;
  /** Records a step as done, with its log line (if any) and, optionally, what it produced. */
  completeStep(stepId: string, log: string | null, resources?: ProjectResources): Promise<void>;
  /**
   * Records several log lines and step checkpoints in one write (a runner with a lot of output
   * batches what arrived while the last write was under way). Steps already recorded are not
   * recorded again; the lines always are.
   */
  record(entries: { logs?: string[]; steps?: string[] }): Promise<void>;
}

export interface Runner {
  readonly name: string;
  /** Its steps may run again after a crash without harm, so an interrupted run is resumed. */
  readonly resumable: boolean;
  /** Resolves when the run succeeded; throws (with a message for the user) when it failed. */
  run(ctx: RunnerContext): Promise<void>;
  /**
   * Removes what the run created (`ctx.completedSteps` tells what that was; teardown steps it
   * completes are added there too, so a resumed teardown skips them). Must be idempotent.
   */
  teardown(ctx: RunnerContext): Promise<void>;
}

/** Thrown by a runner that stopped because its signal was aborted. */
export class RunAbortedError extends Error {
  constructor(reason: string) {
    super(`Run stopped: ${reason}`);
    this.name = 'RunAbortedError';
  }
}
