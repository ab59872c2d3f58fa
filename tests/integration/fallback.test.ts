/**
 * Database fallback (SPEC §5): when PostgreSQL cannot be reached at start-up the server logs
 * the host, port and reason and "DB connection failed → falling back to SQLite (<path>)", then
 * runs on SQLite and says so on /healthz; with DB_FALLBACK=false start-up fails with that line.
 * Only 127.0.0.1 is contacted: a port nothing listens on, and a local listener that never answers.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { loadConfig } from '../../server/config/index.js';
import { ADMIN, startTestServer, TEST_TOKEN_SECRET, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const REFUSED_URL = 'postgres://nobody:fallback-secret-pw@127.0.0.1:1/none';

const messagesOf = (logs: string[]) =>
  logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string });

describe('PostgreSQL unreachable (refused port) with the default fallback', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { DATABASE_URL: REFUSED_URL, DB_FALLBACK: 'true', DB_CONNECT_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => server?.close());

  it('logs the host, the port and the reason, then the fallback line with the SQLite path', () => {
    const messages = messagesOf(server.logs);
    const failure = messages.find((m) => m.msg.includes('host 127.0.0.1') && m.msg.includes('port 1 '));
    expect(failure, 'a log line naming host and port').toBeDefined();
    expect(failure!.msg).toMatch(/ECONNREFUSED/);
    expect(failure!.level).toBeGreaterThanOrEqual(50);
    const fallback = messages.find((m) => m.msg === `DB connection failed → falling back to SQLite (${server.sqlitePath})`);
    expect(fallback, 'the fallback line').toBeDefined();
    expect(messages.indexOf(fallback!)).toBeGreaterThan(messages.indexOf(failure!));
    expect(existsSync(server.sqlitePath)).toBe(true);
  });

  it('never logs or shows the password of DATABASE_URL', async () => {
    expect(server.logs.join('')).not.toContain('fallback-secret-pw');
    const health = await server.request('GET', '/healthz');
    expect(JSON.stringify(health.body)).not.toContain('fallback-secret-pw');
  });

  it('reports the fallback and its reason on /healthz', async () => {
    const res = await server.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body.database).toMatchObject({ backend: 'sqlite', fell_back: true });
    expect(res.body.database.reason).toMatch(/127\.0\.0\.1:1\b/);
    expect(res.body.database.reason).toMatch(/ECONNREFUSED/);
    expect(server.app.database).toMatchObject({ backend: 'sqlite', fellBack: true, location: server.sqlitePath });
  });

  it('still provisions on SQLite', async () => {
    const created = await server.request('POST', '/api/provision', {
      token: server.adminToken,
      body: { serviceName: 'on-fallback', config: { template: 'standard' }, targetInfra: 'vsphere' },
    });
    expect(created.status).toBe(200);
    const row = await waitForFinalStatus(server, created.body.project_id, server.adminToken);
    expect(row.status).toBe('COMPLETED');
    expect(row.details.resources.ssh_targets).toHaveLength(3);
  });
});

describe('PostgreSQL unreachable with DB_FALLBACK=false', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hcmp-nofallback-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start, with the fallback line and DB_FALLBACK=false in the error', async () => {
    const sqlitePath = join(dir, 'never.db');
    const logs: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      SQLITE_PATH: sqlitePath,
      TOKEN_SECRET: TEST_TOKEN_SECRET,
      ADMIN_PASSWORD: ADMIN.password,
      CLIENT_DIST: join(dir, 'no-client'),
      DATABASE_URL: REFUSED_URL,
      DB_FALLBACK: 'false',
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    expect(config.dbFallback).toBe(false);

    const started = createApp(config, { logger: { level: 'info', stream } });
    await expect(started).rejects.toThrow('DB connection failed → falling back to SQLite');
    const err = await started.catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`DB connection failed → falling back to SQLite (${sqlitePath})`);
    expect((err as Error).message).toContain('DB_FALLBACK=false');
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('fallback-secret-pw');

    // It stopped: no SQLite database was made, and the log says why.
    expect(existsSync(sqlitePath)).toBe(false);
    const messages = messagesOf(logs).map((m) => m.msg);
    expect(messages.some((m) => m.includes('host 127.0.0.1') && m.includes('port 1 '))).toBe(true);
    expect(messages.some((m) => m.includes('DB_FALLBACK=false'))).toBe(true);
    expect(messages).not.toContain(`DB connection failed → falling back to SQLite (${sqlitePath})`);
  });
});

describe('PostgreSQL port that accepts but never answers', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let port = 0;
  let server: TestServer;
  let startMs = 0;

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket); // hold the connection open and say nothing
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
    const began = Date.now();
    server = await startTestServer({
      env: { DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/none`, DB_FALLBACK: 'true', DB_CONNECT_TIMEOUT_MS: '1000' },
    });
    startMs = Date.now() - began;
  });
  afterAll(async () => {
    await server?.close();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('gives up after the connect timeout and falls back to SQLite', async () => {
    expect(startMs).toBeGreaterThanOrEqual(900);
    expect(startMs).toBeLessThan(10_000);
    const messages = messagesOf(server.logs).map((m) => m.msg);
    expect(messages.some((m) => m.includes('host 127.0.0.1') && m.includes(`port ${port} `) && /time/i.test(m))).toBe(true);
    expect(messages).toContain(`DB connection failed → falling back to SQLite (${server.sqlitePath})`);
    const health = await server.request('GET', '/healthz');
    expect(health.body.database).toMatchObject({ backend: 'sqlite', fell_back: true });
    expect(health.body.database.reason).toContain(`127.0.0.1:${port}`);
  });
});
