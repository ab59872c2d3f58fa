import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isObjectType } from 'graphql';
import { buildGraphQLSchema, printGraphQLSchema } from '../../server/graphql/schema.js';

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

  it("object types read plain fields with graphql's default resolver (simpleResolvers), not a wrapper per field", async () => {
    const schema = await buildGraphQLSchema();
    const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((t) => t?.name));
    const wrapped: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || roots.has(type.name)) continue;
      for (const field of Object.values(type.getFields())) {
        // A field with arguments is a field resolver of its own; every other one needs none.
        if (field.resolve && field.args.length === 0) wrapped.push(`${type.name}.${field.name}`);
      }
    }
    expect(wrapped).toEqual([]);
  });
});
