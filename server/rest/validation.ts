/**
 * Request validation by the routes' schemas, answered as FastAPI answers it: a 422 with every
 * problem of the request part, each `{loc, msg, type}` with pydantic's wording (`Field
 * required` / `missing`, `Input should be a valid string` / `string_type`, ...), in the order
 * the fields are declared, one issue per place. A field whose answer the contract words
 * otherwise carries it in its schema (`x-fastapi-error: {msg, type}`).
 *
 * Ajv runs without Fastify's defaults that would change answers: no type coercion (`42` is not
 * a string), no defaults filled in, no properties removed. A request part marked
 * `x-validated-by: handler` is documented only: its handler (or service) checks it, because
 * Ajv would word the errors differently, stop elsewhere, or check it before the caller's access
 * (see schemas/static.ts).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { invalidInput, type ValidationIssue } from '../services/errors.js';
import { HANDLER_VALIDATED } from './schemas/static.js';

/** Annotation of a field whose failure the contract words itself. */
export const FASTAPI_ERROR = 'x-fastapi-error';

/** Where a request part sits in FastAPI's `loc`. */
const PART_LOC: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

const TYPE_ISSUES: Record<string, { msg: string; type: string }> = {
  string: { msg: 'Input should be a valid string', type: 'string_type' },
  integer: { msg: 'Input should be a valid integer', type: 'int_type' },
  number: { msg: 'Input should be a valid number', type: 'float_type' },
  boolean: { msg: 'Input should be a valid boolean', type: 'bool_type' },
  array: { msg: 'Input should be a valid list', type: 'list_type' },
  object: { msg: 'Input should be a valid dictionary', type: 'dict_type' },
  null: { msg: 'Input should be None', type: 'none_required' },
};
const ROOT_OBJECT_ISSUE = { msg: 'Input should be a valid JSON object', type: 'model_type' };

/** `/a/0/b~1c` → ['a', 0, 'b/c'] */
function pathOf(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(?:0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

function issueOf(error: ErrorObject, part: string): ValidationIssue {
  const path = pathOf(error.instancePath);
  if (error.keyword === 'required') {
    return { loc: [part, ...path, (error.params as { missingProperty: string }).missingProperty], msg: 'Field required', type: 'missing' };
  }
  const worded = (error.parentSchema as Record<string, unknown> | undefined)?.[FASTAPI_ERROR] as { msg: string; type: string } | undefined;
  if (worded) return { loc: [part, ...path], msg: worded.msg, type: worded.type };
  if (error.keyword === 'type') {
    const expected = [(error.params as { type: string | string[] }).type].flat()[0];
    const issue = path.length === 0 && expected === 'object' ? ROOT_OBJECT_ISSUE : TYPE_ISSUES[expected];
    if (issue) return { loc: [part, ...path], ...issue };
  }
  return { loc: [part, ...path], msg: error.message ?? 'Invalid value', type: error.keyword };
}

/**
 * Ajv's errors as FastAPI's issues: one per place (the first found), ordered as the fields are
 * declared (Ajv reports the missing fields before the mistyped ones).
 */
export function fastApiIssues(errors: readonly ErrorObject[], httpPart: string, fieldOrder: readonly string[] = []): ValidationIssue[] {
  const part = PART_LOC[httpPart] ?? httpPart;
  const byPlace = new Map<string, ValidationIssue>();
  for (const error of errors) {
    const issue = issueOf(error, part);
    const place = JSON.stringify(issue.loc);
    if (!byPlace.has(place)) byPlace.set(place, issue);
  }
  const rank = (issue: ValidationIssue) => (issue.loc.length < 2 ? -1 : fieldOrder.indexOf(String(issue.loc[1])));
  return [...byPlace.values()].sort((a, b) => rank(a) - rank(b));
}

const passThrough = () => true;

/**
 * Fastify's validator compiler for the REST routes. `sharedSchemas` gives the schemas added with
 * `addSchema`, for `$ref`s (read when the first schema is compiled, after every route is known).
 */
export function fastApiValidatorCompiler(sharedSchemas: () => object[]): FastifySchemaCompiler<unknown> {
  let ajv: Ajv | undefined;
  const instance = () => {
    if (ajv) return ajv;
    ajv = new Ajv({ allErrors: true, verbose: true, coerceTypes: false, useDefaults: false, removeAdditional: false, allowUnionTypes: true });
    ajv.addKeyword({ keyword: FASTAPI_ERROR, schemaType: 'object' });
    ajv.addKeyword({ keyword: HANDLER_VALIDATED, schemaType: 'string' });
    for (const schema of sharedSchemas()) ajv.addSchema(schema);
    return ajv;
  };
  return ({ schema, httpPart }) => {
    const s = schema as Record<string, unknown>;
    if (s[HANDLER_VALIDATED] === 'handler') return passThrough;
    const validate: ValidateFunction = instance().compile(s);
    const fieldOrder = Object.keys((s.properties as object | undefined) ?? {});
    return (data: unknown) => {
      if (validate(data)) return true;
      return { error: invalidInput(fastApiIssues(validate.errors ?? [], httpPart ?? 'body', fieldOrder)) };
    };
  };
}
