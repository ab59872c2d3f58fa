/**
 * The monitoring page's arithmetic, kept free of Vue so it can be tested alone: which rows a
 * tab lists, alarms, the newest-first live log, units, and the geometry of the series charts
 * (lines broken where a series has gaps).
 */
import type { ResourceKind } from '../graphql/generated/operations';

export type MonitoringTab = 'overview' | 'compute' | 'database' | 'network' | 'logs' | 'alarms';

/** The kinds of rows each tab lists (null: every kind). */
export const TAB_KINDS: Partial<Record<MonitoringTab, ResourceKind[] | null>> = {
  overview: null,
  compute: ['host'],
  database: ['db'],
  network: ['alb', 'web', 'ssh'],
};

/** Row statuses the status filter offers: a host's label, or a derived row's project status. */
export const ROW_STATUSES = ['Available', 'Provisioning', 'Running', 'Drained', 'PENDING', 'RUNNING', 'FAILED', 'CANCELLED', 'DELETING'] as const;

export const WINDOWS = ['H1', 'H6', 'H24'] as const;
export type ChartWindow = (typeof WINDOWS)[number];

export interface RunSummary {
  id: number;
  serviceName: string;
  status: string;
  errorMessage?: string | null;
  updatedAt: string;
}

export interface SilentHost {
  hostId: number | null;
  vmName: string;
  ipAddress: string;
  projectName: string;
}

export interface FiringAlert {
  name: string;
  severity: string;
  hostId: number;
  vmName: string;
  ipAddress: string;
  projectId: number | null;
  activeAt: string | null;
  summary: string;
}

export type Alarm =
  | { kind: 'failedRun'; key: string; projectId: number; serviceName: string; message: string; at: string }
  | { kind: 'unreachableHost'; key: string; vmName: string; ipAddress: string; projectName: string }
  | { kind: 'hostAlert'; key: string; name: string; severity: string; vmName: string; ipAddress: string; since: string | null; summary: string };

/**
 * Failed runs with their error; the alerts Prometheus reports firing on the caller's hosts; and
 * — only while a metrics source is configured and answers — hosts in service it has no figures
 * for. (When the source itself is down, the page says so once instead of an alarm per host.)
 */
export function deriveAlarms(
  runs: readonly RunSummary[],
  silentHosts: readonly SilentHost[],
  metrics: { configured: boolean; reachable: boolean | null },
  firing: readonly FiringAlert[] = [],
): Alarm[] {
  const alarms: Alarm[] = runs
    .filter((r) => r.status === 'FAILED')
    .map((r) => ({ kind: 'failedRun' as const, key: `run-${r.id}`, projectId: r.id, serviceName: r.serviceName, message: r.errorMessage ?? '', at: r.updatedAt }));
  for (const a of firing) {
    alarms.push({ kind: 'hostAlert', key: `alert-${a.name}-${a.hostId}`, name: a.name, severity: a.severity, vmName: a.vmName, ipAddress: a.ipAddress, since: a.activeAt, summary: a.summary });
  }
  if (metrics.configured && metrics.reachable !== false) {
    for (const h of silentHosts) alarms.push({ kind: 'unreachableHost', key: `host-${h.ipAddress}`, vmName: h.vmName, ipAddress: h.ipAddress, projectName: h.projectName });
  }
  return alarms;
}

export interface LogLine {
  key: string;
  projectId: number;
  serviceName: string;
  /** Order within the project (seq for live events, position for stored logs). */
  seq: number;
  text: string;
}

export const MAX_LOG_LINES = 200;

/** Lines of several runs, newest first: later runs first, later lines first within a run. */
export function newestFirst(lines: readonly LogLine[], max = MAX_LOG_LINES): LogLine[] {
  return [...lines].sort((a, b) => b.projectId - a.projectId || b.seq - a.seq).slice(0, max);
}

// --- units ---------------------------------------------------------------------------------

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Bytes per second in SI units: "0 B/s", "950 B/s", "1.2 kB/s", "34 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let value = Math.max(0, bytesPerSecond);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = value >= 100 || unit === 0 ? Math.round(value) : round1(value);
  return `${shown} ${units[unit]}`;
}

/** A number for a load average or a percentage: at most one decimal. */
export const formatNumber = (n: number) => String(round1(n));

/** Whole days, hours and minutes of an uptime. */
export function splitUptime(seconds: number): { d: number; h: number; m: number } {
  const s = Math.max(0, Math.floor(seconds));
  return { d: Math.floor(s / 86_400), h: Math.floor((s % 86_400) / 3600), m: Math.floor((s % 3600) / 60) };
}

// --- charts ----------------------------------------------------------------------------------

export interface SeriesPointLike {
  at: string;
  value: number | null;
}

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export interface ChartBox {
  width: number;
  height: number;
  /** Time range of the x axis, epoch ms. */
  start: number;
  end: number;
  /** Top of the y axis (the bottom is 0). */
  max: number;
}

export interface LineGeometry {
  /** SVG path data: one `M … L …` run per stretch without gaps. */
  path: string;
  /** Points with no neighbour to join (a stretch of one): drawn as dots. */
  dots: [number, number][];
  /** Points with a value, i.e. drawn. */
  drawn: number;
}

/**
 * Where a series goes in a chart: x by time over [start, end], y by value over [0, max]
 * (clamped); a null value ends the stretch, so the line shows a gap there instead of joining
 * across it.
 */
export function lineGeometry(points: readonly SeriesPointLike[], box: ChartBox): LineGeometry {
  const span = Math.max(1, box.end - box.start);
  const x = (at: string) => round1(((new Date(at).getTime() - box.start) / span) * box.width);
  const y = (v: number) => round1(box.height - (Math.min(box.max, Math.max(0, v)) / box.max) * box.height);
  const parts: string[] = [];
  const dots: [number, number][] = [];
  let stretch: [number, number][] = [];
  let drawn = 0;
  const close = () => {
    if (stretch.length === 1) dots.push(stretch[0]);
    else if (stretch.length > 1) parts.push(`M${stretch.map(([px, py]) => `${px},${py}`).join(' L')}`);
    stretch = [];
  };
  for (const p of points) {
    if (p.value === null || !Number.isFinite(p.value)) {
      close();
      continue;
    }
    drawn++;
    stretch.push([x(p.at), y(p.value)]);
  }
  close();
  return { path: parts.join(' '), dots, drawn };
}

/** The last value of a series that has one (null when it has none). */
export function latestValue(points: readonly SeriesPointLike[]): number | null {
  for (let i = points.length - 1; i >= 0; i--) if (points[i].value !== null) return points[i].value;
  return null;
}
