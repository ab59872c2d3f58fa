/**
 * Benchmark 8's clients: N interactive sessions in one process, either through H-CMP's terminal
 * (`product`: a WebSocket each to /ws/terminal) or straight to the hosts with ssh2 (`bare`: the
 * baseline, the same library the server uses, with the same settings), and the two diagnostics:
 * a minimal relay spoken to as H-CMP is (`relay`), ssh2 through a plain TCP forwarder (`hop`).
 * Every session turns its pseudo-terminal raw and runs `cat`, so each line comes back byte for
 * byte; then each sends a line, waits for all of it to come back (the round trip), and sends the
 * next one a pacing interval after the previous was sent. Every kind stays open at once; the
 * parent runs one kind at a time, in turns, so all meet the same machine.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, type ClientChannel } from 'ssh2';
import WebSocket from 'ws';
import { serveParent } from '../lib/child.mjs';

interface Target {
  host: string;
  /** product: the project holding the host. */
  project?: number;
}

interface OpenParams {
  /**
   * relay: the minimal WebSocket-to-SSH relay (children/terminal-relay.ts), spoken to as H-CMP is;
   * hop: a bare ssh2 client through that child's plain TCP forwarder for the host.
   */
  mode: 'product' | 'relay' | 'bare' | 'hop';
  targets: Target[];
  /** product, relay */
  url?: string;
  token?: string;
  /** bare, hop */
  user?: string;
  keyFile?: string;
  /** hop: the forwarder's local port for each host. */
  hops?: Record<string, number>;
  /** Sessions being set up at once. */
  concurrency: number;
}

interface RunParams {
  seconds: number;
  warmupSeconds: number;
  intervalMs: number;
  lineBytes: number;
}

/** One interactive session: bytes in, bytes out. */
interface Session {
  write(data: Buffer): void;
  onData(listener: (data: Buffer) => void): void;
  close(): void;
}

const COLS = 80;
const ROWS = 24;
/** Typed once the shell is up: raw mode (bytes pass unchanged, no echo), a marker, then cat. */
const SETUP = "stty raw -echo; echo RE''ADY; exec cat\n";

/** The open sessions of each kind: both stay open, and runs alternate between them. */
const sessions: Record<OpenParams['mode'], Session[]> = { product: [], relay: [], bare: [], hop: [] };

function openProduct(url: string, token: string, target: Target): Promise<Session> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/terminal?project=${target.project}&host=${encodeURIComponent(target.host)}`);
    let listener: (data: Buffer) => void = () => undefined;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', token, cols: COLS, rows: ROWS })));
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return listener(data);
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'ready')
        resolve({
          write: (bytes) => socket.send(bytes, { binary: true }),
          onData: (l) => {
            listener = l;
          },
          close: () => socket.close(),
        });
    });
    socket.on('close', (code, reason) => reject(new Error(`terminal closed ${code} ${reason.toString()}`)));
    socket.on('error', (err) => reject(err));
  });
}

function openBare(user: string, privateKey: string, target: Target, via?: number): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.on('ready', () => {
      client.shell({ term: 'xterm-256color', cols: COLS, rows: ROWS }, (err, stream: ClientChannel) => {
        if (err) return reject(err);
        let listener: (data: Buffer) => void = () => undefined;
        stream.on('data', (data: Buffer) => listener(data));
        resolve({
          write: (bytes) => stream.write(bytes),
          onData: (l) => {
            listener = l;
          },
          close: () => client.end(),
        });
      });
    });
    // The server's settings for the same library: key in memory, keepalives, no Nagle.
    client.connect({ host: via ? '127.0.0.1' : target.host, port: via ?? 22, username: user, privateKey, hostVerifier: () => true, readyTimeout: 20_000, keepaliveInterval: 15_000, keepaliveCountMax: 4, tryKeyboard: false });
    client.setNoDelay(true);
  });
}

/** Types the setup and waits for the marker: from then on the session echoes exactly. */
function rawCat(session: Session): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no READY marker (got ${JSON.stringify(seen.slice(-200))})`)), 20_000);
    session.onData((data) => {
      seen += data.toString('latin1');
      if (/READY\r?\n/.test(seen)) {
        clearTimeout(timer);
        session.onData(() => undefined);
        resolve();
      }
    });
    session.write(Buffer.from(SETUP));
  });
}

async function open(params: OpenParams): Promise<{ seconds: number }> {
  const started = performance.now();
  const ssh = params.mode === 'bare' || params.mode === 'hop';
  const key = ssh ? readFileSync(params.keyFile!, 'utf8') : '';
  const opened: Session[] = new Array(params.targets.length);
  let next = 0;
  const worker = async () => {
    while (next < params.targets.length) {
      const i = next++;
      const target = params.targets[i];
      const session = ssh ? await openBare(params.user!, key, target, params.mode === 'hop' ? params.hops![target.host] : undefined) : await openProduct(params.url!, params.token ?? '', target);
      await rawCat(session);
      opened[i] = session;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(params.concurrency, params.targets.length) }, worker));
  } catch (err) {
    for (const s of opened) s?.close();
    throw err;
  }
  sessions[params.mode] = opened;
  return { seconds: (performance.now() - started) / 1000 };
}

/** Every session sends lines for `seconds` (after the warm-up); answers the round trips measured, in ms. */
async function run(params: RunParams & { mode: OpenParams['mode'] }): Promise<{ latencies: number[]; lines: number; mismatches: number; bytes: number; cpuMicros: number }> {
  const cpu = process.cpuUsage();
  const latencies: number[] = [];
  let lines = 0;
  let mismatches = 0;
  let bytes = 0;
  const startedAt = performance.now();
  const measureFrom = startedAt + params.warmupSeconds * 1000;
  const endAt = measureFrom + params.seconds * 1000;
  const active = sessions[params.mode];
  await Promise.all(
    active.map(async (session, index) => {
      // Spread the sessions over the interval, so they do not all send at once.
      await new Promise((r) => setTimeout(r, (index * params.intervalMs) / active.length));
      while (performance.now() < endAt) {
        const line = Buffer.concat([Buffer.from(randomBytes(Math.ceil((params.lineBytes - 1) * 0.75)).toString('base64').slice(0, params.lineBytes - 1)), Buffer.from('\n')]);
        const sentAt = performance.now();
        const echoed = await new Promise<Buffer>((resolve, reject) => {
          const parts: Buffer[] = [];
          let got = 0;
          const timer = setTimeout(() => reject(new Error(`session ${index}: no echo within 30 s (${got} of ${line.length} bytes)`)), 30_000);
          session.onData((data) => {
            parts.push(data);
            got += data.length;
            if (got >= line.length) {
              clearTimeout(timer);
              resolve(Buffer.concat(parts));
            }
          });
          session.write(line);
        });
        const rt = performance.now() - sentAt;
        if (!echoed.equals(line)) mismatches++;
        if (sentAt >= measureFrom) {
          latencies.push(rt);
          lines++;
          bytes += line.length;
        }
        const wait = params.intervalMs - (performance.now() - sentAt);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { latencies, lines, mismatches, bytes, cpuMicros: used.user + used.system };
}

function close(): void {
  for (const mode of ['product', 'relay', 'bare', 'hop'] as const) {
    for (const s of sessions[mode]) s.close();
    sessions[mode] = [];
  }
}

const child = serveParent({ open, run, close }, close);
child.ready({ pid: process.pid });
