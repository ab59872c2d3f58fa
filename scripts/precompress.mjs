/**
 * `node scripts/precompress.mjs [dir]` (after `vite build`): writes `<file>.br` and `<file>.gz`
 * beside every compressible file of the console's build (default dist/client), at the highest
 * levels (done once per build, not per request). The server sends them as they are to clients
 * that accept them (server/app.ts: @fastify/static preCompressed). Files that would not shrink
 * by at least 5 % (already compressed formats, tiny files) get none.
 */
import { readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = resolve(process.argv[2] ?? 'dist/client');
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|map|txt|ttf|otf)$/;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

let count = 0;
let raw = 0;
let brotli = 0;
for (const path of files(root)) {
  if (!COMPRESSIBLE.test(path)) continue;
  const data = readFileSync(path);
  const worthIt = (packed) => packed.length <= data.length * 0.95;
  const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
  const gz = gzipSync(data, { level: 9 });
  for (const [suffix, packed] of [['.br', br], ['.gz', gz]]) {
    if (worthIt(packed)) writeFileSync(`${path}${suffix}`, packed);
    else rmSync(`${path}${suffix}`, { force: true });
  }
  if (worthIt(br)) {
    count++;
    raw += statSync(path).size;
    brotli += br.length;
  }
}
console.log(`precompressed ${count} files in ${root}: ${(raw / 1024).toFixed(0)} KiB → ${(brotli / 1024).toFixed(0)} KiB brotli`);
