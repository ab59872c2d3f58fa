/**
 * What the monitoring page charts and alarms on, with access first: the time series of a host
 * or of a project's hosts (the owner of the host's project, or an admin; anyone else gets
 * NOT_FOUND, as for another user's project), and the alerts Prometheus reports as firing on the
 * caller's hosts (an admin's: every held host).
 */
import type { EntityManager } from '@mikro-orm/core';
import { sql } from '../db/sql.js';
import { invalidInput, notFound } from './errors.js';
import type { FiringAlert, HostSeriesData, MetricsSource, MetricWindow } from './metrics.js';
import { METRIC_WINDOWS } from './metrics.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';
import type { ProjectService } from './projects.js';

export interface MonitoredHost {
  hostId: number;
  vmName: string;
  ipAddress: string;
  projectId: number | null;
}

export interface HostSeries extends MonitoredHost, HostSeriesData {}

export interface HostAlert extends FiringAlert {
  host: MonitoredHost;
}

interface HostRow {
  id: number;
  vm_name: string;
  ip_address: string;
  project_id: number | null;
  owner: string | null;
}

const toHost = (r: HostRow): MonitoredHost => ({ hostId: Number(r.id), vmName: r.vm_name, ipAddress: r.ip_address, projectId: r.project_id == null ? null : Number(r.project_id) });

function checkWindow(window: string): MetricWindow {
  if (!(window in METRIC_WINDOWS)) throw invalidInput([{ loc: ['query', 'window'], msg: `must be one of ${Object.keys(METRIC_WINDOWS).join(', ')}`, type: 'enum' }]);
  return window as MetricWindow;
}

export class MonitoringService {
  constructor(
    private readonly metrics: MetricsSource,
    private readonly projects: ProjectService,
  ) {}

  /** One pool host's series; NOT_FOUND unless the caller owns the project holding it (or is an admin). */
  async hostSeries(em: EntityManager, caller: Principal | null, hostId: number, window: string): Promise<HostSeries> {
    const who = requireCaller(caller);
    const w = checkWindow(window);
    const [row]: HostRow[] = await sql(em, 'select id, vm_name, ip_address, project_id, owner from workload_pool where id = ?', [hostId]);
    if (!row || (!isAdmin(who) && (row.project_id == null || row.owner !== who.username))) throw notFound();
    const host = toHost(row);
    const data = (await this.metrics.series([host.ipAddress], w)).get(host.ipAddress)!;
    return { ...host, ...data };
  }

  /** The series of every host a project holds; NOT_FOUND for another user's project. */
  async projectSeries(em: EntityManager, caller: Principal | null, projectId: number, window: string): Promise<HostSeries[]> {
    const w = checkWindow(window);
    await this.projects.get(em, caller, projectId);
    const rows: HostRow[] = await sql(em, 'select id, vm_name, ip_address, project_id, owner from workload_pool where project_id = ? order by id', [projectId]);
    const hosts = rows.map(toHost);
    const data = await this.metrics.series(
      hosts.map((h) => h.ipAddress),
      w,
    );
    return hosts.map((h) => ({ ...h, ...data.get(h.ipAddress)! }));
  }

  /** Alerts firing on the hosts the caller's projects hold (an admin: on every held host). */
  async alerts(em: EntityManager, caller: Principal | null): Promise<HostAlert[]> {
    const who = requireCaller(caller);
    if (!this.metrics.configured) return [];
    const rows: HostRow[] = isAdmin(who)
      ? await sql(em, 'select id, vm_name, ip_address, project_id, owner from workload_pool where project_id is not null', [])
      : await sql(em, 'select id, vm_name, ip_address, project_id, owner from workload_pool where owner = ? and project_id is not null', [who.username]);
    const byAddress = new Map(rows.map((r) => [r.ip_address, toHost(r)]));
    const firing = await this.metrics.alerts([...byAddress.keys()]);
    return firing.map((a) => ({ ...a, host: byAddress.get(a.address)! }));
  }
}
