/**
 * The product server for the benchmarks: the same `tuneRuntime` → `loadConfig` → `createApp` →
 * `listen` as server/main.ts (configured by environment variables, as in production), on the
 * compiled server (plain `node`, no TypeScript loader in the process under test), plus measurement
 * hooks that answer only the benchmark parent over the IPC channel `fork` opens:
 *
 * - event-loop delay (perf_hooks.monitorEventLoopDelay), memory and CPU;
 * - an in-process publisher for the subscription fan-out (into the server's event bus).
 *
 * None of this exists in the production entry point or on any HTTP route: this file is
 * started by the harness only and refuses to run without its IPC channel (child.mjs).
 * HCMP_BENCH_SERVER_DIR names the compiled server (…/server, holding app.js and config/).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serveParent, usageNow } from '../lib/child.mjs';
import { runFanout, takeSeq } from '../lib/fanout.mjs';

let app;
let eld;

const ms = (ns) => ns / 1e6;

/** The in-process event bus (private to ProjectService); the publisher feeds it directly. */
function bus() {
  const candidate = app?.services?.projects?.bus;
  if (!candidate || typeof candidate.publish !== 'function' || typeof candidate.subscriberCount !== 'function') {
    throw new Error('cannot reach the event bus (ProjectService.bus): the subscription benchmark needs updating');
  }
  return candidate;
}

const parent = serveParent(
  {
    usage: usageNow,
    gc: async () => {
      if (typeof globalThis.gc !== 'function') return false;
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 50));
      globalThis.gc();
      return true;
    },
    eldStart: ({ resolutionMs = 10 } = {}) => {
      eld?.disable();
      eld = monitorEventLoopDelay({ resolution: resolutionMs });
      eld.enable();
      return true;
    },
    eldStop: () => {
      if (!eld) throw new Error('eldStart was not called');
      eld.disable();
      const h = eld;
      eld = undefined;
      return { p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), count: h.count };
    },
    subscribers: () => bus().subscriberCount(),
    fanout: (params) => {
      const b = bus();
      return runFanout(params, (projectId, stamp) =>
        b.publish({ projectId, seq: takeSeq(projectId, 2), at: new Date(), kind: 'log', status: 'COMPLETED', message: `bench t=${stamp.toFixed(3)}`, data: null }),
      );
    },
    dispatcherLoad: () => app?.dispatcher?.load ?? null,
  },
  async () => {
    eld?.disable();
    await app?.close();
  },
);

async function main() {
  const dir = process.env.HCMP_BENCH_SERVER_DIR;
  if (!dir) throw new Error('HCMP_BENCH_SERVER_DIR is not set');
  await import('reflect-metadata');
  // The V8 settings server/main.ts applies before it starts.
  const { tuneRuntime } = await import(pathToFileURL(join(dir, 'runtime.js')).href);
  tuneRuntime();
  const { loadConfig } = await import(pathToFileURL(join(dir, 'config', 'index.js')).href);
  const { createApp } = await import(pathToFileURL(join(dir, 'app.js')).href);
  app = await createApp(loadConfig());
  const url = await app.listen();
  parent.ready({ url: url.replace('0.0.0.0', '127.0.0.1'), backend: app.database.backend, fellBack: app.database.fellBack, pid: process.pid });
}

main().catch((err) => parent.fatal(err));
