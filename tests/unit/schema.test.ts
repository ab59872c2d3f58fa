import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printGraphQLSchema } from '../../server/graphql/schema.js';

describe('schema.graphql', () => {
  it('is exactly what the code builds (run `npm run schema:emit` after changing the API)', async () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(await printGraphQLSchema());
  });

  it('offers the operations of SPEC §3 and no secret fields', async () => {
    const sdl = await printGraphQLSchema();
    for (const op of ['me:', 'publicSettings:', 'templates:', 'history(', 'project(', 'projectEvents(', 'resources:', 'login(', 'provision(', 'deleteProject(', 'createUser(', 'provisionStatus(']) {
      expect(sdl).toContain(op);
    }
    expect(sdl).not.toMatch(/passwordHash|password_hash|tokenSecret/i);
  });
});
