/**
 * How the server's V8 is set, applied by the entry point (main.ts) before anything is served.
 *
 * Allocation-site pretenuring is off. V8 watches each place in the code that allocates objects;
 * when most of one place's objects have survived a minor collection, it starts allocating that
 * place's objects straight in the old generation. node-postgres builds every row object at one
 * place, and under load a minor collection now and then finds most rows alive (ten requests in
 * flight, each holding its rows while it answers). From then on each row is born old, and a row
 * in the old generation keeps the young values it points to (the parsed `details` JSON, the
 * strings) alive through every minor collection until a major one clears the dead row. So they
 * are copied and promoted: measured on the REST history (20 rows, 10 connections), the product
 * then copied ~1.6 MB and promoted ~1.5 MB at each minor collection, which paused it 3-9 ms
 * instead of ~1.3 ms and kept V8's helper threads busy (140-280 µs of CPU per request on them,
 * against 10-60 µs). It happened in 4 of 9 traced runs of the same build, whichever way a
 * collection fell early on; with pretenuring off, in none of 9 (docs/BENCHMARKS.md, the changes
 * table).
 *
 * What it costs: objects that do live long (a subscriber's state, say) are copied once or twice
 * through the young generation before they reach the old one. Benchmarks 2, 3 and 5 (orders,
 * 10,000 subscribers, 1,000 runs at once) met their budgets with pretenuring off; an A/B of the
 * SQLite order path was within the noise.
 */
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

/** Applies {@link V8_FLAGS} to this process (the flag is read at each collection, so setting it now holds). */
export function tuneRuntime(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
