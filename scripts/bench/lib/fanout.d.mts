/** Types of fanout.mjs (the subscription benchmark's in-server publisher). */
export declare const wallNow: () => number;

export interface FanoutParams {
  projectIds: number[];
  ratePerSec: number;
  durationMs: number;
  /** Measure an idle window first (at most 1 s; its CPU is scaled to the publishing window). */
  idleFirst?: boolean;
  /** Longest idle window, ms (default 1000). */
  idleMs?: number;
}

export interface FanoutResult {
  published: number;
  startedAt: number;
  endedAt: number;
  /** CPU (user + system) of this process during the publishing window plus a short drain, µs. */
  cpuMicros: number;
  /** CPU of the same process while idle, scaled to the length of the publishing window, µs (0 when not measured). */
  idleCpuMicros: number;
  windowMs: number;
}

export declare function takeSeq(projectId: number, first: number): number;

export declare function runFanout(params: FanoutParams, publish: (projectId: number, stamp: number) => void): Promise<FanoutResult>;
