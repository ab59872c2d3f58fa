/**
 * The workload pool: hosts that runners take and give back. Taking is one UPDATE of free rows:
 * on PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED (concurrent orders take other
 * hosts without waiting), on SQLite the single connection runs one writer at a time. A host row
 * holds at most one project, and the update only takes rows still `available`, so a host is
 * never given twice.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { WorkloadHostSeed } from '../config/index.js';
import { backendOf, type Orm } from '../db/orm.js';
import { HOST_STATUSES, INFRA_TYPES, WorkloadHost, type HostStatus, type InfraType } from '../entities/index.js';
import { PoolExhaustedError } from './errors.js';
import { requireCaller, type Principal } from './principal.js';
import { sql, SqlTransaction, type SqlTarget } from '../db/sql.js';
import { insertRows } from '../db/entity-writes.js';

/** What a host given back becomes: free, or out of service when an admin drained it while it was held. */
const RELEASED = "status = case when drain_requested then 'drained' else 'available' end, drain_requested = false, project_id = null, owner = null";

/** {@link WorkloadPool.allocate}'s project: the one this transaction inserted last (PostgreSQL). */
const INSERTED_PROJECT = Symbol('the project this transaction inserted');

/** How many hosts of one infrastructure are in each state. */
export interface PoolSummary {
  infra: InfraType;
  total: number;
  available: number;
  provisioning: number;
  assigned: number;
  /** Taken out of service by an admin. */
  drained: number;
}

export interface AllocatedHost {
  id: number;
  vmName: string;
  ipAddress: string;
}

const VM_PREFIX: Record<InfraType, string> = { aws: 'EC2', vsphere: 'WKLD' };

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Usable host addresses of a CIDR (network and broadcast left out), named by offset. */
export function hostsOfCidr(cidr: string, infra: InfraType): WorkloadHostSeed[] {
  const [address, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const size = 2 ** (32 - bits);
  const network = Math.floor(ipToInt(address) / size) * size;
  const hosts: WorkloadHostSeed[] = [];
  for (let offset = 1; offset < size - 1; offset++) {
    hosts.push({ vmName: `${VM_PREFIX[infra]}-${offset}`, ipAddress: intToIp(network + offset), infra });
  }
  return hosts;
}

export class WorkloadPool {
  private readonly postgres: boolean;

  constructor(orm: Orm) {
    this.postgres = backendOf(orm) === 'postgresql';
  }

  /**
   * Fills an empty pool with the configured hosts (the first start); a pool that has hosts is left
   * as it is. From then on admins manage the pool (services/pool-admin.ts): a host they removed
   * must not come back at the next start.
   */
  async seed(em: EntityManager, hosts: WorkloadHostSeed[]): Promise<number> {
    if ((await em.count(WorkloadHost, {})) > 0) return 0;
    const now = new Date();
    await insertRows(
      em,
      WorkloadHost,
      hosts.map((h) => ({ vmName: h.vmName, ipAddress: h.ipAddress, infra: h.infra, status: 'available' as const, drainRequested: false, updatedAt: now })),
    );
    return hosts.length;
  }

  /**
   * Call first in a transaction that will take hosts. On SQLite it makes the transaction a
   * write transaction at once (the effect of BEGIN IMMEDIATE: a no-op UPDATE takes the write
   * lock), so the reads that follow cannot be overtaken by another writer. PostgreSQL needs
   * nothing: {@link allocate} locks the rows it takes.
   */
  async beginAllocation(db: SqlTarget): Promise<void> {
    if (this.postgres) return;
    await sql(db, 'update workload_pool set id = id where 0', [], 'run');
  }

  /**
   * Takes `count` free hosts of `infra` for a project, lowest ids first. Must run inside a
   * transaction (`db` is the transaction); throws {@link PoolExhaustedError}
   * when fewer are free, which rolls the transaction back with whatever it took.
   *
   * On PostgreSQL the free rows are locked with `FOR UPDATE SKIP LOCKED`: concurrent orders take
   * different hosts without waiting for each other, and the update only takes rows still
   * `available`, so a host is never given twice. A host locked by an order that then rolls
   * back counts as taken for orders running at that moment. SQLite runs one writer at a time,
   * and its update also takes only rows still `available` (a shortfall there is an error).
   */
  async allocate(db: SqlTarget, infra: InfraType, count: number, projectId: number | typeof INSERTED_PROJECT, owner: string): Promise<AllocatedHost[]> {
    let taken: { id: number; vm_name: string; ip_address: string }[];
    if (this.postgres) {
      // Materialized: evaluated once. Inlined as a subquery, PostgreSQL may run it again per row
      // it updates, and with SKIP LOCKED each run finds other rows (a test caught 254 hosts
      // taken for 3).
      const inserted = projectId === INSERTED_PROJECT;
      taken = await sql(
        db,
        `with free as materialized (select id from workload_pool where infra = ? and status = 'available' order by id limit ? for update skip locked)
         update workload_pool set status = 'provisioning', project_id = ${inserted ? "currval(pg_get_serial_sequence('projects', 'id'))" : '?'}, owner = ?, updated_at = ?
          where status = 'available' and id in (select id from free)
          returning id, vm_name, ip_address`,
        inserted ? [infra, count, owner, new Date()] : [infra, count, projectId, owner, new Date()],
      );
    } else {
      if (projectId === INSERTED_PROJECT) throw new Error('INSERTED_PROJECT is for PostgreSQL (see allocateForInsert)');
      // SQLite, one writer at a time: read the free hosts, then take them by id. Measured against
      // one UPDATE … WHERE id IN (subquery) RETURNING (docs/BENCHMARKS.md, session 4): 20 µs
      // against 63 µs per order with 60,000 hosts; RETURNING alone doubled the update.
      taken = await sql(db, `select id, vm_name, ip_address from workload_pool where infra = ? and status = 'available' order by id limit ?`, [infra, count]);
      if (taken.length) {
        const { affectedRows } = await sql(
          db,
          `update workload_pool set status = 'provisioning', project_id = ?, owner = ?, updated_at = ? where status = 'available' and id in (${taken.map(() => '?').join(', ')})`,
          [projectId, owner, new Date(), ...taken.map((h) => h.id)],
          'run',
        );
        // Cannot happen inside a transaction on SQLite; refuse rather than hand out a host twice.
        if (affectedRows !== taken.length) throw new Error(`host allocation raced: ${affectedRows} of ${taken.length} hosts taken`);
      }
    }
    if (taken.length < count) throw new PoolExhaustedError(count, (await this.countFree(db, infra)) + taken.length);
    return taken.map((h) => ({ id: h.id, vmName: h.vm_name, ipAddress: h.ip_address })).sort((x, y) => x.id - y.id);
  }

  /**
   * {@link allocate} for a project this transaction is inserting (`inserting`: the pending
   * insert, issued just before in the same turn of the event loop, with no other insert into
   * projects after it). On PostgreSQL it does not wait for the id: the update is issued now, so
   * it goes out in the INSERT's own message (server/db/sql.ts) and reads the id from the
   * projects sequence in this session (`currval`), one round trip fewer per order. SQLite
   * waits for the id (no round trips there).
   */
  allocateForInsert(db: SqlTarget, infra: InfraType, count: number, inserting: Promise<{ id: number }>, owner: string): Promise<AllocatedHost[]> {
    if (!this.postgres) return inserting.then((project) => this.allocate(db, infra, count, project.id, owner));
    return this.allocate(db, infra, count, INSERTED_PROJECT, owner);
  }

  /**
   * How many hosts of `infra` are free. Inside a transaction on PostgreSQL, hosts that other
   * transactions hold locked (orders being placed) are not counted.
   */
  async countFree(db: SqlTarget, infra: InfraType): Promise<number> {
    const locking = this.postgres && (db instanceof SqlTransaction || db.getTransactionContext() !== undefined);
    const [row]: { n: number | string }[] = await sql(
      db,
      `select count(*) as n from (select 1 from workload_pool where infra = ? and status = 'available'${locking ? ' for update skip locked' : ''}) t`,
      [infra],
    );
    return Number(row.n);
  }

  /**
   * Host counts per infrastructure and state, from one grouped query; every infrastructure
   * appears, with zeros when it has no hosts. Any signed-in account may read it.
   */
  async summary(em: EntityManager, caller: Principal | null): Promise<PoolSummary[]> {
    requireCaller(caller);
    return this.counts(em);
  }

  /** {@link summary} without a caller: for the server's own use (metrics), never an answer to a client. */
  async counts(db: SqlTarget): Promise<PoolSummary[]> {
    const rows: { infra: string; status: string; n: number | string }[] = await sql(
      db,
      `select infra, status, count(*) as n from workload_pool group by infra, status`,
      [],
    );
    const byInfra = new Map<InfraType, PoolSummary>(
      INFRA_TYPES.map((infra) => [infra, { infra, total: 0, available: 0, provisioning: 0, assigned: 0, drained: 0 }]),
    );
    for (const row of rows) {
      const entry = byInfra.get(row.infra as InfraType);
      if (!entry || !HOST_STATUSES.includes(row.status as HostStatus)) continue;
      const n = Number(row.n);
      entry[row.status as HostStatus] += n;
      entry.total += n;
    }
    return [...byInfra.values()];
  }

  /** Marks a project's hosts as in service once it completed. */
  async markAssigned(db: SqlTarget, projectId: number): Promise<void> {
    await sql(db, `update workload_pool set status = 'assigned', updated_at = ? where project_id = ?`, [new Date(), projectId], 'run');
  }

  /** Gives a project's hosts back to the pool (a host an admin drained meanwhile goes out of service); returns how many. */
  async release(db: SqlTarget, projectId: number): Promise<number> {
    const result = await sql(db, `update workload_pool set ${RELEASED}, updated_at = ? where project_id = ?`, [new Date(), projectId], 'run');
    return result.affectedRows;
  }

  /** A project's hosts, lowest id first. */
  async hostsOf(db: SqlTarget, projectId: number): Promise<AllocatedHost[]> {
    const rows: { id: number; vm_name: string; ip_address: string }[] = await sql(
      db,
      'select id, vm_name, ip_address from workload_pool where project_id = ? order by id',
      [projectId],
    );
    return rows.map((h) => ({ id: Number(h.id), vmName: h.vm_name, ipAddress: h.ip_address }));
  }

  /** Frees hosts whose project no longer exists or is not live (start-up sweep). */
  async releaseOrphans(db: SqlTarget): Promise<number> {
    const result = await sql(
      db,
      `update workload_pool set ${RELEASED}, updated_at = ?
        where id in (select h.id from workload_pool h left join projects p on p.id = h.project_id
                      where h.project_id is not null and (p.id is null or p.status not in ('PENDING', 'RUNNING', 'COMPLETED', 'DELETING')))`,
      [new Date()],
      'run',
    );
    return result.affectedRows;
  }
}
