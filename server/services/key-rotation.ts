/**
 * Key rotation (`npm run rotate-key`): re-seals every secret column still sealed under an
 * earlier key with the current ENCRYPT_KEY. All or nothing: every stored value is opened
 * first, and if one cannot be (unknown key, tampered, moved from another row or column, not
 * sealed at all) nothing is written. Running it again changes nothing.
 */
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { SECRET_SETTING_FIELDS, Setting } from '../entities/setting.entity.js';
import { secretOwner, SecretBoxError, type SecretBox } from './secret-box.js';

export interface RotationResult {
  /** Values that were under an earlier key and are now under the current one. */
  resealed: number;
  /** Values that were already under the current key (opened, left as they were). */
  alreadyCurrent: number;
}

export class KeyRotationError extends Error {
  constructor(readonly failures: string[]) {
    super(`Nothing was changed: ${failures.length} stored secret(s) cannot be opened with ENCRYPT_KEY and ENCRYPT_KEYS_PREVIOUS:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    this.name = 'KeyRotationError';
  }
}

interface OpenedSecret {
  row: Setting;
  field: (typeof SECRET_SETTING_FIELDS)[number];
  plaintext: string;
  owner: string;
  current: boolean;
}

/** Opens every stored secret; lists the ones that cannot be opened (the reason only, never a value). */
function openAll(rows: Setting[], box: SecretBox): { opened: OpenedSecret[]; failures: string[] } {
  const opened: OpenedSecret[] = [];
  const failures: string[] = [];
  for (const row of rows) {
    for (const field of SECRET_SETTING_FIELDS) {
      const stored = row[field];
      if (stored == null || stored === '') continue;
      const owner = secretOwner('settings', row.id, field);
      try {
        opened.push({ row, field, owner, plaintext: box.open(stored, owner), current: box.keyIdOf(stored) === box.currentKeyId });
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        failures.push(`settings row ${row.id}, ${field}: ${err.message}`);
      }
    }
  }
  return { opened, failures };
}

/** Start-up check: the stored secrets this server cannot open with its keys (empty when all open). */
export async function unreadableSecrets(em: EntityManager, box: SecretBox): Promise<string[]> {
  return openAll(await em.find(Setting, {}, { orderBy: { id: 'asc' } }), box).failures;
}

export async function rotateSecrets(em: EntityManager, box: SecretBox): Promise<RotationResult> {
  return em.transactional(async (tx) => {
    const rows = await tx.find(Setting, {}, { orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    const { opened, failures } = openAll(rows, box);
    if (failures.length) throw new KeyRotationError(failures);
    const pending = opened.filter((o) => !o.current);
    for (const { row, field, plaintext, owner } of pending) row[field] = box.seal(plaintext, owner);
    await tx.flush();
    return { resealed: pending.length, alreadyCurrent: opened.length - pending.length };
  });
}
