/**
 * Sends many HTTP requests at once from a worker thread (Promise.all over fetch; Node's fetch
 * opens a connection per request it cannot queue on an idle one, with no per-origin limit), so
 * they reach the server while it is busy. From the test's own thread the client would only get
 * to write the next request when the server yields; with SQLite's synchronous driver the server
 * then never sees more than a handful at a time. Answers come back in request order.
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

const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { url, requests } = workerData;
  Promise.all(requests.map(async (r) => {
    const headers = { ...(r.headers || {}) };
    if (r.token) headers.authorization = 'Bearer ' + r.token;
    if (r.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + r.path, { method: r.method, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body) });
    const text = await res.text();
    let body = text;
    try { body = text ? JSON.parse(text) : null; } catch {}
    return { status: res.status, body, headers: [...res.headers.entries()] };
  })).then((answers) => parentPort.postMessage({ answers }), (err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
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
