/**
 * An interactive shell on a pool host, for the console's terminal: ssh2 logs in with the
 * configured account and key held in memory (the key is never written anywhere nor sent to the
 * browser), and accepts only the host key recorded for that host, compared byte for byte. A host
 * with no key recorded is trusted on first use: the key it showed is handed back, to be recorded
 * once the login worked, as the reachability check (host-probe.ts) and the Ansible runner do.
 */
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { SshCredentials } from './ssh-access.js';

export type ShellFailure = 'host-key-changed' | 'unreachable' | 'login-refused';

export class ShellError extends Error {
  constructor(
    readonly kind: ShellFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ShellError';
  }
}

export interface RecordedKey {
  /** The key's type as known_hosts writes it (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256` …). */
  type: string;
  /** The public key blob (base64-decoded). */
  blob: Buffer;
}

/** The keys of known_hosts lines (`<address> <type> <base64>`); other lines are skipped. */
export function recordedKeys(lines: string | null | undefined): RecordedKey[] {
  const keys: RecordedKey[] = [];
  for (const raw of (lines ?? '').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, type, base64] = line.split(/\s+/);
    if (!type || !base64 || !/^[A-Za-z0-9+/]+=*$/.test(base64)) continue;
    keys.push({ type, blob: Buffer.from(base64, 'base64') });
  }
  return keys;
}

/** The type named inside a public key blob (its first SSH string), or null. */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length < 1 || length > 64 || blob.length < 4 + length) return null;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** Host key algorithms ssh2 speaks, by the key type they verify. */
const ALGORITHMS_OF_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  // One RSA key signs with SHA-2 (preferred) or SHA-1.
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * The host key algorithms to offer when keys are recorded: only those of the recorded types, so a
 * host that also has a key of another type shows the one we know instead of one we would refuse.
 * Null: nothing recorded (first contact: ssh2's own list). Empty: none of the recorded types is one
 * ssh2 can verify.
 */
export function hostKeyAlgorithms(keys: RecordedKey[]): string[] | null {
  if (!keys.length) return null;
  return [...new Set(keys.flatMap((k) => ALGORITHMS_OF_TYPE[k.type] ?? []))];
}

/**
 * Verifies a host key ssh2 received: true only for a recorded blob (or, when none is recorded, any
 * key: first contact). `learned` gets the known_hosts line of a key seen on first contact.
 */
export function hostKeyVerifier(address: string, keys: RecordedKey[]): { verify(key: Buffer): boolean; mismatch: boolean; learned: string | null } {
  const state = {
    mismatch: false,
    learned: null as string | null,
    verify(key: Buffer): boolean {
      if (!keys.length) {
        const type = keyTypeOf(key);
        if (!type) return false;
        state.learned = `${address} ${type} ${key.toString('base64')}`;
        return true;
      }
      const known = keys.some((k) => k.blob.equals(key));
      if (!known) state.mismatch = true;
      return known;
    },
  };
  return state;
}

export interface OpenShellOptions {
  address: string;
  port?: number;
  credentials: SshCredentials;
  /** The known_hosts lines recorded for the host; null or empty: none yet (trusted on first use). */
  recorded: string | null;
  pty: { cols: number; rows: number; term: string };
  /** The whole connection and login; past this it fails as unreachable. */
  readyTimeoutMs: number;
  /** Gives up (the client left before the shell was ready). */
  signal?: AbortSignal;
}

export interface OpenedShell {
  client: Client;
  stream: ClientChannel;
  /** The known_hosts line of the key seen on first contact (nothing was recorded), to record now. */
  learnedKey: string | null;
}

export const HOST_KEY_CHANGED = 'The host key changed since it was recorded; an admin must reset it if the host was rebuilt';

/** Logs in and starts a login shell on a pseudo-terminal; rejects with a {@link ShellError} (or the signal's reason). */
export function openShell(options: OpenShellOptions): Promise<OpenedShell> {
  const keys = recordedKeys(options.recorded);
  const algorithms = hostKeyAlgorithms(keys);
  if (algorithms && !algorithms.length) {
    return Promise.reject(new ShellError('host-key-changed', `The key recorded for this host is of a type the terminal cannot verify (${keys.map((k) => k.type).join(', ')})`));
  }
  const verifier = hostKeyVerifier(options.address, keys);
  const client = new Client();
  const config: ConnectConfig = {
    host: options.address,
    port: options.port ?? 22,
    username: options.credentials.user,
    privateKey: options.credentials.privateKey,
    hostVerifier: (key: Buffer) => verifier.verify(key),
    readyTimeout: options.readyTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    tryKeyboard: false,
    ...(algorithms ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
  };
  return new Promise<OpenedShell>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.end();
      reject(err);
    };
    const onAbort = () => fail(options.signal?.reason ?? new Error('aborted'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (err: Error & { level?: string; code?: string }) => fail(describe(err, verifier.mismatch)));
    client.on('close', () => fail(new ShellError('unreachable', 'The connection to the host closed during the login')));
    client.on('ready', () => {
      client.shell({ term: options.pty.term, cols: options.pty.cols, rows: options.pty.rows }, (err, stream) => {
        if (err) return fail(new ShellError('login-refused', `Logged in, but the host refused a shell (${err.message})`));
        if (settled) {
          stream.close();
          return;
        }
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        // The listeners above stay (settled: they do nothing), so a later error never goes unheard.
        resolve({ client, stream, learnedKey: verifier.learned });
      });
    });
    try {
      client.connect(config);
      // Keystrokes are small writes: send them at once, as OpenSSH does for interactive sessions.
      client.setNoDelay(true);
    } catch (err) {
      fail(new ShellError('login-refused', `The configured SSH key cannot be used (${(err as Error).message})`));
    }
  });
}

/** A short sentence for people; never the key nor its text. */
function describe(err: Error & { level?: string; code?: string }, keyMismatch: boolean): ShellError {
  if (keyMismatch) return new ShellError('host-key-changed', HOST_KEY_CHANGED);
  if (err.level === 'client-authentication') return new ShellError('login-refused', 'The host refused the login: check the SSH user and key in the admin settings');
  if (err.level === 'client-timeout') return new ShellError('unreachable', 'The host did not answer in time');
  if (err.code) return new ShellError('unreachable', `The host cannot be reached (${err.code})`);
  return new ShellError('unreachable', `The SSH connection failed (${err.message.slice(0, 120)})`);
}
