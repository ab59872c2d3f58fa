/**
 * The audit trail: logins, sign-ups, approvals, provisions, deletes, settings and user
 * changes — who, what, when, from where, with which result. Written in its own unit of work,
 * so a refused or failed action is recorded too. Never holds secrets.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditEntry } from '../entities/index.js';
import { invalidInput } from './errors.js';
import type { Principal } from './principal.js';
import { requireAdmin } from './settings.js';
import { deferSql, type SqlTarget } from '../db/sql.js';

export type AuditResult = 'success' | 'failure';

export interface AuditRecord {
  actor: string | null;
  action: string;
  target?: string | null;
  ip?: string | null;
  result: AuditResult;
  detail?: Record<string, unknown> | null;
}

export interface AuditFilter {
  actor?: string | null;
  action?: string | null;
  result?: AuditResult | null;
  first?: number | null;
  /** Id of the last entry of the previous page. */
  before?: number | null;
}

export const MAX_AUDIT_PAGE = 200;

export class AuditLog {
  constructor(private readonly fork: () => EntityManager) {}

  /**
   * One plain INSERT (it follows every order, login and admin action; the ORM's unit of work
   * cost ~10× more). With `db`, inside that transaction (a success recorded with what it did).
   */
  async record(entry: AuditRecord, db?: SqlTarget): Promise<void> {
    // Inside a journal transaction it goes out with the COMMIT (server/db/sql.ts).
    await deferSql(db ?? this.fork(), 'insert into audit_log (at, actor, action, target, ip, result, detail) values (?, ?, ?, ?, ?, ?, ?)', [
      new Date(),
      entry.actor?.slice(0, 64) ?? null,
      entry.action,
      entry.target?.slice(0, 128) ?? null,
      entry.ip?.slice(0, 64) ?? null,
      entry.result,
      entry.detail == null ? null : JSON.stringify(entry.detail),
    ]);
  }

  /** Newest first; admin only. */
  async list(em: EntityManager, caller: Principal | null, filter: AuditFilter): Promise<{ items: AuditEntry[]; hasMore: boolean }> {
    requireAdmin(caller);
    const first = filter.first ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > MAX_AUDIT_PAGE) {
      throw invalidInput([{ loc: ['query', 'first'], msg: `must be from 1 to ${MAX_AUDIT_PAGE}`, type: 'int_range' }]);
    }
    if (filter.result && filter.result !== 'success' && filter.result !== 'failure') {
      throw invalidInput([{ loc: ['query', 'result'], msg: 'must be success or failure', type: 'enum' }]);
    }
    const where: FilterQuery<AuditEntry> = {};
    if (filter.actor) where.actor = filter.actor;
    if (filter.action) where.action = filter.action;
    if (filter.result) where.result = filter.result;
    if (filter.before) where.id = { $lt: filter.before };
    const rows = await em.find(AuditEntry, where, { orderBy: { id: 'desc' }, limit: first + 1 });
    return { items: rows.slice(0, first), hasMore: rows.length > first };
  }
}
