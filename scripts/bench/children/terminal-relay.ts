/**
 * Benchmark 8's diagnostics, two of them:
 *
 * - The least a WebSocket-to-SSH relay can be — `ws` and ssh2 with the server's settings, the
 *   terminal's protocol (an auth frame, `ready`, binary frames both ways), and nothing else: no
 *   token check, no access check, no audit, no limits. Its round trip tells how much of H-CMP's
 *   is the relaying and how much H-CMP's own work.
 * - A plain TCP forwarder per host (BENCH_HOSTS): a bare ssh2 client connects through it, so the
 *   SSH bytes pass one more process that does nothing with them. Its round trip is the cost of
 *   the extra process hop alone, the least any server between a browser and a host can add.
 */
import { readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { Client } from 'ssh2';
import { WebSocketServer } from 'ws';
import { serveParent } from '../lib/child.mjs';

const privateKey = readFileSync(process.env.BENCH_KEY_FILE!, 'utf8');
const user = process.env.BENCH_SSH_USER ?? 'root';
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (socket, request) => {
  const host = new URL(request.url ?? '', 'http://relay').searchParams.get('host') ?? '';
  const client = new Client();
  socket.once('message', (first: Buffer) => {
    const { cols, rows } = JSON.parse(first.toString()) as { cols?: number; rows?: number };
    client.on('ready', () =>
      client.shell({ term: 'xterm-256color', cols: cols ?? 80, rows: rows ?? 24 }, (err, stream) => {
        if (err) return socket.close(4502, err.message);
        socket.send(JSON.stringify({ type: 'ready' }));
        stream.on('data', (data: Buffer) => socket.send(data, { binary: true }));
        stream.on('close', () => socket.close(1000));
        socket.on('message', (data: Buffer, isBinary) => {
          if (isBinary) stream.write(data);
        });
      }),
    );
    client.on('error', (err) => socket.close(4502, err.message.slice(0, 100)));
    client.connect({ host, port: 22, username: user, privateKey, hostVerifier: () => true, readyTimeout: 20_000, keepaliveInterval: 15_000, keepaliveCountMax: 4, tryKeyboard: false });
    client.setNoDelay(true);
  });
  socket.on('close', () => client.end());
});

/** Forwards every connection to `host`:22 byte for byte, Nagle off both ways. */
function forwarder(host: string): Promise<Server> {
  const server = createServer((downstream) => {
    const upstream = connect({ host, port: 22, noDelay: true });
    downstream.setNoDelay(true);
    downstream.on('data', (data) => upstream.write(data));
    upstream.on('data', (data) => downstream.write(data));
    const end = () => {
      downstream.destroy();
      upstream.destroy();
    };
    for (const side of [downstream, upstream]) side.on('close', end).on('error', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const hosts = (process.env.BENCH_HOSTS ?? '').split(',').filter(Boolean);
const forwarders = new Map<string, Server>();
const child = serveParent({}, async () => {
  for (const server of forwarders.values()) server.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});
wss.on('listening', async () => {
  for (const host of hosts) forwarders.set(host, await forwarder(host));
  const hops = Object.fromEntries([...forwarders].map(([host, server]) => [host, (server.address() as AddressInfo).port]));
  child.ready({ url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, hops });
});
