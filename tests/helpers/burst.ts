/**
 * Sends many HTTP requests so that the server has every one of them in hand at once. A race
 * test (idempotency keys, quotas, the host pool) means nothing if the server happens to answer
 * the first requests before the last arrive, and on a loaded CI machine it did: first with
 * fetch, then with plain sockets written by a worker while the server's thread kept running.
 *
 * So the requests are sent in three steps:
 * 1. A worker thread opens one connection per request (HTTP/1.1, `Connection: close`), and the
 *    server accepts them all; no request has been sent yet.
 * 2. The test's thread, which is the server's thread, blocks (`Atomics.wait`) while the worker
 *    writes every request.
 * 3. When the thread wakes up, every request is already in a socket buffer, and the server reads
 *    and parses them all in one pass of its event loop.
 *
 * Answers come back in request order.
 */
import type { Server } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { HttpAnswer } from './server.js';

export interface BurstRequest {
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What the burst needs of a test server: where to send, and the listener whose accepts it counts. */
export interface BurstTarget {
  url: string;
  app: { http: { server: Server } };
}

/** The worker and the test's thread hand over through one shared integer. */
const CONNECTED = 1;
const WRITE_NOW = 2;
const WRITTEN = 3;

const WORKER = String.raw`
  const net = require('node:net');
  const { parentPort, workerData } = require('node:worker_threads');
  const { url, requests, shared, CONNECTED, WRITTEN } = workerData;
  const state = new Int32Array(shared);
  const target = new URL(url);

  function encode(r) {
    const body = r.body === undefined ? null : Buffer.from(JSON.stringify(r.body));
    const headers = { host: target.host, connection: 'close', ...(r.headers || {}) };
    if (r.token) headers.authorization = 'Bearer ' + r.token;
    if (body) { headers['content-type'] = 'application/json'; headers['content-length'] = String(body.length); }
    const head = r.method + ' ' + r.path + ' HTTP/1.1\r\n' + Object.entries(headers).map(([k, v]) => k + ': ' + v + '\r\n').join('') + '\r\n';
    return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
  }

  function dechunk(buf) {
    const parts = [];
    let at = 0;
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) throw new Error('truncated chunked body');
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) throw new Error('bad chunk size');
      if (size === 0) return Buffer.concat(parts);
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }

  function parse(raw) {
    const split = raw.indexOf('\r\n\r\n');
    if (split < 0) throw new Error('no complete answer: ' + JSON.stringify(raw.toString('latin1').slice(0, 200)));
    const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = lines.map((l) => { const c = l.indexOf(':'); return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()]; });
    let payload = raw.subarray(split + 4);
    if (headers.some(([k, v]) => k === 'transfer-encoding' && /chunked/i.test(v))) payload = dechunk(payload);
    const length = headers.find(([k]) => k === 'content-length');
    if (length) payload = payload.subarray(0, Number(length[1]));
    const text = payload.toString('utf8');
    let body = text;
    try { body = text ? JSON.parse(text) : null; } catch {}
    return { status, body, headers };
  }

  function open() {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(target.port), target.hostname);
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  (async () => {
    const payloads = requests.map(encode);
    const sockets = await Promise.all(requests.map(open));
    const answers = sockets.map((socket) => new Promise((resolve, reject) => {
      const chunks = [];
      socket.on('data', (c) => chunks.push(c));
      socket.once('error', reject);
      socket.once('close', () => { try { resolve(parse(Buffer.concat(chunks))); } catch (err) { reject(err); } });
    }));
    Atomics.store(state, 0, CONNECTED);
    Atomics.notify(state, 0);
    // The go comes from the test's thread, which then blocks until WRITTEN. The requests are
    // small: each write goes to the kernel at once, not to a queue of this thread's event loop.
    if (Atomics.wait(state, 0, CONNECTED, 30000) === 'timed-out') throw new Error('the test thread never gave the go');
    sockets.forEach((socket, i) => socket.write(payloads[i]));
    Atomics.store(state, 0, WRITTEN);
    Atomics.notify(state, 0);
    return Promise.all(answers);
  })().then((answers) => parentPort.postMessage({ answers }), (err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
`;

export function burst(target: BurstTarget, requests: BurstRequest[]): Promise<HttpAnswer[]> {
  const shared = new SharedArrayBuffer(4);
  const state = new Int32Array(shared);
  const server = target.app.http.server;
  let accepted = 0;
  const onConnection = () => accepted++;
  server.on('connection', onConnection);
  return new Promise<HttpAnswer[]>((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { url: target.url, requests, shared, CONNECTED, WRITTEN } });
    let settled = false;
    const finish = (err: Error | null, answers?: HttpAnswer[]) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      server.off('connection', onConnection);
      void worker.terminate();
      if (err) reject(err);
      else resolve(answers!);
    };
    // Step 2, once every connection is open on the worker's side and accepted on the server's.
    const deadline = Date.now() + 30_000;
    const poll = setInterval(() => {
      if (Atomics.load(state, 0) !== CONNECTED || accepted < requests.length) {
        if (Date.now() > deadline) finish(new Error(`the server accepted ${accepted} of ${requests.length} connections in 30 s`));
        return;
      }
      clearInterval(poll);
      Atomics.store(state, 0, WRITE_NOW);
      Atomics.notify(state, 0);
      if (Atomics.wait(state, 0, WRITE_NOW, 30_000) === 'timed-out' && Atomics.load(state, 0) !== WRITTEN) {
        finish(new Error('the burst worker did not write its requests within 30 s'));
      }
    }, 1);
    worker.once('message', (msg: { answers?: { status: number; body: any; headers: [string, string][] }[]; error?: string }) => {
      if (msg.error) finish(new Error(msg.error));
      else finish(null, msg.answers!.map((a) => ({ status: a.status, body: a.body, headers: new Headers(a.headers) })));
    });
    worker.once('error', (err) => finish(err));
  });
}

/** Counts requests the server holds at the same moment, to show a burst really overlapped. */
export function trackInFlight(server: import('node:http').Server): () => { maxInFlight: number; connections: number } {
  let inFlight = 0;
  let maxInFlight = 0;
  let connections = 0;
  const onRequest = (_req: unknown, res: import('node:http').ServerResponse) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.once('close', () => inFlight--);
  };
  const onConnection = () => connections++;
  server.on('request', onRequest);
  server.on('connection', onConnection);
  return () => {
    server.off('request', onRequest);
    server.off('connection', onConnection);
    return { maxInFlight, connections };
  };
}
