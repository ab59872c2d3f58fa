/**
 * WebSocket upgrades on the HTTP server, routed by path: one `upgrade` listener hands each
 * request to the WebSocket server registered for its path (`/graphql`, `/ws/terminal`), which
 * are made with `noServer`. Any other path is answered `404 {"detail":"Not Found"}` and the
 * connection closed, before anything reads it as a WebSocket.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';

/** The routes attached to each HTTP server, so tests can list its paths. */
const attached = new WeakMap<Server, WebSocketRoutes>();

/** The paths `server` upgrades to WebSockets (the access matrix covers each). */
export function webSocketPaths(server: Server): string[] {
  return attached.get(server)?.paths ?? [];
}

export class WebSocketRoutes {
  private readonly routes = new Map<string, WebSocketServer>();
  private readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head);

  constructor(private readonly server: Server) {
    server.on('upgrade', this.listener);
    attached.set(server, this);
  }

  /** Hands upgrades of `path` (exactly; any query string allowed) to `wss`. */
  add(path: string, wss: WebSocketServer): void {
    if (this.routes.has(path)) throw new Error(`a WebSocket server is registered for ${path} already`);
    this.routes.set(path, wss);
  }

  /** The paths that accept WebSocket upgrades (the access matrix covers each). */
  get paths(): string[] {
    return [...this.routes.keys()].sort();
  }

  /** Stops taking upgrades: from now on every one is refused like an unknown path. */
  close(): void {
    this.routes.clear();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const wss = this.routes.get(query < 0 ? url : url.slice(0, query));
    if (!wss) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  }
}

/** An HTTP answer on the raw socket, then the end of it (as ws itself refuses a handshake). */
function refuse(socket: Duplex, status: number, detail: string): void {
  const body = JSON.stringify({ detail });
  socket.once('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${detail}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
