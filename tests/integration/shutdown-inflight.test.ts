/**
 * SIGTERM while orders are in flight (real server process, SQLite and PostgreSQL).
 *
 * 60 POST /api/provision, 20 at a time, one TCP connection per request (`connection: close`,
 * so no keep-alive socket can be reaped between two requests); SIGTERM once 15 answers are
 * in. Shutdown must answer every request the server took in, and only refuse new connections:
 * - every request ends in a complete HTTP answer (200, 409 or 503), or never reached the
 *   server: refused at connect because the listener is closed (ECONNREFUSED), or reset by the
 *   kernel because its connection was still in the accept queue when the listener closed
 *   (ECONNRESET, and the server never logged the request). A request the server did read must
 *   be answered: no UND_ERR_SOCKET "other side closed", ECONNRESET or truncated body for it;
 * - every stored project was answered 200 with its id, and every 200's project is stored;
 * - the process exits 0 within SHUTDOWN_GRACE_MS + a margin, with no error-level log
 *   (no "DriverException: aborted" from an ORM closed under a request);
 * - the next instance completes every stored project.
 *
 * Whether the server read a request is taken from its own log: each order carries its index
 * in the query string (`?order=N`, ignored by the route), and Fastify logs "incoming request"
 * with the URL once it has parsed the request line and headers (the 503s it sends without
 * routing once closing are logged without the URL, and matched by count).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import {
  accountFor,
  countBy,
  inBatches,
  dataTargets,
  openDbView,
  spawnServer,
  waitUntil,
  type DbTarget,
  type DbView,
  type ExitInfo,
  type ProjectRow,
  type ServerProcess,
} from '../helpers/process.js';

const backends = await backendsFor('shutdown with requests in flight (real processes)');

const ORDERS = 60;
const CONCURRENCY = 20;
const SIGTERM_AFTER_ANSWERS = 15;
const SHUTDOWN_GRACE_MS = 5_000;
const EXIT_MARGIN_MS = 5_000;
const TEMPLATES = ['single', 'standard', 'k8s_small'];

const data = dataTargets('shutdown');
afterAll(() => data.cleanUp());
const freshData = (backend: string): Promise<DbTarget> => data.fresh(backend);

const isSettled = (p: ProjectRow) => p.status !== 'RUNNING' && p.status !== 'PENDING';

/** Error-level (pino ≥ 50) lines, and anything that names the ORM closed under a query. */
function errorLines(server: ServerProcess): string[] {
  return server
    .output()
    .split('\n')
    .filter((l) => /"level":([5-9]\d)\b/.test(l) || /DriverException/.test(l));
}

/** How one order ended, as the client saw it. */
type Outcome =
  | { index: number; kind: 'answer'; status: number; body: any; afterSigterm: boolean }
  /** connect() refused: the listener was closed before this request reached the server. */
  | { index: number; kind: 'refused'; afterSigterm: boolean }
  /** No complete answer: the socket failed while sending (`request`) or while reading the body. */
  | { index: number; kind: 'dropped'; phase: 'request' | 'body'; code: string; message: string; afterSigterm: boolean };

/** The error code of a failed fetch: undici wraps the socket error as `TypeError('fetch failed', { cause })`. */
function causeOf(err: unknown): { code: string; message: string; syscall?: string } {
  const cause = (err as { cause?: any })?.cause ?? err;
  if (cause instanceof AggregateError) {
    // Several addresses tried (autoSelectFamily): refused only if every attempt was refused.
    const codes = [...new Set(cause.errors.map((e: any) => String(e?.code)))];
    return { code: codes.length === 1 ? codes[0] : codes.join('+'), message: cause.errors.map((e: any) => e?.message).join('; '), syscall: cause.errors[0]?.syscall };
  }
  return { code: String(cause?.code ?? cause?.name ?? 'UNKNOWN'), message: String(cause?.message ?? err), syscall: cause?.syscall };
}

for (const backend of backends) {
  describe(`SIGTERM with orders in flight (${backend})`, () => {
    let db: DbTarget;
    let view: DbView | undefined;
    beforeAll(async () => {
      db = await freshData(backend);
    });
    afterAll(async () => {
      await view?.close();
    });

    it('answers every request it took in, stores nothing unanswered, exits 0 cleanly; the next instance completes every order', async () => {
      const first = await spawnServer({
        db,
        name: `draining (${backend})`,
        // Jobs stay mid-run at SIGTERM, so the dispatcher hands work back while orders arrive.
        env: { SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS), MOCK_STEP_DELAY_MS: '300', RUNNER_CONCURRENCY: '20' },
      });
      const token = await first.login();
      view = await openDbView(db);

      let answered = 0;
      let sigtermSent = false;
      let stopping: Promise<(ExitInfo & { ms: number }) | Error> | undefined;

      const order = async (index: number): Promise<Outcome> => {
        const body = JSON.stringify({
          serviceName: `drain-${index}`,
          config: { template: TEMPLATES[index % TEMPLATES.length] },
          targetInfra: { type: 'vsphere' },
        });
        let res: Response;
        try {
          res = await fetch(`${first.url}/api/provision?order=${index}`, {
            method: 'POST',
            // One connection per request: a reused keep-alive socket could be reaped as idle
            // just as the next request is written, which says nothing about requests in flight.
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' },
            body,
          });
        } catch (err) {
          const c = causeOf(err);
          if (c.code === 'ECONNREFUSED') return { index, kind: 'refused', afterSigterm: sigtermSent };
          return { index, kind: 'dropped', phase: 'request', code: c.code, message: c.message, afterSigterm: sigtermSent };
        }
        let text: string;
        try {
          text = await res.text();
        } catch (err) {
          const c = causeOf(err);
          return { index, kind: 'dropped', phase: 'body', code: c.code, message: `status ${res.status}, body cut: ${c.message}`, afterSigterm: sigtermSent };
        }
        const afterSigterm = sigtermSent;
        let parsed: any = text;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: reported below as an incomplete or unexpected answer
        }
        if (++answered === SIGTERM_AFTER_ANSWERS) {
          sigtermSent = true;
          stopping = first.terminate(SHUTDOWN_GRACE_MS + EXIT_MARGIN_MS).catch((err: Error) => err);
        }
        return { index, kind: 'answer', status: res.status, body: parsed, afterSigterm };
      };

      const outcomes = await inBatches(
        Array.from({ length: ORDERS }, (_, i) => i),
        CONCURRENCY,
        order,
      );
      expect(stopping, `fewer than ${SIGTERM_AFTER_ANSWERS} answers before the end: ${JSON.stringify(outcomes)}`).toBeDefined();
      const stopped = await stopping!;

      const answers = outcomes.filter((o) => o.kind === 'answer');
      const refused = outcomes.filter((o) => o.kind === 'refused');
      const dropped = outcomes.filter((o) => o.kind === 'dropped');
      // Fastify's "incoming request" line (LOG_LEVEL info) names the URL, so the order index.
      const log = first.output();
      const seenByServer = (index: number) => log.includes(`"url":"/api/provision?order=${index}"`);
      // A connection the kernel had completed but Node had not yet accepted when the listener
      // closed is reset (ECONNRESET on connect or on the first read): it never reached the server.
      const resetUnread = dropped.filter((d) => d.phase === 'request' && d.code === 'ECONNRESET' && d.afterSigterm && !seenByServer(d.index));
      const droppedInFlight = dropped.filter((d) => !resetUnread.includes(d));
      const summary = {
        statuses: countBy(answers, (a) => String(a.status)),
        answeredAfterSigterm: countBy(answers.filter((a) => a.afterSigterm), (a) => String(a.status)),
        refused: refused.length,
        resetBeforeRead: resetUnread.map((d) => d.index),
        dropped: droppedInFlight.map((d) => `#${d.index} ${d.phase} ${d.code}: ${d.message}`),
      };

      // (1)–(3) are soft: a failure reports every broken promise at once.
      // (1) Every request: a complete answer, or it never reached the server. None that the
      // server read was cut off.
      // The log is a complete witness: every answered order is in it by URL, except the 503s
      // Fastify sends without running the route once closing (logged without the URL); those
      // are matched by count, so a request read and then cut off cannot pass for an unread one.
      const fastPath503Lines = log.split('\n').filter((l) => l.includes('refusing to accept new requests as server is closing')).length;
      const answeredNotLogged = answers.filter((a) => !seenByServer(a.index));
      expect.soft(answeredNotLogged.filter((a) => a.status !== 503).map((a) => `#${a.index} ${a.status}`), 'answered orders missing from the server log').toEqual([]);
      expect.soft(answeredNotLogged.length, `503s answered while closing vs "refusing to accept new requests" log lines; ${JSON.stringify(summary)}`).toBe(fastPath503Lines);
      expect.soft(
        droppedInFlight.map((d) => `#${d.index} (${d.phase}, ${d.afterSigterm ? 'after' : 'before'} SIGTERM, ${seenByServer(d.index) ? 'read' : 'not read'} by the server) ${d.code}: ${d.message}`),
        `requests dropped mid-flight; ${JSON.stringify(summary)}`,
      ).toEqual([]);
      const unexpected = answers.filter((a) => ![200, 409, 503].includes(a.status) || (a.status === 200 && typeof a.body?.project_id !== 'number'));
      expect.soft(unexpected.map((a) => `#${a.index} ${a.status} ${JSON.stringify(a.body)}`), 'answers other than 200 {project_id} / 409 / 503').toEqual([]);
      // The scenario really happened: SIGTERM landed mid-sequence with requests in flight.
      expect(answers.filter((a) => a.afterSigterm && a.status === 200).length, `no order answered 200 after SIGTERM was sent; ${JSON.stringify(summary)}`).toBeGreaterThan(0);
      expect(answers.length, `every order was answered: SIGTERM came too late to test anything; ${JSON.stringify(summary)}`).toBeLessThan(ORDERS);

      // (3) A clean, prompt exit: code 0 within the grace period plus a margin, no error logs.
      if (stopped instanceof Error) throw stopped;
      expect.soft(stopped.signal, first.output().slice(-3000)).toBeNull();
      expect.soft(stopped.code, first.output().slice(-3000)).toBe(0);
      expect.soft(stopped.ms, 'SIGTERM to exit').toBeLessThan(SHUTDOWN_GRACE_MS + EXIT_MARGIN_MS);
      expect.soft(first.output()).toContain('SIGTERM: shutting down');
      expect.soft(errorLines(first), `${first.name} logged errors`).toEqual([]);

      // (2) Nothing stored without the client being told, and no 200 for a project not stored.
      const okIds = answers.filter((a) => a.status === 200).map((a) => a.body.project_id as number);
      expect.soft(new Set(okIds).size, 'two 200 answers with the same project id').toBe(okIds.length);
      const stored = (await view.projects()).map((p) => p.id);
      const storedUnanswered = stored.filter((id) => !okIds.includes(id));
      const answeredNotStored = okIds.filter((id) => !stored.includes(id));
      expect.soft({ storedUnanswered, answeredNotStored }, JSON.stringify(summary)).toEqual({ storedUnanswered: [], answeredNotStored: [] });

      // What the shutdown left is consistent (events, hosts), and nothing is still claimed.
      const left = await accountFor(view);
      expect(left.problems).toEqual([]);
      expect(left.rows.filter((p) => p.claimedBy !== null).map((p) => p.id), 'projects still claimed by the exited instance').toEqual([]);
      expect(await view.instances()).not.toContain(first.instanceId);

      // (4) The next instance completes every stored order.
      const restartAt = Date.now();
      const next = await spawnServer({ db, name: `next (${backend})`, env: { MOCK_STEP_DELAY_MS: '20', RUNNER_CONCURRENCY: '200' } });
      await waitUntil(async () => (await view!.projects()).every(isSettled), 30_000, 'every stored order to settle on the next instance');
      const settledMs = Date.now() - restartAt;
      const after = await accountFor(view);
      expect(after.problems).toEqual([]);
      expect(after.rows.map((p) => p.id)).toEqual(stored);
      expect(countBy(after.rows, (p) => p.status)).toEqual({ COMPLETED: stored.length });
      const done = await next.terminate();
      expect(done.code, next.output().slice(-3000)).toBe(0);
      expect(errorLines(next), `${next.name} logged errors`).toEqual([]);

      console.info(
        `[shutdown-inflight ${backend}] answers ${JSON.stringify(summary.statuses)} (after SIGTERM: ${JSON.stringify(summary.answeredAfterSigterm)}), ` +
          `refused ${refused.length}, reset before the server read them ${resetUnread.length}, stored ${stored.length}; exited ${stopped.ms} ms after SIGTERM; next instance settled in ${settledMs} ms`,
      );
    }, 120_000);
  });
}
