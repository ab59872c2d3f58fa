/**
 * Secrets at rest: AES-256-GCM with a fresh 96-bit IV per value, the key id in the stored
 * envelope, and the owner (table, row, column) bound in as associated data, so a value copied
 * to another row or column no longer opens. Keys come from ENCRYPT_KEY through HKDF; earlier
 * keys (ENCRYPT_KEYS_PREVIOUS) still open old values until `npm run rotate-key` re-seals them.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'hcmp1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

interface Key {
  id: string;
  bytes: Buffer;
}

function deriveKey(secret: string): Key {
  const bytes = Buffer.from(hkdfSync('sha256', secret, 'h-cmp', 'h-cmp secrets at rest v1', 32));
  const id = createHash('sha256').update(`h-cmp key id:${secret}`).digest('hex').slice(0, 12);
  return { id, bytes };
}

/** Associated data of a secret column: the value belongs to this row and this column only. */
export const secretOwner = (table: string, rowId: number | string, column: string): string => `${table}:${rowId}:${column}`;

export class SecretBox {
  private readonly current: Key;
  private readonly keys = new Map<string, Key>();

  constructor(currentSecret: string, previousSecrets: string[] = []) {
    this.current = deriveKey(currentSecret);
    for (const secret of [currentSecret, ...previousSecrets]) {
      const key = deriveKey(secret);
      this.keys.set(key.id, key);
    }
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, owner: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.current.id, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join(':');
  }

  open(envelope: string, owner: string): string {
    const parts = envelope.split(':');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed value');
    const [, keyId, ivText, ctText, tagText] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new SecretBoxError(`sealed with an unknown key (${keyId}); add it to ENCRYPT_KEYS_PREVIOUS`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    const ciphertext = Buffer.from(ctText, 'base64url');
    // Node decodes base64url leniently; only the canonical text counts as the sealed value.
    const canonical = [iv, ciphertext, tag].every((b, i) => b.toString('base64url') === [ivText, ctText, tagText][i]);
    if (!canonical || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('malformed sealed value');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(owner, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed value was tampered with, or belongs to another row or column');
    }
  }

  /** The key id of a sealed value (to find values still under an old key). */
  keyIdOf(envelope: string): string | undefined {
    const parts = envelope.split(':');
    return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
  }
}
