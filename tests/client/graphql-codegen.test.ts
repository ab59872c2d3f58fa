import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILE, generateClientOperations } from '../../scripts/client-codegen.js';

describe('typed GraphQL documents of the console', () => {
  it('match schema.graphql and client/src/graphql/operations/ (run `npm run client:codegen` after changing either)', async () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(await generateClientOperations());
  });
});
