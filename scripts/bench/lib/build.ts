/**
 * The server under test runs compiled, on plain node, as in production (`node dist/…`): a
 * TypeScript loader in that process would load modules through its hook thread and stall the
 * event loop whenever something is imported late. The harness compiles server/ with the
 * project's own tsc settings (tsconfig.build.json) into test-output/bench/build/ — not dist/,
 * which other work may be using — and only when a source is newer than the last build. When
 * dist/server is newer than every source (as right after `npm run build`, e.g. in CI), that
 * build is used as it is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './ipc.js';

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/** Returns the folder holding the compiled server's app.js; builds it first when stale. */
export function ensureServerBuild(log: (message: string) => void): string {
  const out = join(ROOT, 'test-output', 'bench', 'build');
  const serverDir = join(out, 'server');
  const stampFile = join(out, '.source-mtime');
  const sources = Math.max(newest(join(ROOT, 'server')), statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs, statSync(join(ROOT, 'tsconfig.json')).mtimeMs);
  const distApp = join(ROOT, 'dist', 'server', 'app.js');
  if (existsSync(distApp) && statSync(distApp).mtimeMs >= sources) {
    log('dist/server is newer than every source: benchmarking it');
    return dirname(distApp);
  }
  const built = existsSync(stampFile) && existsSync(join(serverDir, 'app.js')) ? Number(readFileSync(stampFile, 'utf8')) : 0;
  if (built >= sources) return serverDir;
  const started = Date.now();
  log('compiling the server (tsc -p tsconfig.build.json) into test-output/bench/build …');
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(join(serverDir, 'app.js'))) throw new Error(`could not compile the server:\n${tsc.stdout}${tsc.stderr}`);
  if (tsc.status !== 0) {
    // tsc still emits on type errors; the benchmark is no type check (npm test is).
    log(`  tsc reported type errors (the emitted JavaScript is used anyway):\n${(tsc.stdout + tsc.stderr).split('\n').slice(0, 8).join('\n')}`);
  }
  writeFileSync(stampFile, String(sources));
  log(`  compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return serverDir;
}
