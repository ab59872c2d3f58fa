import { describe, expect, it } from 'vitest';
import { ProjectEventBus, type ProjectEventRecord } from '../../server/services/event-bus.js';
import { followEvents } from '../../server/services/event-stream.js';

const event = (seq: number, status: ProjectEventRecord['status'] = 'RUNNING', kind: ProjectEventRecord['kind'] = 'log'): ProjectEventRecord => ({
  projectId: 1,
  seq,
  at: new Date(),
  kind,
  status,
  message: `line ${seq}`,
  data: null,
});

/** A store whose reads can be held open, to publish while a replay is under way. */
function fakeStore() {
  const rows: ProjectEventRecord[] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    rows,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => release();
    },
    load: async (after: number) => {
      await gate;
      return rows.filter((r) => r.seq > after).slice(0, 2);
    },
  };
}

async function take(stream: AsyncGenerator<ProjectEventRecord>, n: number): Promise<number[]> {
  const seen: number[] = [];
  for await (const e of stream) {
    seen.push(e.seq);
    if (seen.length === n) break;
  }
  return seen;
}

describe('replay-then-live event stream', () => {
  it('delivers events published during the replay exactly once, in order', async () => {
    const bus = new ProjectEventBus();
    const store = fakeStore();
    for (let s = 1; s <= 5; s++) store.rows.push(event(s));
    const release = store.hold();
    const stream = followEvents({ bus, projectId: 1, afterSeq: 0, finished: false, load: store.load });
    const reading = take(stream, 8);
    await new Promise((r) => setTimeout(r, 5));
    // Committed and published while the reader is still replaying: 6 and 7 are stored too.
    for (const s of [6, 7]) {
      store.rows.push(event(s));
      bus.publish(event(s));
    }
    release();
    await new Promise((r) => setTimeout(r, 5));
    store.rows.push(event(8, 'COMPLETED', 'status'));
    bus.publish(event(8, 'COMPLETED', 'status'));
    expect(await reading).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(bus.subscriberCount()).toBe(0);
  });

  it('fills a gap from the store when a live event arrives out of order', async () => {
    const bus = new ProjectEventBus();
    const store = fakeStore();
    store.rows.push(event(1));
    const stream = followEvents({ bus, projectId: 1, afterSeq: 0, finished: false, load: store.load });
    const reading = take(stream, 4);
    await new Promise((r) => setTimeout(r, 5));
    store.rows.push(event(2), event(3), event(4, 'FAILED', 'error'));
    bus.publish(event(3));
    bus.publish(event(4, 'FAILED', 'error'));
    bus.publish(event(2));
    expect(await reading).toEqual([1, 2, 3, 4]);
  });

  it('ends after the final status and when the project is deleted', async () => {
    const bus = new ProjectEventBus();
    const store = fakeStore();
    store.rows.push(event(1), event(2, 'COMPLETED', 'status'));
    expect(await take(followEvents({ bus, projectId: 1, afterSeq: 0, finished: false, load: store.load }), 10)).toEqual([1, 2]);

    // A final status that is no longer the newest event (retried, or being deleted) does not end
    // the replay: the stream goes on to the newest state and follows it live.
    store.rows.push(event(3, 'COMPLETED', 'log'), event(4, 'DELETING', 'status'));
    const later = followEvents({ bus, projectId: 1, afterSeq: 0, finished: false, load: store.load });
    const following = take(later, 10);
    await new Promise((r) => setTimeout(r, 5));
    store.rows.push(event(5, 'DELETING', 'log'));
    bus.publish(event(5, 'DELETING', 'log'));
    await new Promise((r) => setTimeout(r, 5));
    bus.close(1);
    expect(await following).toEqual([1, 2, 3, 4, 5]);

    const open = followEvents({ bus, projectId: 1, afterSeq: 5, finished: false, load: store.load });
    const reading = take(open, 10);
    await new Promise((r) => setTimeout(r, 5));
    bus.close(1);
    expect(await reading).toEqual([]);
    expect(bus.subscriberCount()).toBe(0);
  });

  it('publishes per project: other projects see nothing', () => {
    const bus = new ProjectEventBus();
    const seen: number[] = [];
    bus.subscribe(2, (e) => seen.push(e.seq), () => undefined);
    bus.publish(event(1));
    expect(seen).toEqual([]);
  });
});
