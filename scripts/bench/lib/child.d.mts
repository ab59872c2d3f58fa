/** Types of child.mjs (the child side of the benchmark IPC). */
export type Handler = (params: never) => unknown;

export declare function serveParent(
  handlers: Record<string, Handler>,
  onExit?: () => Promise<void> | void,
): { ready(info?: unknown): void; fatal(err: unknown): void };
