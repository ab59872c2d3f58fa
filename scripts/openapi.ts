/**
 * `npm run openapi:emit` writes openapi.json, the OpenAPI document the server builds from its
 * routes' schemas (as it serves it at /openapi.json with the default configuration; in
 * production without METRICS_TOKEN it has no /metrics); `npm run openapi:check` fails when the
 * committed file has drifted.
 * The server is built over a throw-away SQLite file and never listens.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../server/app.js';
import { loadConfig } from '../server/config/index.js';

const file = resolve(import.meta.dirname, '..', 'openapi.json');
const mode = process.argv[2];
if (mode !== 'emit' && mode !== 'check') {
  console.error('usage: tsx scripts/openapi.ts emit|check');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'hcmp-openapi-'));
let printed: string;
try {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SQLITE_PATH: join(dir, 'hcmp.db'),
    TOKEN_SECRET: 'openapi-emit-token-secret-0123456789abcdef',
    ADMIN_PASSWORD: 'openapi-emit-admin-password',
    CLIENT_DIST: join(dir, 'no-client'),
  });
  const app = await createApp(config, { logger: false });
  try {
    await app.http.ready();
    printed = `${JSON.stringify(app.http.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (mode === 'emit') {
  writeFileSync(file, printed);
  console.log(`wrote ${file}`);
} else {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // missing counts as drift
  }
  if (committed !== printed) {
    console.error('openapi.json differs from the document the routes build: run `npm run openapi:emit` and commit it.');
    process.exit(1);
  }
  console.log('openapi.json matches the routes');
}
