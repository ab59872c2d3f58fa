/**
 * The publisher of the subscription benchmark, run inside a server process (the product's
 * bench entry and the raw `ws` baseline alike): publishes `ratePerSec` events for
 * `durationMs`, round-robin over the subscribed projects, each carrying its publish time, and
 * measures the process's CPU time while doing it. An idle window is measured first (at most
 * 1 s, scaled to the publishing window), so the per-event cost can be given net of what the
 * open sockets cost anyway (keep-alive pings, timers). Plain JavaScript: see child.mjs.
 */

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** Per-project next sequence number, kept across calls (events must follow each other 2, 3, 4…). */
const nextSeq = new Map();

export function takeSeq(projectId, first) {
  const seq = nextSeq.get(projectId) ?? first;
  nextSeq.set(projectId, seq + 1);
  return seq;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runFanout(params, publish) {
  const { projectIds, ratePerSec, durationMs } = params;
  if (projectIds.length === 0) throw new Error('no projects to publish to');
  const drainMs = 250;
  let idleCpuMicros = 0;
  if (params.idleFirst) {
    const idleMs = Math.min(durationMs + drainMs, params.idleMs ?? 1000);
    const cpu0 = cpuNow();
    const t0 = wallNow();
    await sleep(idleMs);
    idleCpuMicros = ((cpuNow() - cpu0) * (durationMs + drainMs)) / (wallNow() - t0);
  }
  const cpu0 = cpuNow();
  const startedAt = wallNow();
  const total = Math.floor((ratePerSec * durationMs) / 1000);
  let published = 0;
  let next = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = wallNow() - startedAt;
      const due = Math.min(total, Math.floor((ratePerSec * elapsed) / 1000));
      while (published < due) {
        publish(projectIds[next], wallNow());
        next = (next + 1) % projectIds.length;
        published++;
      }
      if (published >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 2);
  });
  const endedAt = wallNow();
  await sleep(drainMs);
  const cpuMicros = cpuNow() - cpu0;
  return { published, startedAt, endedAt, cpuMicros, idleCpuMicros, windowMs: endedAt - startedAt + drainMs };
}
