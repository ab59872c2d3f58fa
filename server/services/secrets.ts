/** Development secrets kept beside the data, so tokens survive a restart without any set-up. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface SecretSettings {
  tokenSecret: string | undefined;
  isProduction: boolean;
  dataDir: string;
}

/** TOKEN_SECRET, or (outside production) one generated once per data directory. */
export function resolveTokenSecret(config: SecretSettings, log: { info(msg: string): void }): string {
  if (config.tokenSecret) return config.tokenSecret;
  if (config.isProduction) throw new Error('TOKEN_SECRET is required in production');
  const file = join(config.dataDir, 'token-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  log.info(`generated a development token secret in ${file}`);
  return secret;
}
