/**
 * The machinery behind the routes' schemas: the response check that catches an answer its
 * schema does not describe (fast-json-stringify writes only what a schema declares), and the
 * validator compiler that answers Ajv's findings as FastAPI's issues.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { makeErrorHandler } from '../../server/rest/errors.js';
import { checkResponseSerialization, firstDifference } from '../../server/rest/response-check.js';
import { HISTORY_ITEM, PROJECT_DETAILS } from '../../server/rest/schemas/project.schema.js';
import { handlerValidated, ref } from '../../server/rest/schemas/static.js';
import { restSerializerCompiler, WRITTEN_AS_IS } from '../../server/rest/serialization.js';
import { FASTAPI_ERROR, fastApiIssues, fastApiValidatorCompiler } from '../../server/rest/validation.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const ROW = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' }, usage: { type: 'number' } },
  required: ['id', 'name'],
} as const;

async function serve(answer: unknown, check = true): Promise<{ status: number; body: any }> {
  app = Fastify({ logger: false });
  app.setErrorHandler(makeErrorHandler(1024));
  if (check) checkResponseSerialization(app);
  app.get('/row', { schema: { response: { 200: ROW } } }, async () => answer);
  const res = await app.inject('/row');
  return { status: res.statusCode, body: res.json() };
}

describe('the response check', () => {
  it('lets an answer its schema describes exactly through, as fast-json-stringify writes it', async () => {
    expect(await serve({ id: 1, name: 'a', usage: 0.5 })).toEqual({ status: 200, body: { id: 1, name: 'a', usage: 0.5 } });
  });

  it('fails an answer with a field its schema does not declare (which the serializer would drop unseen)', async () => {
    expect(await serve({ id: 1, name: 'a', extra: true }, false)).toEqual({ status: 200, body: { id: 1, name: 'a' } });
    expect(await serve({ id: 1, name: 'a', extra: true })).toEqual({ status: 500, body: { detail: 'Internal Server Error' } });
  });

  it('fails a null written as "" and a fraction written as a whole number', async () => {
    expect((await serve({ id: 1, name: null }, false)).body).toEqual({ id: 1, name: '' });
    expect((await serve({ id: 1, name: null })).status).toBe(500);
    expect((await serve({ id: 1.5, name: 'a' }, false)).body).toEqual({ id: 1, name: 'a' });
    expect((await serve({ id: 1.5, name: 'a' })).status).toBe(500);
  });

  it('names the first difference', () => {
    expect(firstDifference({ a: [1, { b: null }] }, { a: [1, { b: '' }] })).toBe('$.a[1].b: null was written as ""');
    expect(firstDifference({ a: 1, extra: 2 }, { a: 1 })).toBe('$.extra: 2 was written as undefined');
    expect(firstDifference({ a: 1 }, { a: 1 })).toBeUndefined();
  });
});

describe("Ajv's findings as FastAPI's issues", () => {
  const BODY = {
    type: 'object',
    properties: { current_password: { type: 'string' }, new_password: { type: 'string' } },
    required: ['current_password', 'new_password'],
  } as const;

  async function post(schema: object, payload: string, params = '/x'): Promise<{ status: number; body: any }> {
    app = Fastify({ logger: false });
    app.setErrorHandler(makeErrorHandler(1024));
    app.setValidatorCompiler(fastApiValidatorCompiler(() => []));
    app.post('/x', { schema: { body: schema } }, async (request) => ({ got: request.body }));
    app.post('/h/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: '^\\d+$', [FASTAPI_ERROR]: { msg: 'Input should be a valid integer', type: 'int_parsing' } } } } } }, async () => ({ ok: true }));
    const res = await app.inject({ method: 'POST', url: params, payload, headers: { 'content-type': 'application/json' } });
    return { status: res.statusCode, body: res.json() };
  }

  it('lists every problem in the order the fields are declared, one per place', async () => {
    const res = await post(BODY, '{"current_password": 5}');
    expect(res).toEqual({
      status: 422,
      body: {
        detail: [
          { loc: ['body', 'current_password'], msg: 'Input should be a valid string', type: 'string_type' },
          { loc: ['body', 'new_password'], msg: 'Field required', type: 'missing' },
        ],
      },
    });
  });

  it('answers a body that is not an object as the whole body, and coerces nothing', async () => {
    for (const payload of ['[]', '"text"', '7', 'null']) {
      expect((await post(BODY, payload)).body.detail, payload).toEqual([{ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'model_type' }]);
    }
    expect((await post(BODY, '{"current_password": 1, "new_password": true}')).body.detail.map((i: any) => i.type)).toEqual(['string_type', 'string_type']);
    expect(await post(BODY, '{"current_password": "a", "new_password": "b", "more": 1}')).toEqual({ status: 200, body: { got: { current_password: 'a', new_password: 'b', more: 1 } } });
  });

  it("words a field's failure as its schema says, at the path", async () => {
    expect((await post(BODY, '{}', '/h/abc')).body).toEqual({ detail: [{ loc: ['path', 'id'], msg: 'Input should be a valid integer', type: 'int_parsing' }] });
  });

  it('leaves a part its handler validates to the handler', async () => {
    expect(await post(handlerValidated(BODY), '[1, 2]')).toEqual({ status: 200, body: { got: [1, 2] } });
  });

  it('maps the other kinds of problems to their pydantic names', () => {
    const issues = fastApiIssues(
      [
        { keyword: 'type', instancePath: '/a/0', schemaPath: '', params: { type: 'integer' } },
        { keyword: 'type', instancePath: '/b', schemaPath: '', params: { type: ['array', 'null'] } },
        { keyword: 'type', instancePath: '/c', schemaPath: '', params: { type: 'object' } },
        { keyword: 'enum', instancePath: '/d~1e', schemaPath: '', params: {}, message: 'must be equal to one of the allowed values' },
      ],
      'querystring',
    );
    expect(issues).toEqual([
      { loc: ['query', 'a', 0], msg: 'Input should be a valid integer', type: 'int_type' },
      { loc: ['query', 'b'], msg: 'Input should be a valid list', type: 'list_type' },
      { loc: ['query', 'c'], msg: 'Input should be a valid dictionary', type: 'dict_type' },
      { loc: ['query', 'd/e'], msg: 'must be equal to one of the allowed values', type: 'enum' },
    ]);
  });
});

describe('the serializer compiler', () => {
  const HISTORY = { type: 'array', items: ref(HISTORY_ITEM) } as const;
  const compile = (schema: object) => restSerializerCompiler(() => [PROJECT_DETAILS, HISTORY_ITEM])({ schema, method: 'GET', url: '/h', httpStatus: '200' });
  const item = (details: Record<string, unknown>) => ({
    id: 7,
    service_name: 'svc',
    status: 'COMPLETED',
    assigned_ip: '10.0.0.5',
    template_type: 'standard',
    created_at: '2026-12-07T00:00:00.000000',
    owner: 'kim',
    details,
  });

  it('writes a project\'s details exactly as stored, keys the schema lists included, where fast-json-stringify would coerce them', () => {
    expect(WRITTEN_AS_IS.has(PROJECT_DETAILS.$id)).toBe(true);
    // Values the listed keys' types do not describe: written as they are, not coerced.
    const details = { status: 5, logs: ['a', 2, null], resources: { alb_ip: 1 }, extra: { nested: [true] }, error: null };
    const answer = [item(details)];
    expect(compile(HISTORY)(answer)).toBe(JSON.stringify(answer));
  });

  it('writes everything else by its schema: undeclared fields dropped, declared types coerced', () => {
    const answer = [{ ...item({ logs: [] }), id: '8', unlisted: 'dropped' }];
    expect(JSON.parse(compile(HISTORY)(answer))).toEqual([{ ...item({ logs: [] }), id: 8 }]);
  });
});

