/**
 * TypeScript types from the routes' JSON schemas, so one schema per route gives validation,
 * serialization, the OpenAPI document and the handler's types (what a type provider such as
 * @fastify/type-provider-json-schema-to-ts does, for the subset of JSON Schema written here:
 * `type` (also a list), `properties` / `required`, `additionalProperties`, `items`, `enum`,
 * `const`, `anyOf` / `oneOf`, and `$ref` made with {@link ref}).
 *
 * A request part its handler validates itself ({@link handlerValidated}) is `unknown` (or the
 * raw type given), since nothing has checked it before the handler runs.
 */
import type { FastifyTypeProvider } from 'fastify';

declare const schemaOf: unique symbol;
declare const rawType: unique symbol;

/** A `$ref` to a shared schema, carrying that schema's type for {@link Static}. */
export interface Ref<S> {
  readonly $ref: string;
  readonly [schemaOf]: S;
}

/** `{ $ref: '<$id>#' }` to a schema registered with `addSchema` (a component of the document). */
export function ref<const S extends { $id: string }>(schema: S): Ref<S> {
  return { $ref: `${schema.$id}#` } as Ref<S>;
}

/** Marks a request part as validated by its handler (see rest/validation.ts). */
export const HANDLER_VALIDATED = 'x-validated-by';

/** A request part its handler checks; the schema documents it, the handler answers the exact errors. */
export interface HandlerValidated<Raw> {
  readonly [HANDLER_VALIDATED]: 'handler';
  readonly [rawType]: Raw;
}

export function handlerValidated<Raw = unknown, const S extends object = object>(schema: S): S & HandlerValidated<Raw> {
  return { ...schema, [HANDLER_VALIDATED]: 'handler' } as S & HandlerValidated<Raw>;
}

type Primitive<T> = T extends 'string' ? string : T extends 'integer' | 'number' ? number : T extends 'boolean' ? boolean : T extends 'null' ? null : never;

type Required<S> = S extends { required: readonly (infer K)[] } ? K : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Extra<S> = S extends { additionalProperties: false }
  ? unknown
  : S extends { additionalProperties: infer A extends object }
    ? Record<string, Static<A>>
    : S extends { properties: object }
      ? unknown
      : Record<string, unknown>;

type ObjectOf<S> = S extends { properties: infer P }
  ? Simplify<{ -readonly [K in keyof P as K extends Required<S> ? K : never]: Static<P[K]> } & { -readonly [K in keyof P as K extends Required<S> ? never : K]?: Static<P[K]> }> & Extra<S>
  : Extra<S>;

type OfType<S, T> = T extends 'object' ? ObjectOf<S> : T extends 'array' ? (S extends { items: infer I } ? Static<I>[] : unknown[]) : Primitive<T>;

/** The TypeScript type of the values a schema accepts. */
export type Static<S> = S extends HandlerValidated<infer Raw>
  ? Raw
  : S extends { $ref: string; [schemaOf]: infer T }
    ? Static<T>
    : S extends { const: infer C }
      ? C
      : S extends { enum: readonly (infer E)[] }
        ? E
        : S extends { anyOf: readonly (infer A)[] }
          ? Static<A>
          : S extends { oneOf: readonly (infer A)[] }
            ? Static<A>
            : S extends { type: infer T }
              ? OfType<S, T extends readonly (infer U)[] ? U : T>
              : unknown;

/** Fastify type provider: request parts and replies typed from the route's schema. */
export interface SchemaTypeProvider extends FastifyTypeProvider {
  readonly validator: Static<this['schema']>;
  readonly serializer: Static<this['schema']>;
}
