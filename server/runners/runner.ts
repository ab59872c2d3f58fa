/**
 * The runner seam. A runner gets plain data (project id, spec, hosts) and reports through
 * its context; it never touches the database, GraphQL or HTTP. Real runners (Ansible first)
 * implement the same interface and are chosen by configuration.
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
  /** Aborted when the project is deleted or the server shuts down: stop at the next safe point. */
  signal: AbortSignal;
  /** Records one log line (persisted and streamed before this resolves). */
  log(message: string): Promise<void>;
  /** Records what the run produced. */
  reportResources(resources: ProjectResources): Promise<void>;
}

export interface Runner {
  readonly name: string;
  /** Resolves when the run succeeded; throws (with a message for the user) when it failed. */
  run(ctx: RunnerContext): Promise<void>;
}

/** Thrown by a runner that stopped because its signal was aborted. */
export class RunAbortedError extends Error {
  constructor(reason: string) {
    super(`Run stopped: ${reason}`);
    this.name = 'RunAbortedError';
  }
}
