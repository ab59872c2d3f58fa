/**
 * A never-ending stream of project changes for one scope. Written as a plain async iterator
 * rather than an async generator: a generator parked on an `await` cannot run its `finally`
 * until the next change arrives, so a client that unsubscribes from a quiet topic would stay
 * on the bus. Here `return()` leaves the topic at once.
 */
import type { ChangeScope, ProjectChangeRecord, ProjectEventBus } from './event-bus.js';

/** Past this many undelivered changes, a newer change of a queued project replaces the older one. */
export const MAX_CHANGE_BACKLOG = 1000;

export function followChanges(bus: ProjectEventBus, scope: ChangeScope): AsyncIterableIterator<ProjectChangeRecord> {
  const queue: ProjectChangeRecord[] = [];
  let waiting: ((result: IteratorResult<ProjectChangeRecord>) => void) | undefined;
  let done = false;

  const unsubscribe = bus.subscribeChanges(scope, (change) => {
    if (done) return;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: change, done: false });
      return;
    }
    if (queue.length >= MAX_CHANGE_BACKLOG) {
      // A slow reader still ends up with every project's latest state and every deletion.
      const older = queue.findIndex((c) => c.id === change.id && !c.deleted);
      if (older >= 0) queue.splice(older, 1);
    }
    queue.push(change);
  });

  const finish = (): Promise<IteratorResult<ProjectChangeRecord>> => {
    if (!done) {
      done = true;
      unsubscribe();
      queue.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  };

  return {
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return: finish,
    throw(err?: unknown) {
      void finish();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
