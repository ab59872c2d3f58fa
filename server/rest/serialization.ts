/**
 * Fastify's serializer compiler for the REST routes: each answer is written by fast-json-stringify
 * from its route's response schema, as Fastify does by default, with the shared schemas for the
 * `$ref`s — except the schemas of {@link WRITTEN_AS_IS}, free-form JSON the server itself
 * stored, which go out exactly as they are, by the runtime's `JSON.stringify`.
 *
 * A project's `details` is such JSON: its schema lists the keys the original wrote so the
 * document can describe them, but runners may add keys and every value is kept as stored.
 * fast-json-stringify would walk it key by key in JavaScript, coercing each listed value to its
 * declared type and concatenating a string per piece; the runtime writes the same JSON in one
 * flat string at about half the cost (the history's 20 projects: ~25 µs a request less, and
 * the ETag's hash no longer has to flatten thousands of pieces). In tests, response-check.ts
 * still checks every answer against `JSON.stringify`, and the contract tests check the answers
 * against the document's full schemas.
 */
import fastJsonStringify from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { PROJECT_DETAILS } from './schemas/project.schema.js';

/** The shared schemas ($id) whose values are written as they are. */
export const WRITTEN_AS_IS: ReadonlySet<string> = new Set([PROJECT_DETAILS.$id]);

/** `sharedSchemas`: the schemas added with `addSchema` (read when the first answer schema is compiled). */
export function restSerializerCompiler(sharedSchemas: () => object[]): FastifySerializerCompiler<unknown> {
  let external: Record<string, object> | undefined;
  return ({ schema }) => {
    external ??= Object.fromEntries(
      sharedSchemas().map((shared) => {
        const { $id, description } = shared as { $id: string; description?: string };
        // No type and no keywords: fast-json-stringify writes such a value with JSON.stringify.
        return [$id, WRITTEN_AS_IS.has($id) ? { $id, description } : shared];
      }),
    );
    return fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0], { schema: external as Record<string, Parameters<typeof fastJsonStringify>[0]> }) as (data: unknown) => string;
  };
}
