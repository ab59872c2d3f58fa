/**
 * The backends a suite runs on: SQLite always, PostgreSQL when reachable (and required
 * when REQUIRE_POSTGRES is set, as in CI).
 */
import { shouldRunPostgres } from './postgres.js';
import type { Backend } from './server.js';

export async function backendsFor(suite: string): Promise<Backend[]> {
  return (await shouldRunPostgres(suite)) ? ['sqlite', 'postgresql'] : ['sqlite'];
}
