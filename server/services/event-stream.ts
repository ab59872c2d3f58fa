/**
 * Replay-then-live delivery of one project's events. The bus is joined before the first
 * read, so nothing published during the replay is lost; anything already replayed is skipped,
 * and a gap (an event published out of order) is filled from the database.
 */
import { TERMINAL_STATUSES } from '../entities/index.js';
import type { ProjectEventBus, ProjectEventRecord } from './event-bus.js';

export interface FollowOptions {
  bus: ProjectEventBus;
  projectId: number;
  afterSeq: number;
  /** The project already reached its final status and the caller has seen every event. */
  finished: boolean;
  /** Stored events with seq > after, in order, a page at a time. */
  load(after: number): Promise<ProjectEventRecord[]>;
}

export const isFinalEvent = (e: ProjectEventRecord): boolean =>
  (e.kind === 'status' || e.kind === 'error') && TERMINAL_STATUSES.includes(e.status);

export async function* followEvents(opts: FollowOptions): AsyncGenerator<ProjectEventRecord> {
  if (opts.finished) return;
  const pending: ProjectEventRecord[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const unsubscribe = opts.bus.subscribe(
    opts.projectId,
    (event) => {
      pending.push(event);
      notify();
    },
    () => {
      closed = true;
      notify();
    },
  );
  let cursor = opts.afterSeq;
  const triedToFill = new Set<number>();
  try {
    // Replay what is stored, page by page, then fill any gap the live queue shows.
    const catchUp = async function* (): AsyncGenerator<ProjectEventRecord> {
      for (;;) {
        const page = await opts.load(cursor);
        for (const event of page) {
          cursor = event.seq;
          yield event;
        }
        if (page.length === 0) return;
      }
    };
    // A final status in the middle of the stored events is not the end (the project was retried,
    // or is being deleted): only the newest stored event may end the replay.
    let last: ProjectEventRecord | undefined;
    for await (const event of catchUp()) {
      yield event;
      last = event;
    }
    if (last && isFinalEvent(last) && !pending.some((e) => e.seq > last!.seq)) return;
    for (;;) {
      while (pending.length > 0) {
        const event = pending.shift()!;
        if (event.seq <= cursor) continue;
        if (event.seq > cursor + 1 && !triedToFill.has(event.seq)) {
          triedToFill.add(event.seq);
          pending.unshift(event);
          let lastMissed: ProjectEventRecord | undefined;
          for await (const missed of catchUp()) {
            yield missed;
            lastMissed = missed;
          }
          if (lastMissed && isFinalEvent(lastMissed) && !pending.some((e) => e.seq > lastMissed!.seq)) return;
          continue;
        }
        cursor = event.seq;
        yield event;
        if (isFinalEvent(event)) return;
      }
      if (closed) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    unsubscribe();
  }
}
