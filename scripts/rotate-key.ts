/**
 * `npm run rotate-key`: re-seals the stored secrets under a new key.
 *
 *   1. Stop the server (or keep it running: it only seals, and new values use its own key).
 *   2. ENCRYPT_KEY=<new key> ENCRYPT_KEYS_PREVIOUS=<old key>[,<older key>…] npm run rotate-key
 *   3. Start the server with the new ENCRYPT_KEY; ENCRYPT_KEYS_PREVIOUS can then be dropped.
 *
 * All or nothing: if one stored value cannot be opened with the keys given, nothing changes
 * and the exit status is 1. Running it again re-seals nothing.
 */
import 'reflect-metadata';
import { ConfigError, DEV_ENCRYPT_KEY, loadConfig } from '../server/config/index.js';
import { migrate, openDatabase } from '../server/db/orm.js';
import { KeyRotationError, rotateSecrets } from '../server/services/key-rotation.js';
import { SecretBox } from '../server/services/secret-box.js';

const MIN_KEY_LENGTH = 32;

function fail(message: string): never {
  console.error(`rotate-key: ${message}`);
  process.exit(1);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : (err as Error).message);
}
if (config.encryptKey === DEV_ENCRYPT_KEY) {
  fail('ENCRYPT_KEY is unset or the development key: set ENCRYPT_KEY to the new key, and ENCRYPT_KEYS_PREVIOUS to the old one(s)');
}
if (config.encryptKey.length < MIN_KEY_LENGTH) {
  fail(`the new ENCRYPT_KEY must be at least ${MIN_KEY_LENGTH} characters`);
}

// Rotating the SQLite fallback while the real database is unreachable would report success
// and change nothing that matters: this script never falls back.
config.dbFallback = false;
const box = new SecretBox(config.encryptKey, config.previousEncryptKeys);
let exitCode = 0;
try {
  const { orm, info } = await openDatabase(config, console);
  try {
    await migrate(orm);
    const { resealed, alreadyCurrent } = await rotateSecrets(orm.em.fork(), box);
    console.log(
      `${info.backend} (${info.location}): re-sealed ${resealed} secret value(s) under key ${box.currentKeyId}; ${alreadyCurrent} already under it`,
    );
  } finally {
    await orm.close();
  }
} catch (err) {
  console.error(err instanceof KeyRotationError ? `rotate-key: ${err.message}` : `rotate-key failed: ${(err as Error).message}`);
  exitCode = 1;
}
process.exit(exitCode);
