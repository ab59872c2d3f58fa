/** Types of child.mjs (the child side of the benchmark IPC). */
export type Handler = (params: never) => unknown;

export declare function serveParent(
  handlers: Record<string, Handler>,
  onExit?: () => Promise<void> | void,
): { ready(info?: unknown): void; fatal(err: unknown): void };

export interface Usage {
  rss: number;
  heapUsed: number;
  external: number;
  /** CPU time of every thread so far. */
  cpuMicros: number;
  /** Time JavaScript was paused by minor (scavenge) and by major collections since the first call. */
  gcMinorMicros: number;
  gcMajorMicros: number;
}

export declare function usageNow(): Usage;
