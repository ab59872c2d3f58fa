/**
 * The console's terminal: `GET /ws/terminal?project=<id>&host=<address>` upgraded to a WebSocket.
 *
 * 1. The client's first frame is text, `{"type":"auth","token":"<access token>"}` (optionally
 *    with `cols` and `rows`): the token never goes in the URL, so it never reaches a log. Without
 *    it within {@link AUTH_TIMEOUT_MS} the socket closes with 4401.
 * 2. The server answers `{"type":"ready"}` once the shell runs, or closes with the refusal's code
 *    (services/terminal-access.ts: 4401, 4403, 4404, 4409, 4429, 4495, 4502, 4503, 1013).
 * 3. Then binary frames both ways are the terminal's bytes; text frames are control messages:
 *    `{"type":"resize","cols":N,"rows":N}` and `{"type":"auth","token":…}` (a renewed token of the
 *    same account) from the client, `{"type":"exit","code":N}` from the server before it closes
 *    with 1000 when the shell exits.
 * The session's rules (limits, what ends it, the audit trail) are services/terminal-sessions.ts.
 */
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { TERMINAL_CLOSE, TerminalRefusal } from '../services/terminal-access.js';
import type { TerminalSession } from '../services/terminal-session.js';
import type { TerminalSessions } from '../services/terminal-sessions.js';
import type { WebSocketRoutes } from './upgrades.js';

export const TERMINAL_PATH = '/ws/terminal';
export const AUTH_TIMEOUT_MS = 10_000;
/** Keystrokes and pastes; a control message is far smaller. */
const MAX_FRAME_BYTES = 64 * 1024;
/** Output waits (the shell's stream is paused) while more than this is queued for a slow client. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const DRAIN_POLL_MS = 20;
/**
 * The server pings every open terminal this often: proxies in between see traffic while the user
 * only reads, and a client that stopped answering (no pong since the last ping) is dropped,
 * which ends its session. A pong is not the user's input: it does not hold off the idle timeout.
 */
export const PING_INTERVAL_MS = 30_000;
const MAX_DIMENSION = 1000;

export interface TerminalWebSocketOptions {
  routes: WebSocketRoutes;
  terminals: TerminalSessions;
  log: { warn(obj: object, msg: string): void };
  authTimeoutMs?: number;
  pingIntervalMs?: number;
}

type Control = { type: 'auth'; token: unknown; cols?: unknown; rows?: unknown } | { type: 'resize'; cols: unknown; rows: unknown };

function control(data: RawData): Control | null {
  try {
    const message = JSON.parse(data.toString()) as Control;
    return message && typeof message === 'object' && (message.type === 'auth' || message.type === 'resize') ? message : null;
  } catch {
    return null;
  }
}

/** A terminal dimension: a whole number from 1 to 1000, else `fallback`. */
function dimension(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_DIMENSION ? value : fallback;
}

export function attachTerminalWebSocket(options: TerminalWebSocketOptions): { close(): Promise<void> } {
  const { terminals, log } = options;
  const authTimeoutMs = options.authTimeoutMs ?? AUTH_TIMEOUT_MS;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  options.routes.add(TERMINAL_PATH, wss);

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const params = new URL(request.url ?? '', 'http://terminal').searchParams;
    const projectId = /^\d{1,15}$/.test(params.get('project') ?? '') ? Number(params.get('project')) : NaN;
    const address = params.get('host') ?? '';
    const ip = request.socket.remoteAddress;
    let state: 'auth' | 'opening' | 'open' | 'closed' = 'auth';
    let session: TerminalSession | null = null;
    let pendingResize: { cols: number; rows: number } | null = null;
    const leaving = new AbortController();
    const close = (code: number, reason: string) => {
      state = 'closed';
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
    };
    const authTimer = setTimeout(() => close(TERMINAL_CLOSE.unauthenticated, 'No auth message in time'), authTimeoutMs);
    let answered = true;
    let unanswered = false;
    socket.on('pong', () => {
      answered = true;
    });
    const pings = setInterval(() => {
      if (!answered) {
        unanswered = true;
        return socket.terminate();
      }
      answered = false;
      socket.ping();
    }, options.pingIntervalMs ?? PING_INTERVAL_MS);

    socket.on('error', (err: Error & { code?: string }) => log.warn({ code: err.code, reason: err.message }, 'terminal WebSocket client error'));
    socket.on('close', () => {
      clearTimeout(authTimer);
      clearInterval(pings);
      state = 'closed';
      leaving.abort();
      session?.end(TERMINAL_CLOSE.normal, unanswered ? 'The client stopped answering' : 'The client closed the terminal');
    });

    const open = async (message: Extract<Control, { type: 'auth' }>) => {
      state = 'opening';
      clearTimeout(authTimer);
      try {
        session = await terminals.open({ token: message.token, projectId, address, ip, cols: dimension(message.cols, 80), rows: dimension(message.rows, 24) }, leaving.signal);
      } catch (err) {
        const refusal = err instanceof TerminalRefusal ? err : new TerminalRefusal(TERMINAL_CLOSE.internal, 'Internal server error');
        close(refusal.code, refusal.message);
        return;
      }
      if (state !== 'opening') {
        session.end(TERMINAL_CLOSE.normal, 'The client closed the terminal');
        return;
      }
      state = 'open';
      socket.send(JSON.stringify({ type: 'ready' }));
      const live = session;
      live.onInputDrain(() => socket.resume());
      // The host's packets that arrive together (one read from its connection) go out as one
      // frame: fewer frames and writes for the same bytes, at no delay (a microtask).
      let pending: Buffer[] = [];
      let paused = false;
      const flush = () => {
        if (!pending.length) return;
        const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        pending = [];
        if (socket.readyState !== socket.OPEN) return;
        socket.send(data, { binary: true });
        if (!paused && socket.bufferedAmount > HIGH_WATER) {
          // A slow client: the shell's output waits until most of what is queued has gone.
          paused = true;
          live.pauseOutput();
          const check = setInterval(() => {
            if (socket.readyState !== socket.OPEN) return clearInterval(check);
            if (socket.bufferedAmount >= LOW_WATER) return;
            clearInterval(check);
            paused = false;
            live.resumeOutput();
          }, DRAIN_POLL_MS);
        }
      };
      live.attach({
        output: (data) => {
          if (pending.push(data) === 1) queueMicrotask(flush);
        },
        closed: (code, reason, exitCode) => {
          flush();
          if (exitCode !== undefined && socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'exit', code: exitCode }));
          close(code, reason);
        },
      });
      if (pendingResize) live.resize(pendingResize.cols, pendingResize.rows);
    };

    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (state === 'closed') return;
      if (state === 'open' && isBinary) {
        if (!session!.input(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]))) socket.pause();
        return;
      }
      const message = isBinary ? null : control(data);
      if (state === 'auth') {
        if (message?.type !== 'auth') return close(TERMINAL_CLOSE.protocol, 'The first message must be {"type":"auth","token":…}');
        void open(message);
        return;
      }
      if (message?.type === 'resize') {
        const size = { cols: dimension(message.cols, 0), rows: dimension(message.rows, 0) };
        if (!size.cols || !size.rows) return session ? session.end(TERMINAL_CLOSE.protocol, 'A resize needs cols and rows from 1 to 1000') : undefined;
        if (state === 'open') session!.resize(size.cols, size.rows);
        else pendingResize = size;
        return;
      }
      if (state === 'opening') return; // keystrokes before `ready` have nowhere to go
      if (message?.type === 'auth') {
        const live = session!;
        terminals.renew(live, message.token).catch((err) => {
          if (err instanceof TerminalRefusal) live.end(err.code, err.message);
          else log.warn({ err }, 'terminal token renewal failed');
        });
        return;
      }
      session!.end(TERMINAL_CLOSE.protocol, 'Unknown control message');
    });
  });

  return {
    async close() {
      for (const socket of wss.clients) socket.close(TERMINAL_CLOSE.goingAway, 'The server is shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
