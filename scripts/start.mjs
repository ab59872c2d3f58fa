/**
 * `npm start`: builds what is missing or older than its sources (server with tsc, console with
 * Vite), then runs the built server. Migrations run as the server starts.
 */
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function stale(output, ...sources) {
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  return sources.some((s) => newestMtime(join(root, s)) > built);
}

function run(script) {
  console.log(`> npm run ${script}`);
  execSync(`npm run -s ${script}`, { cwd: root, stdio: 'inherit' });
}

if (stale(join(root, 'dist/server/main.js'), 'server')) run('build:server');
if (stale(join(root, 'dist/client/index.html'), 'client')) run('build:client');

process.chdir(root);
await import(join(root, 'dist/server/main.js'));
