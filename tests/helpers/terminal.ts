/**
 * A client of the console's terminal (`/ws/terminal`) for tests: opens the socket, sends the
 * auth frame, collects the host's bytes as text, and tells how the socket closed.
 */
import WebSocket from 'ws';
import { waitFor } from './server.js';

export interface TerminalEnd {
  code: number;
  reason: string;
  /** The code of the server's `exit` message, when one came (undefined: none came). */
  exit?: number | null;
}

export interface TestTerminal {
  socket: WebSocket;
  /** Resolves on `{"type":"ready"}`; rejects with the close when the socket closes first. */
  ready: Promise<void>;
  closed: Promise<TerminalEnd>;
  /** Everything the host sent, as text. */
  output(): string;
  /** Waits until the output matches (from `from` on, when given) and returns the output. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number, from?: number): Promise<string>;
  /** Keystrokes (a binary frame). */
  type(text: string): void;
  control(message: Record<string, unknown>): void;
  close(): void;
  /** Text frames that came (ready, exit). */
  messages: Record<string, unknown>[];
}

export interface OpenTerminalOptions {
  token?: string;
  project: number | string;
  host: string;
  /** Replaces the auth frame (null: send none). */
  first?: string | Buffer | null;
  cols?: number;
  rows?: number;
}

/** `baseUrl`: the server's http(s) URL. */
export function openTerminal(baseUrl: string, options: OpenTerminalOptions): TestTerminal {
  const url = `${baseUrl.replace(/^http/, 'ws')}/ws/terminal?project=${encodeURIComponent(String(options.project))}&host=${encodeURIComponent(options.host)}`;
  const socket = new WebSocket(url);
  const chunks: Buffer[] = [];
  const messages: Record<string, unknown>[] = [];
  let readyResolve!: () => void;
  let readyReject!: (end: TerminalEnd) => void;
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  ready.catch(() => undefined);
  let exit: number | null | undefined;
  const closed = new Promise<TerminalEnd>((resolve) => {
    socket.on('close', (code, reason) => {
      const end = { code, reason: reason.toString(), ...(exit !== undefined ? { exit } : {}) };
      readyReject(end);
      resolve(end);
    });
  });
  socket.on('error', () => undefined);
  socket.on('open', () => {
    if (options.first === null) return;
    socket.send(options.first ?? JSON.stringify({ type: 'auth', token: options.token, cols: options.cols, rows: options.rows }));
  });
  socket.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      chunks.push(data);
      return;
    }
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    messages.push(message);
    if (message.type === 'ready') readyResolve();
    if (message.type === 'exit') exit = message.code as number | null;
  });
  const output = () => Buffer.concat(chunks).toString('utf8');
  return {
    socket,
    ready,
    closed,
    output,
    messages,
    async waitForOutput(pattern, timeoutMs = 10_000, from = 0) {
      const matches = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
      try {
        await waitFor(() => matches(output().slice(from)), timeoutMs, `terminal output ${String(pattern)}`);
      } catch (err) {
        throw new Error(`${(err as Error).message} (got ${JSON.stringify(output().slice(from).slice(-300))})`);
      }
      return output();
    },
    type(text) {
      socket.send(Buffer.from(text), { binary: true });
    },
    control(message) {
      socket.send(JSON.stringify(message));
    },
    close() {
      socket.close();
    },
  };
}
