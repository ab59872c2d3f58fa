/**
 * The console's side of the terminal protocol (server/websocket/terminal.ts): opens
 * `/ws/terminal?project=&host=`, sends the token in the first frame (never in the URL), then
 * keystrokes as binary frames and resizes / renewed tokens as text frames; hands on the host's
 * bytes, the shell's exit code and how the socket closed. Close codes are explained by
 * {@link closeMessageKey}, never by the server's wording.
 */

/** Why a terminal ended, by close code: the message key. */
export const TERMINAL_CLOSE_MESSAGES: Record<number, string> = {
  1000: 'terminal.ended.exited',
  1001: 'terminal.ended.serverShutdown',
  1011: 'terminal.ended.internal',
  1013: 'terminal.ended.tryAgain',
  4400: 'terminal.ended.protocol',
  4401: 'terminal.ended.unauthenticated',
  4403: 'terminal.ended.forbidden',
  4404: 'terminal.ended.notFound',
  4408: 'terminal.ended.idle',
  4409: 'terminal.ended.notCompleted',
  4410: 'terminal.ended.maxLength',
  4429: 'terminal.ended.tooMany',
  4495: 'terminal.ended.hostKeyChanged',
  4502: 'terminal.ended.sshFailed',
  4503: 'terminal.ended.sshNotConfigured',
};

/** The message key for a close code (a dropped connection, 1006, and codes not listed: `dropped`). */
export function closeMessageKey(code: number): string {
  return TERMINAL_CLOSE_MESSAGES[code] ?? 'terminal.ended.dropped';
}

export function terminalUrl(projectId: number, host: string, location: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/terminal?project=${encodeURIComponent(String(projectId))}&host=${encodeURIComponent(host)}`;
}

export interface TerminalSocketHandlers {
  ready(): void;
  data(bytes: Uint8Array): void;
  exit(code: number | null): void;
  closed(code: number, reason: string): void;
}

type WebSocketLike = Pick<WebSocket, 'send' | 'close' | 'readyState'> & {
  binaryType: BinaryType;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
};

export interface TerminalSocketOptions {
  url: string;
  token: string;
  cols: number;
  rows: number;
  /** A WebSocket class where the platform has none (tests). */
  webSocketImpl?: new (url: string) => WebSocketLike;
}

const OPEN = 1;
const encoder = new TextEncoder();

export class TerminalSocket {
  private readonly socket: WebSocketLike;
  private ended = false;

  constructor(
    options: TerminalSocketOptions,
    private readonly handlers: TerminalSocketHandlers,
  ) {
    const Impl = options.webSocketImpl ?? (WebSocket as unknown as new (url: string) => WebSocketLike);
    this.socket = new Impl(options.url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.onopen = () => this.socket.send(JSON.stringify({ type: 'auth', token: options.token, cols: options.cols, rows: options.rows }));
    this.socket.onmessage = (event) => this.receive(event.data);
    this.socket.onclose = (event) => {
      if (this.ended) return;
      this.ended = true;
      this.handlers.closed(event.code, event.reason);
    };
  }

  /** Keystrokes (xterm's onData: text) or raw bytes (xterm's onBinary, mapped to bytes by the caller). */
  send(input: string | Uint8Array): void {
    if (this.socket.readyState !== OPEN) return;
    this.socket.send(typeof input === 'string' ? encoder.encode(input) : input);
  }

  resize(cols: number, rows: number): void {
    this.control({ type: 'resize', cols, rows });
  }

  /** The session goes on under a renewed token of the same account (the console's session was extended). */
  renew(token: string): void {
    this.control({ type: 'auth', token });
  }

  close(): void {
    this.ended = true;
    this.socket.close();
  }

  private control(message: Record<string, unknown>): void {
    if (this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  private receive(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      this.handlers.data(new Uint8Array(data));
      return;
    }
    let message: { type?: string; code?: unknown };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch {
      return;
    }
    if (message.type === 'ready') this.handlers.ready();
    else if (message.type === 'exit') this.handlers.exit(typeof message.code === 'number' ? message.code : null);
  }
}
