/**
 * Serving the way a server on an intranet must without a proxy in front (issue #17, items 3-4):
 *
 * - JSON answers compressed (brotli, gzip) when the client accepts it, plain when not, and small
 *   answers left as they are.
 * - The console's files precompressed at build time and served as such; hashed assets cached for
 *   a year (immutable), index.html revalidated every time.
 * - ETag and 304 on the history, my-resources and the public settings; a changed history is 200
 *   with a new ETag; per-user answers private and varying by Authorization.
 * - A body refused before it was read (413, 415) is answered so that Node's fetch reads the 413, ten
 *   times in a row, with bodies of 8 and 32 MB.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClientBuilt } from '../helpers/browser.js';
import { dataTargets, spawnServer, type ServerProcess } from '../helpers/process.js';
import { startTestServer, waitForFinalStatus, type TestServer } from '../helpers/server.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with exactly these headers (fetch would add Accept-Encoding and decompress by itself). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function decoded(r: Raw): string {
  const encoding = r.headers['content-encoding'];
  if (encoding === 'br') return brotliDecompressSync(r.body).toString('utf8');
  if (encoding === 'gzip') return gunzipSync(r.body).toString('utf8');
  return r.body.toString('utf8');
}

describe('compression, caching and conditional GETs', () => {
  let server: TestServer;
  let clientDist: string;
  const auth = () => ({ authorization: `Bearer ${server.adminToken}` });

  beforeAll(async () => {
    clientDist = ensureClientBuilt();
    server = await startTestServer({ env: { CLIENT_DIST: clientDist } });
    // Enough history for an answer worth compressing.
    for (let i = 0; i < 8; i++) {
      const res = await server.request('POST', '/api/provision', { token: server.adminToken, body: { serviceName: `serve-${i}`, config: { template: 'single' }, targetInfra: 'vsphere' } });
      expect(res.status).toBe(200);
      await waitForFinalStatus(server, res.body.project_id, server.adminToken);
    }
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it('compresses JSON answers with brotli or gzip as the client accepts, and sends them plain otherwise', async () => {
    const plain = await rawGet(`${server.url}/api/history`, auth());
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const json = plain.body.toString('utf8');
    expect(json.length).toBeGreaterThan(2048);
    expect(JSON.parse(json)).toHaveLength(8);

    const br = await rawGet(`${server.url}/api/history`, { ...auth(), 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(decoded(br)).toBe(json);
    expect(br.body.length).toBeLessThan(json.length / 3);
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);

    const gz = await rawGet(`${server.url}/api/history`, { ...auth(), 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(decoded(gz)).toBe(json);

    // Small answers are not worth it.
    const small = await rawGet(`${server.url}/livez`, { 'accept-encoding': 'br' });
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it("serves the console's precompressed files, caches hashed assets for a year and revalidates index.html", async () => {
    const assets = readdirSync(join(clientDist, 'assets'));
    // The console's entry, as index.html names it.
    const mainJs = /src="\/assets\/([^"]+\.js)"/.exec(readFileSync(join(clientDist, 'index.html'), 'utf8'))![1];
    expect(assets).toContain(`${mainJs}.br`);
    const br = await rawGet(`${server.url}/assets/${mainJs}`, { 'accept-encoding': 'br, gzip' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.equals(readFileSync(join(clientDist, 'assets', `${mainJs}.br`)))).toBe(true);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(String(br.headers['content-type'])).toMatch(/javascript/);

    const gz = await rawGet(`${server.url}/assets/${mainJs}`, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(readFileSync(join(clientDist, 'assets', mainJs)))).toBe(true);

    const plain = await rawGet(`${server.url}/assets/${mainJs}`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(readFileSync(join(clientDist, 'assets', mainJs)))).toBe(true);

    for (const path of ['/', '/history']) {
      const page = await rawGet(`${server.url}${path}`, { 'accept-encoding': 'br' });
      expect(page.status, path).toBe(200);
      expect(page.headers['cache-control'], path).toBe('no-cache');
      expect(decoded(page)).toContain('<div id="app">');
    }
  });

  it('answers 304 to a matching If-None-Match, and 200 with a new ETag once the history changed; private per user', async () => {
    const first = await rawGet(`${server.url}/api/history`, auth());
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(String(first.headers.vary)).toMatch(/authorization/i);

    const again = await rawGet(`${server.url}/api/history`, { ...auth(), 'if-none-match': etag, 'accept-encoding': 'br' });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);

    // Another user's answer is another representation: the admin's ETag does not match it.
    const carol = await server.createUser('carol-etag');
    const theirs = await rawGet(`${server.url}/api/history`, { authorization: `Bearer ${carol}`, 'if-none-match': etag });
    expect(theirs.status).toBe(200);

    const res = await server.request('POST', '/api/provision', { token: server.adminToken, body: { serviceName: 'serve-changed', config: { template: 'single' }, targetInfra: 'vsphere' } });
    expect(res.status).toBe(200);
    const changed = await rawGet(`${server.url}/api/history`, { ...auth(), 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    await waitForFinalStatus(server, res.body.project_id, server.adminToken);
  });

  it('gives my-resources and the public settings ETags too (the settings public, revalidated)', async () => {
    const resources = await rawGet(`${server.url}/api/monitoring/my-resources`, auth());
    expect(resources.status).toBe(200);
    expect((await rawGet(`${server.url}/api/monitoring/my-resources`, { ...auth(), 'if-none-match': String(resources.headers.etag) })).status).toBe(304);

    const settings = await rawGet(`${server.url}/api/public/settings`);
    expect(settings.headers['cache-control']).toBe('no-cache');
    expect(String(settings.headers.vary ?? '')).not.toMatch(/authorization/i);
    expect((await rawGet(`${server.url}/api/public/settings`, { 'if-none-match': String(settings.headers.etag) })).status).toBe(304);
  });
});

describe('a body refused before it was read', () => {
  const data = dataTargets('refusals');
  let server: ServerProcess;

  beforeAll(async () => {
    server = await spawnServer({ db: await data.fresh('sqlite'), name: 'refusals' });
  }, 60_000);

  afterAll(() => data.cleanUp());

  it("reaches Node's fetch as a 413, ten times in a row, with bodies of 8 and 32 MB", async () => {
    for (const mb of [8, 32]) {
      const body = JSON.stringify({ serviceName: 'too-big', config: { template: 'single', blob: 'x'.repeat(mb * 1024 * 1024) } });
      const seen: string[] = [];
      for (let i = 0; i < 10; i++) {
        try {
          const res = await fetch(`${server.url}/api/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          seen.push(`${res.status} ${(await res.json()).detail}`);
        } catch (err) {
          seen.push(String((err as { cause?: { code?: string } }).cause?.code ?? err));
        }
      }
      expect(seen, `${mb} MB`).toEqual(Array(10).fill('413 Request body too large (limit 262144 bytes)'));
    }
    // The server is fine afterwards.
    expect((await server.request('GET', '/livez')).status).toBe(200);
  }, 120_000);

  it("reaches Node's fetch as a 415 (a type no parser reads) ten times in a row, and as a 401 for a body within the limit", async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const res = await fetch(`${server.url}/api/provision`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
        seen.push(`${res.status}`);
        await res.arrayBuffer();
      } catch (err) {
        seen.push(String((err as { cause?: { code?: string } }).cause?.code ?? err));
      }
    }
    expect(seen).toEqual(Array(10).fill('415'));
    // Authentication is checked once the body is read, so a body under the limit always gets its 401.
    const within = JSON.stringify({ currentPassword: 'x'.repeat(200_000), newPassword: 'y' });
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${server.url}/api/me/password`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: within });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ detail: 'Not authenticated' });
    }
  }, 120_000);
});
