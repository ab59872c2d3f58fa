/**
 * The subscription baseline: a plain `ws` server that keeps one socket per subscribed project
 * and sends each event as the very bytes graphql-ws sends for a provisionStatus `next`
 * message — no GraphQL execution, no async iterators, no authentication, no keep-alive pings.
 *
 * A client sends `{"type":"subscribe","id":"<uuid>","projectId":n}`; the server answers with
 * the replay of the stored event (seq 1) and then the published ones.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { runFanout, takeSeq, type FanoutParams } from '../lib/fanout.mjs';
import { serveParent } from '../lib/child.mjs';

interface Subscription {
  socket: WebSocket;
  id: string;
}

const subscriptions = new Map<number, Subscription>();

/** Same fields, same order, as the product's answer to client/src/graphql/operations/provision-status.graphql. */
function frame(id: string, projectId: number, seq: number, message: string, at: Date): string {
  return JSON.stringify({
    id,
    type: 'next',
    payload: { data: { provisionStatus: { projectId, seq, kind: 'log', status: 'COMPLETED', message, data: null, at: at.toISOString() } } },
  });
}

const http = createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server: http, path: '/graphql' });
wss.on('connection', (socket) => {
  socket.once('message', (raw) => {
    try {
      const m = JSON.parse(String(raw)) as { type: string; id: string; projectId: number };
      if (m.type !== 'subscribe') throw new Error('expected subscribe');
      subscriptions.set(m.projectId, { socket, id: m.id });
      socket.once('close', () => {
        if (subscriptions.get(m.projectId)?.socket === socket) subscriptions.delete(m.projectId);
      });
      socket.send(frame(m.id, m.projectId, 1, 'Completed', new Date()));
    } catch {
      socket.close(4400, 'bad subscribe');
    }
  });
  socket.on('error', () => undefined);
});

const parent = serveParent(
  {
    usage: () => {
      const m = process.memoryUsage();
      const c = process.cpuUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, cpuMicros: c.user + c.system };
    },
    gc: async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      return Boolean(gc);
    },
    subscribers: () => subscriptions.size,
    fanout: (params: FanoutParams) =>
      runFanout(params, (projectId, stamp) => {
        const s = subscriptions.get(projectId);
        if (!s) return;
        s.socket.send(frame(s.id, projectId, takeSeq(projectId, 2), `bench t=${stamp.toFixed(3)}`, new Date()));
      }),
  },
  async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  },
);

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  parent.ready({ url: `http://127.0.0.1:${port}`, pid: process.pid });
});
http.on('error', (err) => parent.fatal(err));
