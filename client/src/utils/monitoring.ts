/**
 * The monitoring page's arithmetic, kept free of Vue so it can be tested alone: averages of
 * the caller's hosts, the rolling chart series, alarms, and the newest-first live log.
 */

export interface UsageRow {
  kind: string;
  vmName: string;
  ipAddress: string;
  projectName: string;
  status: string;
  cpuUsage: number;
  memoryUsage: number;
  diskUsage: number;
  hasMetrics: boolean;
}

export interface Averages {
  cpu: number;
  memory: number;
  disk: number;
  /** Hosts the averages are taken over (those with metrics). */
  hosts: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Average CPU / memory / disk over the host rows that carry metrics; null when none does. */
export function averages(rows: readonly UsageRow[]): Averages | null {
  const measured = rows.filter((r) => r.kind === 'host' && r.hasMetrics);
  if (!measured.length) return null;
  const mean = (pick: (r: UsageRow) => number) => round1(measured.reduce((sum, r) => sum + pick(r), 0) / measured.length);
  return { cpu: mean((r) => r.cpuUsage), memory: mean((r) => r.memoryUsage), disk: mean((r) => r.diskUsage), hosts: measured.length };
}

export interface ChartPoint {
  at: number;
  cpu: number;
  memory: number;
}

export const CHART_POINTS = 30;

/** The series with one more point, keeping the last `max`. */
export function pushPoint(series: readonly ChartPoint[], point: ChartPoint, max = CHART_POINTS): ChartPoint[] {
  return [...series, point].slice(-max);
}

/** An SVG polyline `points` value for one metric (0–100 %) in a width × height box. */
export function polylinePoints(series: readonly ChartPoint[], pick: (p: ChartPoint) => number, width: number, height: number, max = CHART_POINTS): string {
  const step = max > 1 ? width / (max - 1) : 0;
  const offset = (max - series.length) * step;
  return series
    .map((p, i) => {
      const value = Math.min(100, Math.max(0, pick(p)));
      return `${round1(offset + i * step)},${round1(height - (value / 100) * height)}`;
    })
    .join(' ');
}

export interface RunSummary {
  id: number;
  serviceName: string;
  status: string;
  errorMessage?: string | null;
  updatedAt: string;
}

export type Alarm =
  | { kind: 'failedRun'; key: string; projectId: number; serviceName: string; message: string; at: string }
  | { kind: 'unreachableHost'; key: string; vmName: string; ipAddress: string; projectName: string };

/**
 * Failed runs with their error, then — only while a metrics source is configured and answers —
 * the caller's assigned hosts it has no metrics for. (When the source itself is down, the page
 * says so once instead of raising an alarm per host.)
 */
export function deriveAlarms(runs: readonly RunSummary[], rows: readonly UsageRow[], metrics: { configured: boolean; reachable: boolean | null }): Alarm[] {
  const alarms: Alarm[] = runs
    .filter((r) => r.status === 'FAILED')
    .map((r) => ({ kind: 'failedRun' as const, key: `run-${r.id}`, projectId: r.id, serviceName: r.serviceName, message: r.errorMessage ?? '', at: r.updatedAt }));
  if (metrics.configured && metrics.reachable !== false) {
    for (const r of rows) {
      if (r.kind === 'host' && r.status === 'Running' && !r.hasMetrics) {
        alarms.push({ kind: 'unreachableHost', key: `host-${r.ipAddress}`, vmName: r.vmName, ipAddress: r.ipAddress, projectName: r.projectName });
      }
    }
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
