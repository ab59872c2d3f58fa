/**
 * The default runner: walks the configured steps with a delay, then reports resources in the
 * original's shape. `config.mockFailAt: "<step id>"` makes the run fail at that step, so tests
 * and demos can show the failure path deterministically.
 */
import type { Catalog, MockStep } from '../config/catalog.js';
import type { ProjectResources } from '../entities/project-details.js';
import { RunAbortedError, type Runner, type RunnerContext } from './runner.js';

export interface MockRunnerOptions {
  steps: MockStep[];
  stepDelayMs: number;
  provisioning: Catalog['provisioning'];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new RunAbortedError(String(signal.reason ?? 'aborted')));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RunAbortedError(String(signal.reason ?? 'aborted')));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** DNS-safe form of a service name for the mock URLs. */
export function serviceSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'service';
}

export function mockResources(ctx: Pick<RunnerContext, 'spec' | 'hosts'>, p: Catalog['provisioning']): ProjectResources {
  const slug = serviceSlug(ctx.spec.serviceName);
  return {
    alb_ip: ctx.hosts[0]?.ipAddress ?? '',
    web_url: p.webUrlPattern.replace('{slug}', slug),
    db_vip: p.dbVipPattern.replace('{slug}', slug),
    ssh_targets: ctx.hosts.map((h) => ({ host: h.ipAddress, port: p.sshPort, user: p.sshUser })),
  };
}

/** Checkpoint id of the step that reports resources, after the configured steps. */
export const RESOURCES_STEP = 'resources';
export const teardownStepId = (stepId: string) => `teardown:${stepId}`;

export class MockRunner implements Runner {
  readonly name = 'mock';
  /** Every step only logs and the resources are derived from the hosts: safe to redo. */
  readonly resumable = true;

  constructor(private readonly options: MockRunnerOptions) {}

  async run(ctx: RunnerContext): Promise<void> {
    for (const step of this.options.steps) {
      if (ctx.completedSteps.has(step.id)) continue;
      await sleep(this.options.stepDelayMs, ctx.signal);
      if (ctx.spec.mockFailAt === step.id) {
        await ctx.log(step.log);
        throw new Error(`Mock failure injected at step "${step.id}" (${step.log})`);
      }
      await ctx.completeStep(step.id, step.log);
    }
    if (ctx.completedSteps.has(RESOURCES_STEP)) return;
    await sleep(this.options.stepDelayMs, ctx.signal);
    await ctx.completeStep(RESOURCES_STEP, null, mockResources(ctx, this.options.provisioning));
  }

  /** Undoes the completed steps in reverse order, one logged and checkpointed step each. */
  async teardown(ctx: RunnerContext): Promise<void> {
    for (const step of [...this.options.steps].reverse()) {
      if (!ctx.completedSteps.has(step.id) || ctx.completedSteps.has(teardownStepId(step.id))) continue;
      await sleep(this.options.stepDelayMs, ctx.signal);
      await ctx.completeStep(teardownStepId(step.id), step.teardownLog ?? `Undoing: ${step.log}`);
    }
  }
}
