/**
 * Runners for tests, passed with startTestServer({ runner }): the mock runner with a delay of
 * its own, a copy of it that says it cannot resume (so an interrupted run is failed), and a
 * gated mock runner whose run or teardown of a named service waits until the test lets it go,
 * so a test can look at a project while it is RUNNING or DELETING without racing the runner.
 */
import { loadCatalog } from '../../server/config/catalog.js';
import { MockRunner } from '../../server/runners/mock-runner.js';
import { RunAbortedError, type Runner, type RunnerContext } from '../../server/runners/runner.js';

/** The mock runner with the default catalog's steps. */
export function mockRunner(stepDelayMs = 5): MockRunner {
  const catalog = loadCatalog();
  return new MockRunner({ steps: catalog.mockSteps, stepDelayMs, provisioning: catalog.provisioning });
}

/** The same steps, from a runner that does not claim its steps may run twice. */
export function nonResumableRunner(stepDelayMs = 5): Runner {
  const inner = mockRunner(stepDelayMs);
  return {
    name: 'mock-non-resumable',
    resumable: false,
    run: (ctx) => inner.run(ctx),
    teardown: (ctx) => inner.teardown(ctx),
  };
}

/**
 * Where a gate holds a job of one service:
 * - `run`: before the run's first step (the project stays RUNNING);
 * - `teardown`: before the teardown's first step (DELETING, nothing undone yet);
 * - `teardown-done`: after every teardown step, before the hosts return and the project goes.
 */
export type GatePoint = 'run' | 'teardown' | 'teardown-done';

interface Gate {
  opened: Promise<void>;
  open: () => void;
  /** Resolves when a job reached the gate. */
  reached: Promise<void>;
  arrive: () => void;
}

export class GatedRunner implements Runner {
  readonly name = 'gated-mock';
  readonly resumable = true;
  private readonly inner: MockRunner;
  private readonly gates = new Map<string, Gate>();

  constructor(stepDelayMs = 5) {
    this.inner = mockRunner(stepDelayMs);
  }

  /** Closes a gate for `serviceName` at `point`; `reached` resolves once a job waits there. */
  hold(point: GatePoint, serviceName: string): { release: () => void; reached: Promise<void> } {
    let open!: () => void;
    let arrive!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const key = `${point}:${serviceName}`;
    this.gates.set(key, { opened, open, reached, arrive });
    return {
      reached,
      release: () => {
        this.gates.delete(key);
        open();
      },
    };
  }

  /** Opens every gate (before a server closes). */
  releaseAll(): void {
    for (const [key, gate] of this.gates) {
      this.gates.delete(key);
      gate.open();
    }
  }

  async run(ctx: RunnerContext): Promise<void> {
    await this.wait('run', ctx);
    await this.inner.run(ctx);
  }

  async teardown(ctx: RunnerContext): Promise<void> {
    await this.wait('teardown', ctx);
    await this.inner.teardown(ctx);
    await this.wait('teardown-done', ctx);
  }

  /** Waits while the gate is closed; a stop (cancel, delete, shutdown) ends the wait as the mock's sleep does. */
  private async wait(point: GatePoint, ctx: RunnerContext): Promise<void> {
    const gate = this.gates.get(`${point}:${ctx.spec.serviceName}`);
    if (!gate) return;
    gate.arrive();
    const { signal } = ctx;
    if (signal.aborted) throw new RunAbortedError(String(signal.reason ?? 'aborted'));
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new RunAbortedError(String(signal.reason ?? 'aborted')));
      signal.addEventListener('abort', onAbort, { once: true });
      void gate.opened.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
