/**
 * Every host of the workload pool accounted for, read from the database rows themselves (not
 * through the API). Each check is one SQL statement, so it sees one consistent snapshot even
 * while runs are moving:
 *
 *  - a host is free (no project, status `available`, no owner) or held (project set, status
 *    `provisioning`/`assigned`); never both, never neither: held ∪ free = pool, held ∩ free = ∅;
 *  - a held host's project exists and is live (PENDING, RUNNING, COMPLETED, DELETING), with the
 *    same owner and infrastructure; `assigned` only once the project completed;
 *  - a PENDING, RUNNING or COMPLETED project holds exactly its host count; a FAILED or
 *    CANCELLED one holds none; a DELETING one all of them or none (it had failed or been
 *    cancelled before the delete);
 *  - no address appears twice, and no two completed projects report the same SSH target.
 */
import type { TestServer } from './server.js';

export const LIVE = ['PENDING', 'RUNNING', 'COMPLETED', 'DELETING'];

export interface HostRow {
  id: number;
  ip: string;
  vmName: string;
  infra: string;
  status: string;
  projectId: number | null;
  owner: string | null;
}

export interface ProjectHolding {
  id: number;
  status: string;
  hostCount: number;
  owner: string;
  infra: string;
  held: number;
}

export interface Ledger {
  hosts: HostRow[];
  projects: ProjectHolding[];
  /** Hosts per holding project id. */
  heldBy: Map<number, HostRow[]>;
  free: HostRow[];
  held: HostRow[];
  /** Every broken rule, in words; `[]` when all hosts are accounted for. */
  problems: string[];
}

export async function readLedger(server: TestServer, expectedPool?: number): Promise<Ledger> {
  const conn = server.app.orm.em.fork().getConnection();
  const problems: string[] = [];

  const rawHosts: any[] = await conn.execute(
    `select h.id, h.ip_address, h.vm_name, h.infra, h.status, h.project_id, h.owner,
            p.id as pid, p.status as pstatus, p.owner as powner, p.infra as pinfra
       from workload_pool h left join projects p on p.id = h.project_id order by h.id`,
  );
  const hosts: HostRow[] = rawHosts.map((r) => ({
    id: Number(r.id),
    ip: r.ip_address,
    vmName: r.vm_name,
    infra: r.infra,
    status: r.status,
    projectId: r.project_id == null ? null : Number(r.project_id),
    owner: r.owner ?? null,
  }));
  const heldBy = new Map<number, HostRow[]>();
  const seenIp = new Set<string>();
  rawHosts.forEach((r, i) => {
    const h = hosts[i];
    if (seenIp.has(h.ip)) problems.push(`address ${h.ip} is in the pool twice`);
    seenIp.add(h.ip);
    if (h.projectId == null) {
      if (h.status !== 'available') problems.push(`host ${h.ip} has no project but status ${h.status}`);
      if (h.owner !== null) problems.push(`host ${h.ip} has no project but owner ${h.owner}`);
      return;
    }
    heldBy.set(h.projectId, [...(heldBy.get(h.projectId) ?? []), h]);
    if (h.status === 'available') problems.push(`host ${h.ip} is held by project ${h.projectId} and also free`);
    if (r.pid == null) {
      problems.push(`host ${h.ip} is held by project ${h.projectId}, which does not exist`);
      return;
    }
    if (!LIVE.includes(r.pstatus)) problems.push(`host ${h.ip} is held by project ${h.projectId}, which is ${r.pstatus}`);
    if (h.owner !== r.powner) problems.push(`host ${h.ip} owner ${h.owner} differs from project ${h.projectId} owner ${r.powner}`);
    if (h.infra !== r.pinfra) problems.push(`host ${h.ip} (${h.infra}) is held by a ${r.pinfra} project ${h.projectId}`);
    if ((r.pstatus === 'PENDING' || r.pstatus === 'RUNNING') && h.status !== 'provisioning') {
      problems.push(`host ${h.ip} of ${r.pstatus} project ${h.projectId} is ${h.status}`);
    }
    if (r.pstatus === 'COMPLETED' && h.status !== 'assigned') problems.push(`host ${h.ip} of COMPLETED project ${h.projectId} is ${h.status}`);
  });
  if (expectedPool !== undefined && hosts.length !== expectedPool) problems.push(`pool has ${hosts.length} hosts, expected ${expectedPool}`);

  const rawProjects: any[] = await conn.execute(
    `select p.id, p.status, p.host_count, p.owner, p.infra, p.details,
            (select count(*) from workload_pool h where h.project_id = p.id) as held
       from projects p order by p.id`,
  );
  const projects: ProjectHolding[] = rawProjects.map((r) => ({
    id: Number(r.id),
    status: r.status,
    hostCount: Number(r.host_count),
    owner: r.owner,
    infra: r.infra,
    held: Number(r.held),
  }));
  const sshTargetOwner = new Map<string, number>();
  rawProjects.forEach((r, i) => {
    const p = projects[i];
    if (p.status === 'DELETING') {
      // Tearing down: it keeps all its hosts until the teardown is done, or none when the run
      // had already ended FAILED or CANCELLED (they were returned then); never a part.
      if (p.held !== 0 && p.held !== p.hostCount) problems.push(`DELETING project ${p.id} holds ${p.held} of its ${p.hostCount} hosts`);
    } else if (LIVE.includes(p.status)) {
      if (p.held !== p.hostCount) problems.push(`${p.status} project ${p.id} holds ${p.held} hosts, needs ${p.hostCount}`);
    } else if (p.held !== 0) {
      problems.push(`${p.status} project ${p.id} still holds ${p.held} hosts`);
    }
    if (p.status === 'COMPLETED') {
      const details = typeof r.details === 'string' ? JSON.parse(r.details) : r.details;
      for (const t of details?.resources?.ssh_targets ?? []) {
        const other = sshTargetOwner.get(t.host);
        if (other !== undefined) problems.push(`SSH target ${t.host} reported by projects ${other} and ${p.id}`);
        sshTargetOwner.set(t.host, p.id);
      }
    }
  });

  // The usage totals the journal keeps must equal a fresh sum over the live projects, per owner
  // and for the portal ('*'); an owner with nothing live may have a row of zeros.
  const totals: any[] = await conn.execute('select owner, live_projects, hosts, vcpu, memory_gb, disk_gb from usage_totals');
  const summed: any[] = await conn.execute(
    `select owner, count(*) as live_projects, sum(host_count) as hosts, sum(vcpu) as vcpu, sum(memory_gb) as memory_gb, sum(disk_gb) as disk_gb
       from projects where status in ('PENDING', 'RUNNING', 'COMPLETED', 'DELETING') group by owner`,
  );
  const key = (r: any) => [r.live_projects, r.hosts, r.vcpu, r.memory_gb, r.disk_gb].map(Number).join('/');
  const expected = new Map<string, string>(summed.map((r) => [r.owner, key(r)]));
  const portal = summed.reduce((acc, r) => acc.map((v: number, i: number) => v + Number([r.live_projects, r.hosts, r.vcpu, r.memory_gb, r.disk_gb][i])), [0, 0, 0, 0, 0]);
  expected.set('*', portal.join('/'));
  const kept = new Map<string, string>(totals.map((r) => [r.owner, key(r)]));
  for (const [owner, value] of expected) {
    const have = kept.get(owner) ?? (owner === '*' ? 'missing' : '0/0/0/0/0');
    if (have !== value) problems.push(`usage totals of ${owner} are ${have}, the live projects sum to ${value}`);
  }
  for (const [owner, value] of kept) {
    if (!expected.has(owner) && value !== '0/0/0/0/0') problems.push(`usage totals of ${owner} are ${value} with no live project`);
  }

  const free = hosts.filter((h) => h.projectId == null);
  const held = hosts.filter((h) => h.projectId != null);
  if (free.length + held.length !== hosts.length) problems.push('held ∪ free is not the pool');
  return { hosts, projects, heldBy, free, held, problems };
}

/** IP addresses a project holds, sorted. */
export function heldIps(ledger: Ledger, projectId: number): string[] {
  return (ledger.heldBy.get(projectId) ?? []).map((h) => h.ip).sort();
}
