/**
 * server/db/sql.ts: plain statements with bound parameters, on both databases. Values must come
 * back as the ORM reads them (a Date written here is the same instant through an entity), a
 * quote or a question mark inside a value is data, `run` counts changed rows, and a statement
 * inside a transaction is part of it (rolled back with it).
 */
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEntry } from '../../server/entities/index.js';
import { deferSql, formatSql, sql, sqlLiteral, transaction, type SqlTransaction } from '../../server/db/sql.js';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('values written into PostgreSQL text', () => {
  it('writes literals that cannot end their string', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(true)).toBe('TRUE');
    expect(sqlLiteral(-12.5)).toBe('-12.5');
    expect(sqlLiteral("it's")).toBe("E'it''s'");
    expect(sqlLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(sqlLiteral(new Date('2026-01-02T03:04:05.678Z'))).toBe("E'2026-01-02T03:04:05.678Z'");
    expect(() => sqlLiteral(Number.NaN)).toThrow();
    expect(() => sqlLiteral({})).toThrow();
    expect(() => sqlLiteral('nul\u0000')).toThrow();
  });

  it('fills placeholders outside quotes only, and counts them', () => {
    expect(formatSql("select ?, '?', ? from t where x = ?", [1, 'a', null])).toBe("select 1, '?', E'a' from t where x = NULL");
    expect(() => formatSql('select ?', [])).toThrow();
    expect(() => formatSql('select 1', [1])).toThrow();
  });
});

for (const backend of await backendsFor('plain SQL helper')) {
  describe(`sql() (${backend})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ backend });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('binds values (quotes, question marks, dates, null, JSON) and reads them back as the ORM does', async () => {
      const em = server.app.orm.em.fork();
      const at = new Date('2026-03-04T05:06:07.089Z');
      const tricky = `it's a ? and a '?' -- not SQL`;
      const detail = JSON.stringify({ q: '?', s: "'" });
      const inserted = await sql(em, 'insert into audit_log (at, actor, action, target, ip, result, detail) values (?, ?, ?, ?, ?, ?, ?) returning id', [
        at,
        'sql-test',
        tricky,
        null,
        null,
        'success',
        detail,
      ]);
      const id = Number(inserted[0].id);
      const entry = await server.app.orm.em.fork().findOneOrFail(AuditEntry, id);
      expect(entry.at.toISOString()).toBe(at.toISOString());
      expect(entry.action).toBe(tricky);
      expect(entry.target ?? null).toBeNull();
      expect(entry.detail).toEqual({ q: '?', s: "'" });
      const [row] = await sql(em, 'select action from audit_log where id = ? and action = ?', [id, tricky]);
      expect(row).toEqual({ action: tricky });
    });

    it('answers rows as objects with the columns in order, and leaves the shared statement answering objects to the ORM', async () => {
      const em = server.app.orm.em.fork();
      await sql(em, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-rows', 'first', 'success'], 'run');
      await sql(em, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-rows', 'second', 'failure'], 'run');
      const text = 'select action, result, target, actor as who from audit_log where actor = ? order by id';
      const rows = await sql(em, text, ['sql-rows']);
      expect(rows).toEqual([
        { action: 'first', result: 'success', target: null, who: 'sql-rows' },
        { action: 'second', result: 'failure', target: null, who: 'sql-rows' },
      ]);
      expect(rows.map((r) => Object.keys(r))).toEqual([
        ['action', 'result', 'target', 'who'],
        ['action', 'result', 'target', 'who'],
      ]);
      expect(await sql(em, text, ['nobody'])).toEqual([]);
      // The same text through the ORM's own query builder (knex), which reuses the prepared statement on SQLite.
      const viaKnex: unknown = await (em.getConnection() as AbstractSqlConnection).getKnex().raw(text, ['sql-rows']);
      expect(backend === 'sqlite' ? viaKnex : (viaKnex as { rows: unknown }).rows).toEqual(rows);
      expect(await sql(em, text, ['sql-rows'])).toEqual(rows);
    });

    it('counts the rows a statement changed, and rolls back with its transaction', async () => {
      const em = server.app.orm.em.fork();
      for (const n of [1, 2, 3]) {
        await sql(em, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-count', `a${n}`, 'success'], 'run');
      }
      expect((await sql(em, "update audit_log set result = 'failure' where actor = ?", ['sql-count'], 'run')).affectedRows).toBe(3);
      expect((await sql(em, 'update audit_log set result = ? where actor = ?', ['failure', 'nobody'], 'run')).affectedRows).toBe(0);
      await expect(
        em.transactional(async (tem) => {
          await sql(tem, 'delete from audit_log where actor = ?', ['sql-count'], 'run');
          expect(await sql(tem, 'select id from audit_log where actor = ?', ['sql-count'])).toEqual([]);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await sql(em, 'select id from audit_log where actor = ?', ['sql-count'])).toHaveLength(3);
    });

    it('runs a hand-made transaction: committed when the work ends, rolled back when it throws, closed after', async () => {
      const em = server.app.orm.em.fork();
      const count = async () => Number((await sql(em, 'select count(*) as n from audit_log where actor = ?', ['sql-tx']))[0].n);
      let kept: SqlTransaction | undefined;
      await transaction(em, async (tx) => {
        kept = tx;
        await sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-tx', 'kept', 'success'], 'run');
      });
      expect(await count()).toBe(1);
      await expect(
        transaction(em, async (tx) => {
          await sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-tx', 'lost', 'success'], 'run');
          expect(Number((await sql(tx, 'select count(*) as n from audit_log where actor = ?', ['sql-tx']))[0].n)).toBe(2);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await count()).toBe(1);
      // A statement on a transaction that ended is refused, not run outside it.
      await expect(sql(kept!, 'delete from audit_log where actor = ?', ['sql-tx'], 'run')).rejects.toThrow(/already ended/);
      expect(await count()).toBe(1);
      // A failing statement rolls the whole transaction back and the connection stays usable.
      await expect(
        transaction(em, async (tx) => {
          await sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-tx', 'before-error', 'success'], 'run');
          await sql(tx, 'insert into no_such_table (x) values (?)', [1], 'run');
        }),
      ).rejects.toThrow();
      expect(await count()).toBe(1);
      await transaction(em, async (tx) => sql(tx, 'select 1 as one'));
    });

    it('a statement outside an open transaction neither sees its rows nor runs inside it (SQLite: it waits for the connection)', async () => {
      // The root EntityManager, as the read paths use it (services.sqlDb).
      const root = server.app.orm.em;
      const count = async () => Number((await sql(root, 'select count(*) as n from audit_log where actor = ?', ['sql-outside']))[0].n);
      expect(await count()).toBe(0);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const insertedNow = new Promise<void>((resolve) => (inserted = resolve));
      const open = transaction(root.fork(), async (tx) => {
        await sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-outside', 'uncommitted', 'success'], 'run');
        inserted();
        await held;
        throw new Error('roll back');
      });
      await insertedNow;
      let answered = false;
      const during = count().finally(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // SQLite has one connection, held by the transaction: the read must wait (had it run on
      // that connection now, it would have answered 1 at once). PostgreSQL reads on another one.
      if (backend === 'sqlite') expect(answered).toBe(false);
      release();
      await expect(open).rejects.toThrow('roll back');
      expect(await during).toBe(0);
      expect(await count()).toBe(0);
    });

    it('statements issued in the same turn come back each with its own answer, and fail together', async () => {
      const em = server.app.orm.em.fork();
      const answers = await transaction(em, async (tx) => {
        const a = sql(tx, 'select ? as v', ['first']);
        const b = sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-batch', 'kept', 'success'], 'run');
        const c = sql(tx, 'select count(*) as n from audit_log where actor = ?', ['sql-batch']);
        return Promise.all([a, b, c]);
      });
      expect(answers[0]).toEqual([{ v: 'first' }]);
      // SQLite also answers the new row's id (journal inserts use it instead of RETURNING).
      expect(answers[1]).toEqual(backend === 'sqlite' ? { affectedRows: 1, insertId: expect.any(Number) } : { affectedRows: 1 });
      expect(Number((answers[2] as { n: number }[])[0].n)).toBe(1);
      if (backend === 'sqlite') {
        const [kept] = await sql(em, 'select id from audit_log where actor = ?', ['sql-batch']);
        expect((answers[1] as { insertId?: number }).insertId).toBe(Number(kept.id));
      }
      await expect(
        transaction(em, async (tx) => {
          const ok = sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-batch', 'undone', 'success'], 'run');
          const bad = sql(tx, 'insert into no_such_table (x) values (?)', [1], 'run');
          await Promise.allSettled([ok, bad]);
          await bad;
        }),
      ).rejects.toThrow();
      expect((await sql(em, 'select action from audit_log where actor = ?', ['sql-batch'])).map((r) => r.action)).toEqual(['kept']);
    });

    it('statements deferred to the commit are stored with their values intact, and a failing one undoes the transaction', async () => {
      const em = server.app.orm.em.fork();
      const nasty = String.raw`back\slash \' quote ' double '' E'x' ? $1 ; commit; --`;
      const at = new Date('2026-01-02T03:04:05.678Z');
      await transaction(em, async (tx) => {
        await sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [at, 'sql-defer', 'now', 'success'], 'run');
        await deferSql(tx, 'insert into audit_log (at, actor, action, target, result, detail) values (?, ?, ?, ?, ?, ?)', [at, 'sql-defer', 'later', nasty, 'success', JSON.stringify({ s: nasty })]);
      });
      const rows = await sql(em, 'select action, target, at from audit_log where actor = ? order by id', ['sql-defer']);
      expect(rows.map((r) => r.action)).toEqual(['now', 'later']);
      expect(rows[1].target).toBe(nasty);
      const entry = await server.app.orm.em.fork().findOneOrFail(AuditEntry, { actor: 'sql-defer', action: 'later' });
      expect(entry.at.toISOString()).toBe(at.toISOString());
      expect(entry.detail).toEqual({ s: nasty });

      await expect(
        transaction(em, async (tx) => {
          await sql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-defer', 'undone', 'success'], 'run');
          // Not null: the deferred statement fails when the commit goes out.
          await deferSql(tx, 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?)', [new Date(), 'sql-defer', null, 'success']);
        }),
      ).rejects.toThrow();
      expect((await sql(em, 'select action from audit_log where actor = ?', ['sql-defer'])).map((r) => r.action)).toEqual(['now', 'later']);
    });

    // PostgreSQL only: statements prepared on a connection (server/db/sql.ts).
    if (backend === 'postgresql') {
      describe('prepared and named statements', () => {
        it('a statement transactions send often is prepared on their connections and then runs prepared, values intact', async () => {
          const em = server.app.orm.em.fork();
          const nasty = String.raw`back\slash \' quote ' double '' E'x' ? $1 ; commit; --`;
          // The marker keeps these texts apart from every other suite's (a text is prepared once it was used three times).
          const insert = 'insert into audit_log (at, actor, action, target, result, detail) values (?, ?, ?, ?, ?, ?) /* prepared-insert */';
          const read = 'select count(*) as n from audit_log where actor = ? and target = ? /* prepared-read */';
          const runsOf = async (tx: SqlTransaction, marker: string): Promise<number | null> => {
            const rows = await sql(tx, 'select generic_plans + custom_plans as runs from pg_prepared_statements where statement like ?', [`%${marker}%`]);
            return rows.length ? Number(rows[0].runs) : null;
          };
          const seen: { before: number | null; after: number | null; readBefore: number | null; readAfter: number | null }[] = [];
          for (let i = 0; i < 40; i++) {
            const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i, 7));
            seen.push(
              await transaction(em, async (tx) => {
                const before = await runsOf(tx, 'prepared-insert');
                const readBefore = await runsOf(tx, 'prepared-read');
                // Issued together: one message, the insert first.
                const inserted = sql(tx, insert, [at, 'sql-prepared', `a${i}`, nasty, 'success', JSON.stringify({ i, s: nasty })], 'run');
                const counted = sql(tx, read, ['sql-prepared', nasty]);
                expect(await inserted).toEqual({ affectedRows: 1 });
                expect(Number((await counted)[0].n)).toBe(i + 1);
                // Deferred to the COMMIT, with a null and a date.
                await deferSql(tx, insert, [at, 'sql-prepared-deferred', `d${i}`, null, 'success', null]);
                return { before, after: await runsOf(tx, 'prepared-insert'), readBefore, readAfter: await runsOf(tx, 'prepared-read') };
              }),
            );
          }
          // Once a connection has the statement, every transaction on it runs it there: the runs
          // counted on that connection move by exactly the statements this transaction sent.
          const prepared = seen.filter((s) => s.before !== null);
          expect(prepared.length).toBeGreaterThan(20);
          for (const s of prepared) expect(s.after).toBe(s.before! + 1);
          for (const s of seen.filter((s) => s.readBefore !== null)) expect(s.readAfter).toBe(s.readBefore! + 1);
          expect(seen.filter((s) => s.readBefore !== null).length).toBeGreaterThan(20);
          // No statement was prepared before it had been used three times.
          expect(seen.slice(0, 2).every((s) => s.before === null)).toBe(true);
          const rows = await sql(em, 'select action, target, at, detail from audit_log where actor = ? order by id', ['sql-prepared']);
          expect(rows).toHaveLength(40);
          rows.forEach((row, i) => {
            expect(row.action).toBe(`a${i}`);
            expect(row.target).toBe(nasty);
            expect(new Date(row.at as string).toISOString()).toBe(new Date(Date.UTC(2026, 0, 1, 0, 0, i, 7)).toISOString());
            expect(row.detail).toEqual({ i, s: nasty });
          });
          const deferred = await sql(em, 'select action, target, detail from audit_log where actor = ? order by id', ['sql-prepared-deferred']);
          expect(deferred.map((r) => r.action)).toEqual(Array.from({ length: 40 }, (_, i) => `d${i}`));
          expect(deferred.every((r) => r.target === null && r.detail === null)).toBe(true);

          // A prepared statement that fails rolls its transaction back like any other, and the
          // connection goes on running it.
          await expect(
            transaction(em, async (tx) => {
              await sql(tx, insert, [new Date(), 'sql-prepared', 'undone', null, 'success', null], 'run');
              await deferSql(tx, insert, [new Date(), 'sql-prepared', null, null, 'success', null]);
            }),
          ).rejects.toThrow(/null/);
          await transaction(em, (tx) => deferSql(tx, insert, [new Date(), 'sql-prepared', 'after-failure', null, 'success', null]));
          expect((await sql(em, 'select action from audit_log where actor = ? and action in (?, ?)', ['sql-prepared', 'undone', 'after-failure'])).map((r) => r.action)).toEqual(['after-failure']);
        });

        it('a statement run outside a transaction is named after its third run and parsed once per connection', async () => {
          const em = server.app.orm.em.fork();
          const nasty = String.raw`it's a ? and a '?' \ -- $1`;
          const text = "select ?::int + 1 as n, ? as s, '?' as q /* named-read */";
          for (let i = 0; i < 8; i++) {
            expect(await sql(em, text, [i, nasty])).toEqual([{ n: i + 1, s: nasty, q: '?' }]);
          }
          // The pool hands out the connection given back last, so this runs where those did.
          const rows = await sql(em, 'select statement, generic_plans + custom_plans as runs from pg_prepared_statements where statement like ?', ['%named-read%']);
          expect(rows).toHaveLength(1);
          expect(rows[0].statement).toBe("select $1::int + 1 as n, $2 as s, '?' as q /* named-read */");
          expect(Number(rows[0].runs)).toBeGreaterThanOrEqual(1);
          // A text PostgreSQL cannot parse fails as it would unnamed, every time, and the connection stays usable.
          for (let i = 0; i < 4; i++) await expect(sql(em, 'select ? is null as missing /* named-refused */', [null])).rejects.toThrow(/could not determine data type/);
          expect(await sql(em, text, [41, 'x'])).toEqual([{ n: 42, s: 'x', q: '?' }]);
        });

        it('a connection whose statements were deallocated behind its back is dropped after the one failure, and the next transaction runs', async () => {
          const em = server.app.orm.em.fork();
          const insert = 'insert into audit_log (at, actor, action, result) values (?, ?, ?, ?) /* lost-insert */';
          const read = 'select count(*) as n from audit_log where actor = ? /* lost-read */';
          const order = (action: string) =>
            transaction(em, async (tx) => {
              const a = sql(tx, insert, [new Date(), 'sql-lost', action, 'success'], 'run');
              const b = sql(tx, read, ['sql-lost']);
              await a;
              return Number((await b)[0].n);
            });
          for (let i = 0; i < 6; i++) await order(`before${i}`);
          for (let i = 0; i < 6; i++) await sql(em, read, ['sql-lost']);
          // The pool hands out the connection given back last: the one these ran on.
          const [{ n: prepared }] = await sql(em, "select count(*) as n from pg_prepared_statements where statement like '%lost-%'");
          expect(Number(prepared)).toBeGreaterThanOrEqual(2);
          // Deallocated inside a transaction on that connection: its next statement finds it gone (26000).
          await expect(
            transaction(em, async (tx) => {
              await sql(tx, 'deallocate all', [], 'run');
              await sql(tx, read, ['sql-lost']);
            }),
          ).rejects.toMatchObject({ code: '26000' });
          // That connection was dropped; the next ones start with nothing prepared and prepare again.
          for (let i = 0; i < 6; i++) expect(await order(`after${i}`)).toBe(7 + i);
          for (let i = 0; i < 6; i++) expect(Number((await sql(em, read, ['sql-lost']))[0].n)).toBe(12);
        });

        it('a statement PostgreSQL cannot prepare keeps running written out, and no transaction fails for it', async () => {
          const em = server.app.orm.em.fork();
          // PREPARE refuses this text: nothing tells the type of the parameter.
          const text = 'select ? is null as missing /* refused-prepare */';
          for (let i = 0; i < 12; i++) {
            const [answer, prepared] = await transaction(em, async (tx) => {
              const a = sql(tx, text, [i % 2 ? null : `v${i}`]);
              const b = sql(tx, 'select count(*) as n from pg_prepared_statements where statement like ?', ['%refused-prepare%']);
              return Promise.all([a, b]);
            });
            expect(answer).toEqual([{ missing: i % 2 === 1 }]);
            expect(Number(prepared[0].n)).toBe(0);
          }
        });

        it('DB_PREPARED_STATEMENTS=false: nothing is prepared or named on the connections, and values come back the same', async () => {
          const plain = await startTestServer({ backend, env: { DB_PREPARED_STATEMENTS: 'false' } });
          try {
            const em = plain.app.orm.em.fork();
            const nasty = String.raw`it's \' a ? $1`;
            for (let i = 0; i < 8; i++) {
              await transaction(em, async (tx) => {
                const a = sql(tx, 'insert into audit_log (at, actor, action, target, result) values (?, ?, ?, ?, ?)', [new Date(), 'sql-plain', `p${i}`, nasty, 'success'], 'run');
                const b = sql(tx, 'select count(*) as n from audit_log where actor = ?', ['sql-plain']);
                await a;
                expect(Number((await b)[0].n)).toBe(i + 1);
                await deferSql(tx, 'update audit_log set result = ? where actor = ? and action = ?', ['failure', 'sql-plain', `p${i}`]);
              });
              expect(await sql(em, 'select target from audit_log where actor = ? and action = ?', ['sql-plain', `p${i}`])).toEqual([{ target: nasty }]);
            }
            // On the connection these ran on (the pool hands out the one given back last): nothing prepared.
            const [{ n }] = await sql(em, 'select count(*) as n from pg_prepared_statements');
            expect(Number(n)).toBe(0);
            expect((await sql(em, 'select result from audit_log where actor = ?', ['sql-plain'])).every((r) => r.result === 'failure')).toBe(true);
          } finally {
            await plain.close();
          }
        });
      });
    }
  });
}
