/**
 * The workload pool seen from an admin: list, add, remove, drain and undrain hosts, reset a
 * host's recorded SSH key, check whether hosts can be reached. Admin only; every change is
 * audited (refusals too). Plain SQL, like the rest of the pool: the statements that race with
 * orders (remove, drain) decide in one statement on the row, so an order taking the host at the
 * same moment either got it first (then the host is held) or finds it gone or drained.
 */
import type { EntityManager } from '@mikro-orm/core';
import { HOST_STATUSES, INFRA_TYPES, type HostStatus, type InfraType } from '../entities/index.js';
import { sql, transaction } from '../db/sql.js';
import type { AuditLog } from './audit.js';
import { DomainError, HostHeldError, invalidInput, type ValidationIssue } from './errors.js';
import { DEFAULT_PROBE_OPTIONS, probeHosts, ProbeSlots, type ProbeOptions, type ProbeResult } from './host-probe.js';
import { checkNewHosts, decodeHostCursor, encodeHostCursor, HOST_COLUMNS, toView, type HostRow, type PoolHostView } from './pool-hosts.js';
import type { Principal } from './principal.js';
import { requireAdmin } from './settings.js';
import type { SshAccess } from './ssh-access.js';

export interface PoolHostFilter {
  first?: number | null;
  after?: string | null;
  infra?: InfraType | null;
  status?: HostStatus | null;
  /** A substring of the vm name or the address (case-insensitive). */
  search?: string | null;
}

export interface PoolHostPage {
  items: PoolHostView[];
  /** Hosts matching the filters, all pages together. */
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
}

export const DEFAULT_POOL_PAGE = 50;
export const MAX_POOL_PAGE = 500;
/** Hosts checked by one call: with 8 at once and 10 s each at worst, about a minute. */
export const MAX_HOSTS_PER_CHECK = 50;
export const HOST_NOT_FOUND = 'Pool host not found';
export const NO_SSH_CREDENTIALS = 'no SSH credentials configured: set the SSH user and private key in the admin settings (or SSH_USER and SSH_PRIVATE_KEY_FILE)';
const IN_CHUNKS = 500;
const MAX_SEARCH = 64;

const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function checkHostId(id: unknown, loc: (string | number)[] = ['path', 'id']): number {
  if (!Number.isSafeInteger(id) || (id as number) < 1) throw invalidInput([{ loc, msg: 'Input should be a valid integer ≥ 1', type: 'int_parsing' }]);
  return id as number;
}

function chunks<T>(items: T[], size = IN_CHUNKS): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class PoolAdminService {
  /** SSH logins at once, over every check of this server (overlapping calls share them). */
  private readonly probeSlots: ProbeSlots;

  constructor(
    private readonly audit: AuditLog,
    private readonly ssh: SshAccess,
    private readonly probe: ProbeOptions = DEFAULT_PROBE_OPTIONS,
  ) {
    this.probeSlots = new ProbeSlots(probe.parallel);
  }

  /** Lowest id first, keyset-paginated on id (never OFFSET), with the count of every match. */
  async list(db: EntityManager, caller: Principal | null, filter: PoolHostFilter): Promise<PoolHostPage> {
    requireAdmin(caller);
    const first = filter.first ?? DEFAULT_POOL_PAGE;
    const issues: ValidationIssue[] = [];
    if (!Number.isInteger(first) || first < 1 || first > MAX_POOL_PAGE) issues.push({ loc: ['query', 'first'], msg: `must be from 1 to ${MAX_POOL_PAGE}`, type: 'int_range' });
    if (filter.infra && !INFRA_TYPES.includes(filter.infra)) issues.push({ loc: ['query', 'infra'], msg: `must be one of ${INFRA_TYPES.join(', ')}`, type: 'enum' });
    if (filter.status && !HOST_STATUSES.includes(filter.status)) issues.push({ loc: ['query', 'status'], msg: `must be one of ${HOST_STATUSES.join(', ')}`, type: 'enum' });
    if (filter.search != null && (typeof filter.search !== 'string' || filter.search.length > MAX_SEARCH)) issues.push({ loc: ['query', 'search'], msg: `must be at most ${MAX_SEARCH} characters`, type: 'string_too_long' });
    if (issues.length) throw invalidInput(issues);
    const afterId = filter.after ? decodeHostCursor(filter.after) : 0;

    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.infra) {
      where.push('infra = ?');
      params.push(filter.infra);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const search = filter.search?.trim();
    if (search) {
      where.push("(lower(vm_name) like ? escape '\\' or ip_address like ? escape '\\')");
      params.push(likePattern(search), likePattern(search));
    }
    const filtered = where.length ? ` and ${where.join(' and ')}` : '';
    const rows: HostRow[] = await sql(db, `select ${HOST_COLUMNS} from workload_pool where id > ?${filtered} order by id limit ?`, [afterId, ...params, first + 1]);
    const [count]: { n: number | string }[] = await sql(db, `select count(*) as n from workload_pool where 1 = 1${filtered}`, params);
    const items = rows.slice(0, first).map(toView);
    return {
      items,
      totalCount: Number(count.n),
      hasNextPage: rows.length > first,
      endCursor: items.length ? encodeHostCursor(items[items.length - 1].id) : null,
    };
  }

  /**
   * Adds hosts, all or none: every problem of the batch is answered at once (BAD_USER_INPUT with
   * one issue each), addresses already in the pool included.
   */
  async add(db: EntityManager, caller: Principal | null, hosts: unknown): Promise<PoolHostView[]> {
    const admin = requireAdmin(caller);
    const count = Array.isArray(hosts) ? hosts.length : 0;
    return this.audited(admin, 'pool.add', `${count} host${count === 1 ? '' : 's'}`, async () => {
      const batch = checkNewHosts(hosts);
      const taken = await this.takenAddresses(db, batch.addresses);
      if (batch.issues.length || taken.length) throw invalidInput([...batch.issues, ...taken].sort((a, b) => Number(a.loc[2]) - Number(b.loc[2])));
      const now = new Date();
      try {
        await transaction(db, async (tx) => {
          for (const part of chunks(batch.hosts, 200)) {
            await sql(
              tx,
              `insert into workload_pool (vm_name, ip_address, infra, status, drain_requested, updated_at) values ${part.map(() => "(?, ?, ?, 'available', false, ?)").join(', ')}`,
              part.flatMap((h) => [h.vmName, h.ipAddress, h.infra, now]),
              'run',
            );
          }
        });
      } catch (err) {
        // Another admin added one of these addresses since the check: answer as the check would.
        const raced = await this.takenAddresses(db, batch.addresses);
        if (raced.length) throw invalidInput(raced);
        throw err;
      }
      const added = await this.byAddress(db, batch.hosts.map((h) => h.ipAddress));
      return { result: added, detail: { count: added.length, addresses: added.slice(0, 20).map((h) => h.ipAddress) } };
    });
  }

  /**
   * Removes a host no project holds (available or drained). The DELETE itself checks that, so a
   * concurrent order that takes the host first wins and the removal is refused as CONFLICT.
   */
  async remove(db: EntityManager, caller: Principal | null, id: number): Promise<PoolHostView> {
    const admin = requireAdmin(caller);
    return this.audited(admin, 'pool.remove', `#${id}`, async () => {
      checkHostId(id);
      // Twice at most: a host given back between the DELETE and the look that follows it is free again.
      for (let attempt = 0; ; attempt++) {
        const [deleted]: HostRow[] = await sql(db, `delete from workload_pool where id = ? and project_id is null and status in ('available', 'drained') returning ${HOST_COLUMNS}`, [id]);
        if (deleted) return { result: toView(deleted), detail: { vm_name: deleted.vm_name, ip_address: deleted.ip_address } };
        const host = await this.find(db, id);
        if (host.projectId != null || attempt > 0) throw new HostHeldError(host.id, host.projectId ?? 0, host.ipAddress);
      }
    });
  }

  /**
   * Takes a host out of service: a free host is drained at once; a held one is marked and
   * becomes drained when its project gives it back. Draining a drained host changes nothing.
   * One statement decides on the row as it is when it runs (an order taking it meanwhile).
   */
  async drain(db: EntityManager, caller: Principal | null, id: number): Promise<PoolHostView> {
    return this.change(db, caller, id, 'pool.drain', `update workload_pool
        set status = case when status = 'available' then 'drained' else status end,
            drain_requested = case when status in ('provisioning', 'assigned') then true else false end,
            updated_at = ?
      where id = ?`);
  }

  /** Puts a drained host back into service, or withdraws a drain requested for a held host. */
  async undrain(db: EntityManager, caller: Principal | null, id: number): Promise<PoolHostView> {
    return this.change(db, caller, id, 'pool.undrain', `update workload_pool
        set status = case when status = 'drained' then 'available' else status end, drain_requested = false, updated_at = ?
      where id = ?`);
  }

  /** Forgets the host's recorded SSH key: the next contact records the key it answers with. */
  async resetHostKey(db: EntityManager, caller: Principal | null, id: number): Promise<PoolHostView> {
    return this.change(db, caller, id, 'pool.reset_host_key', 'update workload_pool set host_key = null, updated_at = ? where id = ?');
  }

  /**
   * Logs in to each host over SSH with the configured credentials and runs a trivial command
   * (host-probe.ts); records the key of a host seen for the first time and stores each outcome
   * on its host (checked_at, check_ok, check_message). Answers the hosts as they are then.
   */
  async check(db: EntityManager, caller: Principal | null, ids: unknown): Promise<PoolHostView[]> {
    const admin = requireAdmin(caller);
    const wanted = Array.isArray(ids) ? [...new Set(ids as unknown[])] : [];
    const target = wanted.length === 1 ? `#${String(wanted[0])}` : `${wanted.length} hosts`;
    return this.audited(admin, 'pool.check', target, async () => {
      if (!Array.isArray(ids) || wanted.length === 0 || wanted.length > MAX_HOSTS_PER_CHECK) {
        throw invalidInput([{ loc: ['body', 'ids'], msg: `must be a list of 1 to ${MAX_HOSTS_PER_CHECK} host ids`, type: 'list_type' }]);
      }
      wanted.forEach((id, i) => checkHostId(id, ['body', 'ids', i]));
      const hostIds = wanted as number[];
      const rows: { id: number | string; ip_address: string; host_key: string | null }[] = await sql(
        db,
        `select id, ip_address, host_key from workload_pool where id in (${hostIds.map(() => '?').join(', ')})`,
        hostIds,
      );
      const known = new Map(rows.map((r) => [Number(r.id), r]));
      const missing = hostIds.filter((id) => !known.has(id));
      if (missing.length) throw new DomainError('NOT_FOUND', `${HOST_NOT_FOUND}: #${missing.join(', #')}`);
      const targets = hostIds.map((id) => ({ id, address: known.get(id)!.ip_address, hostKey: known.get(id)!.host_key }));

      const results = await this.probeTargets(targets);
      const checkedAt = new Date();
      for (const r of results) {
        let message = r.message;
        if (r.ok && r.learnedKeys) {
          const address = known.get(r.id)!.ip_address;
          const recorded = await this.ssh.recordKeys(new Map([[address, r.learnedKeys]]));
          if (recorded.length) message = 'ok; host key recorded';
        }
        await sql(db, 'update workload_pool set checked_at = ?, check_ok = ?, check_message = ? where id = ?', [checkedAt, r.ok, message, r.id], 'run');
      }
      const hosts = await this.byId(db, hostIds);
      const ok = results.filter((r) => r.ok).length;
      return { result: hosts, detail: { ok, failed: results.length - ok } };
    });
  }

  private async probeTargets(targets: { id: number; address: string; hostKey: string | null }[]): Promise<ProbeResult[]> {
    let credentials;
    try {
      credentials = await this.ssh.credentials();
    } catch {
      // A sealed key ENCRYPT_KEY cannot open, or an unreadable SSH_PRIVATE_KEY_FILE; the reason stays on the server.
      return targets.map((t) => ({ id: t.id, ok: false, message: 'the configured SSH private key cannot be read', learnedKeys: null }));
    }
    if (!credentials) return targets.map((t) => ({ id: t.id, ok: false, message: NO_SSH_CREDENTIALS, learnedKeys: null }));
    return probeHosts(targets, credentials, this.probe, this.probeSlots);
  }

  /** One row change by id (drain, undrain, key reset): NOT_FOUND when there is no such host. */
  private async change(db: EntityManager, caller: Principal | null, id: number, action: string, statement: string): Promise<PoolHostView> {
    const admin = requireAdmin(caller);
    return this.audited(admin, action, `#${id}`, async () => {
      checkHostId(id);
      const { affectedRows } = await sql(db, statement, [new Date(), id], 'run');
      if (!affectedRows) throw new DomainError('NOT_FOUND', HOST_NOT_FOUND);
      const host = await this.find(db, id);
      return { result: host, detail: { vm_name: host.vmName, ip_address: host.ipAddress, status: host.status, drain_requested: host.drainRequested } };
    });
  }

  private async audited<T>(admin: Principal, action: string, target: string, work: () => Promise<{ result: T; detail: Record<string, unknown> }>): Promise<T> {
    try {
      const { result, detail } = await work();
      await this.audit.record({ actor: admin.username, action, target, ip: admin.ip, result: 'success', detail });
      return result;
    } catch (err) {
      await this.audit.record({ actor: admin.username, action, target, ip: admin.ip, result: 'failure', detail: { reason: (err as Error).message.slice(0, 500) } });
      throw err;
    }
  }

  private async find(db: EntityManager, id: number): Promise<PoolHostView> {
    const [row]: HostRow[] = await sql(db, `select ${HOST_COLUMNS} from workload_pool where id = ?`, [id]);
    if (!row) throw new DomainError('NOT_FOUND', HOST_NOT_FOUND);
    return toView(row);
  }

  private async byId(db: EntityManager, ids: number[]): Promise<PoolHostView[]> {
    const rows: HostRow[] = await sql(db, `select ${HOST_COLUMNS} from workload_pool where id in (${ids.map(() => '?').join(', ')}) order by id`, ids);
    return rows.map(toView);
  }

  private async byAddress(db: EntityManager, addresses: string[]): Promise<PoolHostView[]> {
    const views: PoolHostView[] = [];
    for (const part of chunks(addresses)) {
      const rows: HostRow[] = await sql(db, `select ${HOST_COLUMNS} from workload_pool where ip_address in (${part.map(() => '?').join(', ')})`, part);
      views.push(...rows.map(toView));
    }
    return views.sort((a, b) => a.id - b.id);
  }

  /** One issue per address of the batch that a host of the pool already has. */
  private async takenAddresses(db: EntityManager, addresses: Map<string, number>): Promise<ValidationIssue[]> {
    const issues: ValidationIssue[] = [];
    for (const part of chunks([...addresses.keys()])) {
      const rows: { id: number | string; vm_name: string; ip_address: string }[] = await sql(
        db,
        `select id, vm_name, ip_address from workload_pool where ip_address in (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const row of rows) {
        issues.push({ loc: ['body', 'hosts', addresses.get(row.ip_address)!, 'ip_address'], msg: `already in the pool (host #${row.id}, ${row.vm_name})`, type: 'value_error.exists' });
      }
    }
    return issues;
  }
}
