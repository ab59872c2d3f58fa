/**
 * Child side of the benchmark IPC (see ipc.ts for the parent side). Plain JavaScript, so the
 * product server's bench entry (children/product-server.mjs) runs on plain `node`, without a
 * TypeScript loader in the process under test.
 *
 * `serveParent(handlers, onExit)` answers the parent's calls with `handlers` and exits when
 * the parent goes away (IPC channel closed), on SIGTERM and on SIGINT. It refuses to run
 * outside the harness (no IPC channel, or HCMP_BENCH_CHILD unset), which keeps the bench-only
 * hooks of these entry points out of reach of anything but the benchmark parent.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';

export function serveParent(handlers, onExit) {
  if (typeof process.send !== 'function' || process.env.HCMP_BENCH_CHILD !== '1') {
    console.error('This is a benchmark child process; it is started by `npm run bench` only.');
    process.exit(2);
  }
  const send = (message) => {
    if (process.connected) process.send(message);
  };
  let exiting = false;
  const leave = (code) => {
    if (exiting) return;
    exiting = true;
    const timer = setTimeout(() => process.exit(code), 3000);
    timer.unref();
    Promise.resolve()
      .then(() => onExit?.())
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  process.on('disconnect', () => leave(0));
  process.on('SIGTERM', () => leave(0));
  process.on('SIGINT', () => leave(0));
  process.on('message', (message) => {
    if (message?.type !== 'call') return;
    const handler = handlers[message.method];
    if (!handler) {
      send({ type: 'reply', id: message.id, ok: false, error: `unknown method ${message.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.params))
      .then(
        (result) => send({ type: 'reply', id: message.id, ok: true, result }),
        (err) => send({ type: 'reply', id: message.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  return {
    ready: (info) => send({ type: 'ready', info: info ?? null }),
    fatal: (err) => {
      send({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      // Give the IPC message a moment to leave before exiting.
      setTimeout(() => process.exit(1), 200);
    },
  };
}

/**
 * What the process has used so far: memory, CPU time (every thread) and the time its garbage
 * collections paused JavaScript, minor (scavenges) and major (with its incremental steps), in
 * microseconds. Collections are counted from the first call on (perf_hooks' gc entries), so
 * the first call starts the count and differences between calls measure what came between.
 */
export function usageNow() {
  gcPause ??= observeGcPauses();
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, cpuMicros: c.user + c.system, gcMinorMicros: gcPause.minor, gcMajorMicros: gcPause.major };
}

let gcPause;

function observeGcPauses() {
  const totals = { minor: 0, major: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const micros = entry.duration * 1000;
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) totals.minor += micros;
      else totals.major += micros;
    }
  }).observe({ entryTypes: ['gc'] });
  return totals;
}
