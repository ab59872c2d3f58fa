/** Applies pending migrations to the configured database (same fallback rule as the server). */
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../server/config/index.js';
import { migrate, openDatabase } from '../server/db/orm.js';

try {
  const config = loadConfig();
  const { orm, info } = await openDatabase(config, console);
  try {
    const applied = await migrate(orm);
    console.log(`${info.backend} (${info.location}): ${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}`);
  } finally {
    await orm.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
}
