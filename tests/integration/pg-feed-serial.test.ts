/**
 * The PostgreSQL event feed sends its own statements (NOTIFY of control messages, revocations
 * and account changes; the heartbeat) on its one LISTEN connection, from many requests at once.
 * node-postgres queues a query sent while another runs but warns that pg 9 will refuse it, so the
 * feed runs them one at a time: never two on the connection at once, all answered, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgFeed, REVOKED_CHANNEL } from '../../server/services/event-feed.js';
import { shouldRunPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';

const run = await shouldRunPostgres('pg-feed-serial');

describe.runIf(run)('PostgreSQL event feed: one statement at a time on its connection', () => {
  let feed: PgFeed;
  let listener: pg.Client;
  const heard: string[] = [];

  beforeAll(async () => {
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
    feed = new PgFeed({ url: TEST_POSTGRES_URL, logger: quiet as never, loadEvents: async () => [] });
    await feed.start();
    listener = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await listener.connect();
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`listen ${REVOKED_CHANNEL}`);
  });
  afterAll(async () => {
    await feed?.close();
    await listener?.end();
  });

  it('40 announcements and statements sent at once: at most one in flight, all done, announced in order', async () => {
    const client = (feed as unknown as { client: pg.Client }).client;
    const original = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    let inFlight = 0;
    let most = 0;
    (client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
      most = Math.max(most, ++inFlight);
      try {
        return await original(...args);
      } finally {
        inFlight--;
      }
    };
    const jtis = Array.from({ length: 30 }, (_, i) => `serial-${i}`);
    const results = await Promise.all([
      ...jtis.map((jti) => feed.announceRevocation(jti)),
      ...Array.from({ length: 10 }, () => feed.execute('select 1', [])),
    ]);
    (client as unknown as { query: unknown }).query = original;

    expect(most).toBe(1);
    expect(results.slice(30)).toEqual(Array(10).fill(1));
    const deadline = Date.now() + 5_000;
    while (heard.filter((h) => h.startsWith('serial-')).length < jtis.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(heard.filter((h) => h.startsWith('serial-'))).toEqual(jtis);
  });

  it('a failing statement does not stop the ones queued after it', async () => {
    const [failed, ok] = await Promise.allSettled([feed.execute('select * from no_such_table', []), feed.execute('select 1', [])]);
    expect(failed.status).toBe('rejected');
    expect(ok).toEqual({ status: 'fulfilled', value: 1 });
  });
});
