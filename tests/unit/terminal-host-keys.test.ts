/**
 * How the terminal's SSH client judges a host key (services/ssh-shell.ts): only a recorded key
 * blob passes, the host key algorithms offered are those of the recorded types, and on first
 * contact the key shown becomes a known_hosts line to record. Close reasons fit a close frame.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostKeyAlgorithms, hostKeyVerifier, keyTypeOf, recordedKeys } from '../../server/services/ssh-shell.js';
import { closeReason } from '../../server/services/terminal-session.js';

/** An ed25519 public key as an SSH blob: string "ssh-ed25519", string key. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const out = Buffer.alloc(4 + type.length + 4 + raw.length);
  out.writeUInt32BE(type.length, 0);
  type.copy(out, 4);
  out.writeUInt32BE(raw.length, 4 + type.length);
  raw.copy(out, 8 + type.length);
  return out;
}

describe('terminal host keys', () => {
  const mine = ed25519Blob();
  const other = ed25519Blob();
  const line = (address: string, blob: Buffer) => `${address} ssh-ed25519 ${blob.toString('base64')}`;

  it('reads the recorded known_hosts lines, skipping what is no key line', () => {
    const keys = recordedKeys(`${line('10.0.0.5', mine)}\n\n# a comment\n10.0.0.5 ssh-rsa not*base64\n10.0.0.5 ecdsa-sha2-nistp256 AAAA\n`);
    expect(keys.map((k) => k.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(keys[0].blob.equals(mine)).toBe(true);
    expect(recordedKeys(null)).toEqual([]);
  });

  it('accepts exactly the recorded blob and remembers a mismatch', () => {
    const verifier = hostKeyVerifier('10.0.0.5', recordedKeys(line('10.0.0.5', mine)));
    expect(verifier.verify(mine)).toBe(true);
    expect(verifier.mismatch).toBe(false);
    expect(verifier.verify(other)).toBe(false);
    expect(verifier.mismatch).toBe(true);
    // A key differing in one byte is another key.
    const flipped = Buffer.from(mine);
    flipped[flipped.length - 1] ^= 1;
    expect(hostKeyVerifier('10.0.0.5', recordedKeys(line('10.0.0.5', mine))).verify(flipped)).toBe(false);
    expect(verifier.learned).toBeNull();
  });

  it('trusts a host with no key recorded on first contact and hands back the line to record', () => {
    const verifier = hostKeyVerifier('10.0.0.6', []);
    expect(verifier.verify(mine)).toBe(true);
    expect(verifier.learned).toBe(line('10.0.0.6', mine));
    expect(keyTypeOf(mine)).toBe('ssh-ed25519');
    // Something that is no key blob is refused even then.
    expect(hostKeyVerifier('10.0.0.6', []).verify(Buffer.from([0, 0, 0]))).toBe(false);
    expect(keyTypeOf(Buffer.from([0, 0, 1, 0, 65]))).toBeNull();
  });

  it('offers only the host key algorithms of the recorded types (RSA with SHA-2 first)', () => {
    expect(hostKeyAlgorithms([])).toBeNull();
    expect(hostKeyAlgorithms(recordedKeys(line('h', mine)))).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms(recordedKeys('h ssh-rsa AAAA\nh ecdsa-sha2-nistp256 AAAA'))).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms(recordedKeys('h sk-ssh-ed25519@openssh.com AAAA'))).toEqual([]);
  });

  it('cuts close reasons to the 123 bytes a close frame holds', () => {
    expect(closeReason('Logged out')).toBe('Logged out');
    const long = closeReason(`호스트 ${'키'.repeat(100)}`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long.endsWith('…')).toBe(true);
  });
});
