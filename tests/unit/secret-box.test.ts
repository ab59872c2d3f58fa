/**
 * The SecretBox that seals settings secrets at rest: AES-256-GCM, a fresh IV per value, the
 * key id in the envelope and the owner (table:row:column) as associated data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretOwner, SecretBox, SecretBoxError } from '../../server/services/secret-box.js';

const KEY_A = 'rotation-test-key-A-0123456789abcdefghijklmnop';
const KEY_B = 'rotation-test-key-B-0123456789abcdefghijklmnop';

const box = new SecretBox(KEY_A);

/** Any text an admin could send (full Unicode, empty included). */
const anyText = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 64 }), fc.constant(''));
const anyOwner = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.tuple(fc.constantFrom('settings', 'users'), fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('vcenterPassword', 'awsAccessKey', 'awsSecretKey')).map(([t, r, c]) => secretOwner(t, r, c)),
);

type Part = 'iv' | 'ciphertext' | 'tag';
const PART_INDEX: Record<Part, number> = { iv: 2, ciphertext: 3, tag: 4 };

function partsOf(envelope: string) {
  const [version, keyId, iv, ciphertext, tag] = envelope.split(':');
  return { version, keyId, iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url'), tag: Buffer.from(tag, 'base64url') };
}

/** The envelope with one byte of one binary part XORed with `mask` (mask ≠ 0). */
function flipped(envelope: string, part: Part, index: number, mask: number): string {
  const fields = envelope.split(':');
  const bytes = Buffer.from(fields[PART_INDEX[part]], 'base64url');
  bytes[index] ^= mask;
  fields[PART_INDEX[part]] = bytes.toString('base64url');
  return fields.join(':');
}

function openError(b: SecretBox, envelope: string, owner: string): SecretBoxError {
  try {
    b.open(envelope, owner);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretBoxError);
    return err as SecretBoxError;
  }
  throw new Error('the sealed value opened, but it should not have');
}

describe('SecretBox', () => {
  it('round-trips any Unicode text, empty included, for any owner', () => {
    fc.assert(
      fc.property(anyText, anyOwner, (plaintext, owner) => {
        const sealed = box.seal(plaintext, owner);
        expect(sealed.startsWith(`hcmp1:${box.currentKeyId}:`)).toBe(true);
        expect(box.keyIdOf(sealed)).toBe(box.currentKeyId);
        expect(box.open(sealed, owner)).toBe(plaintext);
        // Another box built from the same key opens it too (nothing lives only in memory).
        expect(new SecretBox(KEY_A).open(sealed, owner)).toBe(plaintext);
      }),
      { numRuns: 500 },
    );
  });

  it('never shows the plain text in the envelope', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', minLength: 8, maxLength: 80 }), anyOwner, (plaintext, owner) => {
        const sealed = box.seal(plaintext, owner);
        expect(sealed).not.toContain(plaintext);
        expect(sealed).not.toContain(Buffer.from(plaintext).toString('base64url').slice(0, 8));
      }),
      { numRuns: 200 },
    );
  });

  it('detects every flipped bit of the IV, the ciphertext and the tag (exhaustively)', () => {
    const owner = secretOwner('settings', 1, 'vcenterPassword');
    const sealed = box.seal('CANARY-vcenter-p@ssw0rd-비밀', owner);
    const { iv, ciphertext, tag } = partsOf(sealed);
    expect([iv.length, tag.length]).toEqual([12, 16]);
    let tried = 0;
    for (const [part, bytes] of [['iv', iv], ['ciphertext', ciphertext], ['tag', tag]] as const) {
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          openError(box, flipped(sealed, part, i, 1 << bit), owner);
          tried += 1;
        }
      }
    }
    expect(tried).toBe((12 + ciphertext.length + 16) * 8);
    expect(box.open(sealed, owner)).toBe('CANARY-vcenter-p@ssw0rd-비밀');
  });

  it('detects any change of any byte of the IV, the ciphertext or the tag (property)', () => {
    fc.assert(
      fc.property(
        anyText,
        anyOwner,
        fc.constantFrom<Part>('iv', 'ciphertext', 'tag'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (plaintext, owner, part, position, mask) => {
          const sealed = box.seal(plaintext, owner);
          const bytes = partsOf(sealed)[part];
          fc.pre(bytes.length > 0); // the ciphertext of "" is empty: nothing to flip
          const error = openError(box, flipped(sealed, part, position % bytes.length, mask), owner);
          expect(error.message).toMatch(/tampered|another row or column/);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses cut, lengthened or malformed envelopes', () => {
    const owner = secretOwner('settings', 1, 'awsSecretKey');
    const sealed = box.seal('secret', owner);
    const fields = sealed.split(':');
    const cases = [
      '',
      'secret', // a plain text left in the column
      fields.slice(0, 4).join(':'),
      `${sealed}:extra`,
      ['hcmp2', ...fields.slice(1)].join(':'),
      [...fields.slice(0, 4), Buffer.from(partsOf(sealed).tag.subarray(0, 12)).toString('base64url')].join(':'), // short tag
      [...fields.slice(0, 2), Buffer.alloc(16).toString('base64url'), ...fields.slice(3)].join(':'), // 16-byte IV
      [...fields.slice(0, 3), Buffer.concat([partsOf(sealed).ciphertext, Buffer.from([0])]).toString('base64url'), fields[4]].join(':'),
      [...fields.slice(0, 3), partsOf(sealed).ciphertext.subarray(1).toString('base64url'), fields[4]].join(':'),
    ];
    for (const envelope of cases) openError(box, envelope, owner);
    // Text Node would decode to the same bytes (padding, stray characters) is not the sealed value either.
    for (const i of [2, 3, 4]) {
      for (const suffix of ['=', '!', '==']) {
        const variant = fields.map((f, j) => (j === i ? `${f}${suffix}` : f)).join(':');
        openError(box, variant, owner);
      }
    }
    expect(box.keyIdOf('secret')).toBeUndefined();
    expect(box.keyIdOf(fields.slice(0, 4).join(':'))).toBeUndefined();
  });

  it('binds a value to its row and column: a swapped value does not open', () => {
    const secret = 'CANARY-aws-secret';
    const sealed = box.seal(secret, secretOwner('settings', 1, 'awsSecretKey'));
    // Copied into another column of the same row, or the same column of another row.
    openError(box, sealed, secretOwner('settings', 1, 'vcenterPassword'));
    openError(box, sealed, secretOwner('settings', 1, 'awsAccessKey'));
    openError(box, sealed, secretOwner('settings', 2, 'awsSecretKey'));
    openError(box, sealed, secretOwner('users', 1, 'awsSecretKey'));
    expect(box.open(sealed, secretOwner('settings', 1, 'awsSecretKey'))).toBe(secret);

    fc.assert(
      fc.property(anyText, anyOwner, anyOwner, (plaintext, owner, other) => {
        fc.pre(owner !== other);
        const error = openError(box, box.seal(plaintext, owner), other);
        expect(error.message).toMatch(/another row or column/);
      }),
      { numRuns: 500 },
    );
  });

  it('uses a fresh IV for every value: 10,000 seals of one text give 10,000 IVs and ciphertexts', () => {
    const owner = secretOwner('settings', 1, 'vcenterPassword');
    const ivs = new Set<string>();
    const ciphertexts = new Set<string>();
    const envelopes = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const sealed = box.seal('the same password every time', owner);
      const [, , iv, ciphertext] = sealed.split(':');
      ivs.add(iv);
      ciphertexts.add(ciphertext);
      envelopes.add(sealed);
    }
    expect(ivs.size).toBe(10_000);
    expect(ciphertexts.size).toBe(10_000);
    expect(envelopes.size).toBe(10_000);
  });

  it('refuses a value sealed under an unknown key and says to add it to ENCRYPT_KEYS_PREVIOUS', () => {
    const owner = secretOwner('settings', 1, 'awsAccessKey');
    const sealedUnderA = new SecretBox(KEY_A).seal('AKIA-CANARY', owner);
    const error = openError(new SecretBox(KEY_B), sealedUnderA, owner);
    expect(error.message).toContain('ENCRYPT_KEYS_PREVIOUS');
    expect(error.message).toContain(new SecretBox(KEY_A).currentKeyId);
    expect(error.message).not.toContain(KEY_A);
  });

  it('rotation: the new key plus the old one as previous opens old values and seals under the new key', () => {
    const a = new SecretBox(KEY_A);
    const rotated = new SecretBox(KEY_B, [KEY_A]);
    const onlyNew = new SecretBox(KEY_B);
    expect(rotated.currentKeyId).toBe(onlyNew.currentKeyId);
    expect(rotated.currentKeyId).not.toBe(a.currentKeyId);
    // Key ids are stable across processes but tell nothing of the key itself.
    expect(new SecretBox(KEY_A).currentKeyId).toBe(a.currentKeyId);
    expect(a.currentKeyId).toMatch(/^[0-9a-f]{12}$/);

    fc.assert(
      fc.property(anyText, anyOwner, (plaintext, owner) => {
        const old = a.seal(plaintext, owner);
        expect(rotated.keyIdOf(old)).toBe(a.currentKeyId);
        expect(rotated.open(old, owner)).toBe(plaintext);
        openError(onlyNew, old, owner);

        const resealed = rotated.seal(plaintext, owner);
        expect(rotated.keyIdOf(resealed)).toBe(onlyNew.currentKeyId);
        expect(onlyNew.open(resealed, owner)).toBe(plaintext);
        openError(a, resealed, owner); // the old key alone cannot read new values
      }),
      { numRuns: 300 },
    );
  });

  it('a previous key still needs the right owner, and a wrong key with a forged key id fails', () => {
    const owner = secretOwner('settings', 1, 'vcenterPassword');
    const old = new SecretBox(KEY_A).seal('pw', owner);
    openError(new SecretBox(KEY_B, [KEY_A]), old, secretOwner('settings', 1, 'awsSecretKey'));
    // Relabel a value sealed under B as if it were under A: A's key cannot open it.
    const underB = new SecretBox(KEY_B).seal('pw', owner);
    const relabelled = underB.replace(`:${new SecretBox(KEY_B).currentKeyId}:`, `:${new SecretBox(KEY_A).currentKeyId}:`);
    openError(new SecretBox(KEY_A), relabelled, owner);
  });
});
