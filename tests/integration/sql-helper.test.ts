/**
 * server/db/sql.ts: plain statements with bound parameters, on both databases. Values must come
 * back as the ORM reads them (a Date written here is the same instant through an entity), a
 * quote or a question mark inside a value is data, `run` counts changed rows, and a statement
 * inside a transaction is part of it (rolled back with it).
 */
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
  });
}
