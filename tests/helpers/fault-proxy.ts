/**
 * A TCP proxy in front of PostgreSQL that can lose an answer on purpose: once armed, the first
 * message from the server under test that matches passes through to PostgreSQL, and then the
 * connection is cut before PostgreSQL's answer comes back. PostgreSQL runs the message to its end
 * (a COMMIT in it commits), while the client only sees its connection end: the "did it commit?"
 * case that a real outage produces at random.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

export interface FaultProxy {
  port: number;
  /** The URL of `database` through the proxy. */
  url(database: string): string;
  /**
   * Arms the proxy: the next client message whose text matches every string of `marks` is
   * forwarded, then its connection is cut without the answer. Resolves when that has happened.
   */
  loseAnswerTo(...marks: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let armed: { marks: string[]; fired: () => void } | null = null;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    let cut = false;
    const cutNow = () => {
      cut = true;
      client.destroy();
    };
    upstream.connect(target.port, target.host);
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      const trap = armed;
      if (trap) {
        const text = chunk.toString('latin1');
        if (trap.marks.every((m) => text.includes(m))) {
          armed = null;
          // The message reaches PostgreSQL whole, then the client's side of the connection ends:
          // the answer is never relayed.
          upstream.end(chunk);
          cutNow();
          trap.fired();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cut) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    loseAnswerTo(...marks) {
      return new Promise((resolve) => {
        armed = { marks, fired: resolve };
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
