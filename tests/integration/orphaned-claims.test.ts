/**
 * No project stays claimed by an instance that does not run it (issue #14): each poll, an
 * instance compares the projects it claims with the jobs it runs and hands back any it does not
 * run, so this or another instance takes the job up again. Here the claim is orphaned on purpose
 * — a RUNNING project marked as claimed by the live instance behind its back — and must be
 * handed back and completed within two poll intervals. On SQLite and on PostgreSQL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import pg from 'pg';
import { backendsFor } from '../helpers/backends.js';
import { dataTargets, openDbView, provision, spawnServer, waitUntil, type DbTarget } from '../helpers/process.js';

const backends = await backendsFor('orphaned claims are handed back');
const data = dataTargets('orphan');
afterAll(() => data.cleanUp());

const POLL_MS = 1_000;

/** Runs one statement on the server's database behind its back. */
async function runBehindItsBack(db: DbTarget, text: string, params: unknown[]): Promise<void> {
  if (db.backend === 'sqlite') {
    const sqlite = new Database(db.sqlitePath);
    sqlite.pragma('busy_timeout = 5000');
    sqlite.prepare(text.replace(/\$\d+/g, '?')).run(...params);
    sqlite.close();
    return;
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(text, params);
  await client.end();
}

for (const backend of backends) {
  describe(`a claim held without a running job (${backend})`, () => {
    it(`is handed back and the job completed within two poll intervals (${POLL_MS} ms each)`, async () => {
      const db = await data.fresh(backend);
      // Heartbeats slower than the poll: the hand-back must come from the claim check, not a takeover.
      const server = await spawnServer({
        db,
        name: `orphan-${backend}`,
        env: { MOCK_STEP_DELAY_MS: '0', RUNNER_POLL_MS: String(POLL_MS), RUNNER_HEARTBEAT_MS: '1000', RUNNER_DEAD_AFTER_MS: '60000' },
      });
      const view = await openDbView(db);
      try {
        const token = await server.login();
        const id = await provision(server, token, { serviceName: 'orphan', template: 'single' });
        await waitUntil(async () => (await view.projects()).find((p) => p.id === id)?.status === 'COMPLETED', 15_000, 'the first run COMPLETED');
        const before = (await view.events()).filter((e) => e.projectId === id).length;

        // Claimed by the live instance, RUNNING, with no job behind it: what a job that stopped
        // without letting go leaves (its checkpoint cleared, so the resumed run does every step).
        await runBehindItsBack(db, `update projects set status = 'RUNNING', claimed_by = $1, completed_steps = null where id = $2`, [server.instanceId, id]);
        const orphanedAt = Date.now();
        await waitUntil(async () => (await view.projects()).find((p) => p.id === id)?.status === 'COMPLETED', 2 * POLL_MS + 1_000, 'the job completed again');
        const took = Date.now() - orphanedAt;
        expect(took).toBeLessThanOrEqual(2 * POLL_MS);

        const after = (await view.events()).filter((e) => e.projectId === id).slice(before);
        const messages = after.map((e) => e.message ?? `${e.kind}:${e.status}`);
        expect(messages[0]).toBe(`Handed back by instance ${server.instanceId}: it held the claim but no longer ran the job`);
        expect(messages[1]).toBe(`Resumed by instance ${server.instanceId} after an interruption (0 steps already done)`);
        expect(messages.at(-1)).toBe('status:COMPLETED');
        const row = (await view.projects()).find((p) => p.id === id)!;
        expect(row.claimedBy).toBeNull();
        expect(server.output()).toMatch(/handed back claims of jobs this instance no longer runs/);
      } finally {
        await view.close();
        await server.terminate();
      }
    }, 60_000);
  });
}
