/**
 * Direct access to a test server's database while that server is stopped (restart tests):
 * the same MikroORM options the server uses, on the same SQLite file or PostgreSQL database.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { postgresOptions, sqliteOptions } from '../../server/db/orm.js';
import type { TestServer, TestServerOptions } from './server.js';

/** Opens the stopped server's data; close it before starting another server on it. */
export function openDataOf(server: TestServer): Promise<MikroORM> {
  if (server.backend === 'postgresql') return MikroORM.init(postgresOptions(server.postgres!.url, 5000));
  return MikroORM.init(sqliteOptions(server.sqlitePath));
}

/** `reuse` option that starts the next server on this server's data. */
export function reuseOf(server: TestServer): NonNullable<TestServerOptions['reuse']> {
  return server.backend === 'postgresql' ? { postgres: server.postgres } : { sqlitePath: server.sqlitePath };
}

/** Removes the data directory a server kept with `close(true)` (its SQLite file lives there). */
export function removeDataDir(server: TestServer | undefined): void {
  if (server) rmSync(dirname(server.sqlitePath), { recursive: true, force: true });
}
