/**
 * How H-CMP reaches pool hosts over SSH: the account and private key (the admin settings'
 * sealed `sshPrivateKey` first, SSH_USER / SSH_PRIVATE_KEY_FILE otherwise) and the hosts' keys,
 * trusted on first use and recorded per pool host (`workload_pool.host_key`). Runners and the
 * pool's reachability check get what they need from here; neither reads the database itself.
 */
import { readFileSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/core';
import { sql } from '../db/sql.js';
import { loadSettings, settingSecretOwner } from './settings.js';
import type { SecretBox } from './secret-box.js';

export interface SshCredentials {
  user: string;
  /** The private key's text: write it only to a 0600 file in a private directory, never log it. */
  privateKey: string;
  /** Where it came from (for messages; never the key). */
  source: 'settings' | 'SSH_PRIVATE_KEY_FILE';
}

export interface SshFallback {
  user?: string;
  keyFile?: string;
}

/** known_hosts lines per address: `<address> <key type> <key>` each. */
export type HostKeys = Map<string, string>;

/**
 * The lines of a known_hosts file by the address they are for (plain, unhashed entries, one
 * address each, as ssh writes them with HashKnownHosts=no); comments and other entries are skipped.
 */
export function parseKnownHosts(text: string): HostKeys {
  const out: HostKeys = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('|') || line.startsWith('@')) continue;
    const [hosts, type, key] = line.split(/\s+/);
    if (!hosts || !type || !key) continue;
    for (const host of hosts.split(',')) {
      const address = host.replace(/^\[([^\]]+)\]:22$/, '$1');
      out.set(address, [out.get(address), `${address} ${type} ${key}`].filter(Boolean).join('\n'));
    }
  }
  return out;
}

export class SshAccess {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly secrets: SecretBox,
    private readonly fallback: SshFallback,
  ) {}

  /** The account and key to log in with, or null when neither the settings nor the environment give both. */
  async credentials(): Promise<SshCredentials | null> {
    const settings = await loadSettings(this.fork());
    const user = settings.sshUser || this.fallback.user;
    if (settings.sshPrivateKey) {
      const privateKey = this.secrets.open(settings.sshPrivateKey, settingSecretOwner('sshPrivateKey'));
      return user ? { user, privateKey: withNewline(privateKey), source: 'settings' } : null;
    }
    if (!this.fallback.keyFile || !user) return null;
    return { user, privateKey: withNewline(readFileSync(this.fallback.keyFile, 'utf8')), source: 'SSH_PRIVATE_KEY_FILE' };
  }

  /** The recorded keys of these addresses (those with none recorded are absent). */
  async knownKeys(addresses: string[]): Promise<HostKeys> {
    if (!addresses.length) return new Map();
    const rows: { ip_address: string; host_key: string | null }[] = await sql(
      this.fork(),
      `select ip_address, host_key from workload_pool where host_key is not null and ip_address in (${addresses.map(() => '?').join(', ')})`,
      addresses,
    );
    return new Map(rows.map((r) => [r.ip_address, r.host_key!]));
  }

  /**
   * Records keys learned on first contact, only for hosts that have none recorded (a recorded key
   * is changed only by an admin's reset); answers the addresses recorded.
   */
  async recordKeys(learned: HostKeys): Promise<string[]> {
    const recorded: string[] = [];
    for (const [address, lines] of learned) {
      const { affectedRows } = await sql(this.fork(), 'update workload_pool set host_key = ?, updated_at = ? where ip_address = ? and host_key is null', [lines, new Date(), address], 'run');
      if (affectedRows) recorded.push(address);
    }
    return recorded;
  }
}

function withNewline(key: string): string {
  // ssh refuses a key file whose last line has no newline.
  return key.endsWith('\n') ? key : `${key}\n`;
}
