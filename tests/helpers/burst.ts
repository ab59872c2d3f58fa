/**
 * Sends many HTTP requests at once from a worker thread, so they reach the server while it is
 * busy. Every request gets its own connection (HTTP/1.1, `Connection: close`); the worker opens
 * them all first and only then writes every request in one synchronous loop, so all of them are
 * in the server's socket buffers before it reads the first. (With fetch the requests went out as
 * connections happened to open, and under a loaded CI machine the server could answer the first
 * ones before it saw the last.) From the test's own thread the client would only get to write
 * the next request when the server yields; with SQLite's synchronous driver the server then never
 * sees more than a handful at a time. Answers come back in request order.
 */
import { Worker } from 'node:worker_threads';
import type { HttpAnswer } from './server.js';

export interface BurstRequest {
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

const WORKER = String.raw`
  const net = require('node:net');
  const { parentPort, workerData } = require('node:worker_threads');
  const { url, requests } = workerData;
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
    sockets.forEach((socket, i) => socket.write(payloads[i]));
    return Promise.all(answers);
  })().then((answers) => parentPort.postMessage({ answers }), (err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
`;

export function burst(url: string, requests: BurstRequest[]): Promise<HttpAnswer[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { url, requests } });
    worker.once('message', (msg: { answers?: { status: number; body: any; headers: [string, string][] }[]; error?: string }) => {
      void worker.terminate();
      if (msg.error) reject(new Error(msg.error));
      else resolve(msg.answers!.map((a) => ({ status: a.status, body: a.body, headers: new Headers(a.headers) })));
    });
    worker.once('error', reject);
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
