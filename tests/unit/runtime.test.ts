/**
 * server/runtime.ts: with tuneRuntime() applied, V8 no longer allocates a place's objects in the
 * old generation after most of them survived (allocation-site pretenuring), the way it began to
 * with node-postgres' rows under load. Each case runs in a process of its own (a V8 flag holds
 * for the whole process): a place in the code makes 300,000 objects that all stay alive, then
 * 60,000 that die at once; the old generation's growth over the second phase tells whether they
 * were born there.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUNTIME = fileURLToPath(new URL('../../server/runtime.ts', import.meta.url));

const PROBE = `
import v8 from 'node:v8';
if (process.env.TUNE === '1') (await import(${JSON.stringify(RUNTIME)})).tuneRuntime();
const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
function make(i) { return { i, label: { text: 'item ' + i } }; }
const keep = [];
for (let i = 0; i < 300000; i++) keep.push(make(i));
// Everything made so far is promoted now, so the second phase starts with nothing young.
globalThis.gc({ type: 'minor' });
globalThis.gc({ type: 'minor' });
const before = oldSpace();
const ring = new Array(16);
let sink = 0;
for (let i = 0; i < 60000; i++) { ring[i & 15] = make(i); sink ^= ring[(i + 1) & 15]?.i ?? 0; }
console.log(JSON.stringify({ grewBytes: oldSpace() - before, kept: keep.length, sink }));
`;

function oldGenerationGrowth(tune: boolean): number {
  // A large first old generation: no major collection during the probe, which could reset V8's
  // pretenuring decisions and let the control pass by chance.
  const out = execFileSync(process.execPath, ['--expose-gc', '--initial-old-space-size=512', '--import', 'tsx', '--input-type=module', '-e', PROBE], {
    env: { ...process.env, TUNE: tune ? '1' : '0' },
    encoding: 'utf8',
  });
  return (JSON.parse(out.trim().split('\n').pop()!) as { grewBytes: number }).grewBytes;
}

describe('tuneRuntime', () => {
  it('V8 would allocate the short-lived objects of a once-surviving place in the old generation (the control)', () => {
    expect(oldGenerationGrowth(false)).toBeGreaterThan(2_000_000); // ~4.4 MB: the 60,000 objects
  });

  it('with tuneRuntime() they are born young and die there: the old generation does not grow', () => {
    expect(oldGenerationGrowth(true)).toBeLessThan(500_000);
  });
});
