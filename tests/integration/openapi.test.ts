/**
 * The OpenAPI 3.1 document (issue 17, item 1): a valid document that describes every REST route
 * the server registers, method by method, each with its schemas, security and errors; the
 * committed copy (openapi.json) does not drift; the old contract's exchanges are valid against
 * it; the schemas' own validation answers FastAPI's shapes; and /openapi.json and /docs never
 * fall through to the console.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedOperations, HTTP_METHODS, ResponseValidator, servedDocument, type OpenApiDocument } from '../helpers/openapi.js';
import { registeredRoutes } from '../helpers/routes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ROOT = new URL('../../', import.meta.url);
const COMMITTED = new URL('openapi.json', ROOT);
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`tests/fixtures/contract/${name}.json`, ROOT), 'utf8'));

/** Paths of the instance itself, documented beside the `/api` paths. */
const PLATFORM_PATHS = ['/healthz', '/livez', '/metrics'];
/** Added to the document by hand: GraphQL as one operation (its schema is schema.graphql). */
const GRAPHQL_OPERATION = 'POST /graphql';

const EXTENSION = /^x-/;
const allowed = (obj: object, keys: string[], where: string, problems: string[]) => {
  for (const k of Object.keys(obj)) if (!keys.includes(k) && !EXTENSION.test(k)) problems.push(`${where}: unexpected field "${k}"`);
};

const escape = (key: string | number) => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

/** Every `$ref` in a value, with where it was found (a JSON pointer). */
function refsIn(value: unknown, where = '#'): { ref: string; where: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsIn(v, `${where}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ ref: v, where }] : refsIn(v, `${where}/${escape(k)}`)));
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), doc);
}

/** Every schema of the document (components, parameters, bodies, responses, headers), with where it is. */
function schemasOf(doc: OpenApiDocument): { where: string; schema: unknown }[] {
  const out = Object.entries(doc.components.schemas).map(([name, schema]) => ({ where: `components.schemas.${name}`, schema }));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS.filter((m) => item[m])) {
      const op = item[method];
      const at = `${method.toUpperCase()} ${path}`;
      for (const p of op.parameters ?? []) out.push({ where: `${at} parameter ${p.name}`, schema: p.schema });
      for (const [type, media] of Object.entries<any>(op.requestBody?.content ?? {})) out.push({ where: `${at} body ${type}`, schema: media.schema });
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
        for (const [type, media] of Object.entries<any>(response.content ?? {})) out.push({ where: `${at} ${status} ${type}`, schema: media.schema });
        for (const [name, header] of Object.entries<any>(response.headers ?? {})) out.push({ where: `${at} ${status} header ${name}`, schema: header.schema });
      }
    }
  }
  return out;
}

/**
 * What an OpenAPI 3.1 document must be, checked field by field (the OpenAPI Specification 3.1.0,
 * sections 4.8.1-4.8.30): the fixed fields of each object and their types, status codes, path
 * templates and their parameters, unique operation ids, security requirements naming declared
 * schemes, `$ref`s that resolve, and component names.
 */
function structuralProblems(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  if (!/^3\.1\.\d+$/.test(doc.openapi)) problems.push(`openapi is ${doc.openapi}`);
  allowed(doc, ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'], 'document', problems);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info needs title and version');
  allowed(doc.info, ['title', 'summary', 'description', 'termsOfService', 'contact', 'license', 'version'], 'info', problems);
  allowed(doc.components, ['schemas', 'responses', 'parameters', 'examples', 'requestBodies', 'headers', 'securitySchemes', 'links', 'callbacks', 'pathItems'], 'components', problems);
  for (const name of Object.keys(doc.components.schemas)) if (!/^[a-zA-Z0-9._-]+$/.test(name)) problems.push(`component name ${name}`);
  for (const [name, scheme] of Object.entries<any>(doc.components.securitySchemes)) {
    if (!['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(scheme.type)) problems.push(`security scheme ${name}: type ${scheme.type}`);
    if (scheme.type === 'http' && typeof scheme.scheme !== 'string') problems.push(`security scheme ${name}: http without scheme`);
    allowed(scheme, ['type', 'description', 'name', 'in', 'scheme', 'bearerFormat', 'flows', 'openIdConnectUrl'], `security scheme ${name}`, problems);
  }
  const tagNames = new Set((doc.tags ?? []).map((t) => t.name));
  for (const tag of doc.tags ?? []) allowed(tag, ['name', 'description', 'externalDocs'], `tag ${tag.name}`, problems);
  const operationIds = new Map<string, string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) problems.push(`path ${path} does not start with /`);
    allowed(item, ['$ref', 'summary', 'description', 'servers', 'parameters', ...HTTP_METHODS], `path ${path}`, problems);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const method of HTTP_METHODS.filter((m) => item[m])) {
      const op = item[method];
      const at = `${method.toUpperCase()} ${path}`;
      allowed(op, ['tags', 'summary', 'description', 'externalDocs', 'operationId', 'parameters', 'requestBody', 'responses', 'callbacks', 'deprecated', 'security', 'servers'], at, problems);
      if (op.operationId !== undefined) {
        if (operationIds.has(op.operationId)) problems.push(`${at}: operationId ${op.operationId} also on ${operationIds.get(op.operationId)}`);
        operationIds.set(op.operationId, at);
      }
      for (const tag of op.tags ?? []) if (!tagNames.has(tag)) problems.push(`${at}: tag ${tag} is not declared`);
      const parameters: any[] = op.parameters ?? [];
      const seen = new Set<string>();
      for (const p of parameters) {
        allowed(p, ['name', 'in', 'description', 'required', 'deprecated', 'allowEmptyValue', 'style', 'explode', 'allowReserved', 'schema', 'example', 'examples', 'content'], `${at} parameter ${p.name}`, problems);
        if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in)) problems.push(`${at}: parameter ${JSON.stringify(p).slice(0, 80)}`);
        if (('schema' in p) === ('content' in p)) problems.push(`${at}: parameter ${p.name} needs schema or content, not both`);
        if (p.in === 'path' && p.required !== true) problems.push(`${at}: path parameter ${p.name} must be required`);
        if (seen.has(`${p.in} ${p.name}`)) problems.push(`${at}: parameter ${p.in} ${p.name} twice`);
        seen.add(`${p.in} ${p.name}`);
      }
      const pathParams = parameters.filter((p) => p.in === 'path').map((p) => p.name).sort();
      if (JSON.stringify(pathParams) !== JSON.stringify(templated)) problems.push(`${at}: path parameters ${JSON.stringify(pathParams)} for ${JSON.stringify(templated)} in the path`);
      if (op.requestBody) {
        allowed(op.requestBody, ['description', 'content', 'required'], `${at} requestBody`, problems);
        if (!op.requestBody.content || Object.keys(op.requestBody.content).length === 0) problems.push(`${at}: requestBody without content`);
      }
      const responses = Object.entries<any>(op.responses ?? {});
      if (responses.length === 0) problems.push(`${at}: no responses`);
      for (const [status, response] of responses) {
        if (!/^(?:[1-5](?:\d\d|XX)|default)$/.test(status)) problems.push(`${at}: status ${status}`);
        allowed(response, ['description', 'headers', 'content', 'links'], `${at} ${status}`, problems);
        if (typeof response.description !== 'string') problems.push(`${at} ${status}: no description`);
        for (const [type, media] of Object.entries<any>(response.content ?? {})) allowed(media, ['schema', 'example', 'examples', 'encoding'], `${at} ${status} ${type}`, problems);
        for (const [name, header] of Object.entries<any>(response.headers ?? {})) {
          allowed(header, ['description', 'required', 'deprecated', 'style', 'explode', 'schema', 'example', 'examples', 'content'], `${at} ${status} header ${name}`, problems);
        }
      }
      for (const requirement of op.security ?? []) {
        for (const [scheme, scopes] of Object.entries(requirement)) {
          if (!doc.components.securitySchemes[scheme]) problems.push(`${at}: security scheme ${scheme} is not declared`);
          if (!Array.isArray(scopes)) problems.push(`${at}: scopes of ${scheme}`);
        }
      }
    }
  }
  for (const { ref, where } of refsIn(doc)) if (resolvePointer(doc, ref) === undefined) problems.push(`${where}: $ref ${ref} does not resolve`);
  return problems;
}

describe('the OpenAPI document', () => {
  let server: TestServer;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    server = await startTestServer();
    doc = await servedDocument(server);
  });
  afterAll(() => server?.close());

  it('is an OpenAPI 3.1 document: every object with its fields, every $ref resolving', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(structuralProblems(doc)).toEqual([]);
  });

  it('the structural check is not vacuous: it finds what a broken document gets wrong', () => {
    const broken = structuredClone(doc);
    broken.openapi = '3.0.3';
    delete (broken.paths['/api/login'].post.responses as Record<string, any>)['200'].description;
    broken.paths['/api/provision/{id}/cancel'].post.parameters = [];
    broken.paths['/api/me'].get.security = [{ cookieAuth: [] }];
    broken.paths['/api/history'].get.responses['200'].content['application/json'].schema.items.$ref = '#/components/schemas/Nope';
    broken.paths['/api/projects'].get.operationId = 'history';
    expect(structuralProblems(broken)).toEqual([
      'openapi is 3.0.3',
      'POST /api/login 200: no description',
      'POST /api/provision/{id}/cancel: path parameters [] for ["id"] in the path',
      'GET /api/projects: operationId history also on GET /api/history',
      'GET /api/me: security scheme cookieAuth is not declared',
      '#/paths/~1api~1history/get/responses/200/content/application~1json/schema/items: $ref #/components/schemas/Nope does not resolve',
    ]);
  });

  it('has schemas that are valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1), none of OpenAPI 3.0\'s `nullable`', () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ components: doc.components }, 'doc');
    const invalid: string[] = [];
    for (const { where, schema } of schemasOf(doc)) {
      if (schema === undefined) continue;
      if (!ajv.validateSchema(schema as object)) invalid.push(`${where}: ${ajv.errorsText(ajv.errors)}`);
      if (JSON.stringify(schema).includes('"nullable"')) invalid.push(`${where}: nullable`);
    }
    expect(invalid).toEqual([]);
    expect(schemasOf(doc).length).toBeGreaterThan(100);
  });

  it('documents exactly the REST routes the server registers, method by method', () => {
    const { routes, unparsed, unknown } = registeredRoutes(server.app.http);
    expect([unparsed, unknown]).toEqual([[], []]);
    const rest = routes.filter((r) => {
      const [method, path] = r.split(' ');
      return !['HEAD', 'OPTIONS'].includes(method) && (path.startsWith('/api/') || PLATFORM_PATHS.includes(path));
    });
    expect(rest.length).toBeGreaterThan(35);
    expect(documentedOperations(doc).filter((o) => o !== GRAPHQL_OPERATION)).toEqual(rest);
    expect(documentedOperations(doc)).toContain(GRAPHQL_OPERATION);
  });

  it('gives every operation its schemas: an id, tags, security, a 2xx answer with its schema, its parameters and errors', () => {
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS.filter((m) => item[m])) {
        const op = item[method];
        const at = `${method.toUpperCase()} ${path}`;
        for (const field of ['operationId', 'summary', 'tags', 'security', 'responses']) if (op[field] === undefined) missing.push(`${at}: ${field}`);
        const ok = Object.entries<any>(op.responses).filter(([status]) => status.startsWith('2'));
        if (ok.length === 0 || ok.some(([, r]) => r.description === 'Default Response' || !r.content)) missing.push(`${at}: a 2xx answer with a schema`);
        for (const [status, response] of Object.entries<any>(op.responses)) {
          if (Number(status) >= 400 && path !== '/graphql') {
            const schema = response.content?.['application/json']?.schema;
            const expected = status === '422' ? '#/components/schemas/ValidationError' : path === '/healthz' ? undefined : '#/components/schemas/Detail';
            if (expected && schema?.$ref !== expected) missing.push(`${at}: ${status} is not ${expected}`);
          }
        }
        const bearer = (op.security ?? []).some((r: object) => 'bearerAuth' in r);
        if (bearer && path !== '/graphql' && !op.responses['401']?.headers?.['www-authenticate']) missing.push(`${at}: 401 with WWW-Authenticate`);
        if (op.requestBody && path !== '/graphql') for (const status of ['413', '415', '422']) if (!op.responses[status]) missing.push(`${at}: ${status}`);
        if (['post'].includes(method) && !op.requestBody && !op.parameters && !['/api/logout', '/graphql'].includes(path)) missing.push(`${at}: no input documented`);
      }
    }
    expect(missing).toEqual([]);
    // The errors are defined once, as components.
    expect(doc.components.schemas.Detail).toMatchObject({ type: 'object', required: ['detail'] });
    expect(doc.components.schemas.ValidationError.properties.detail.items).toEqual({ $ref: '#/components/schemas/ValidationIssue' });
    expect(doc.components.schemas.ValidationIssue.required).toEqual(['loc', 'msg', 'type']);
    expect(doc.paths['/api/provision'].post.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key' }));
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain']);
  });

  it('declares bearer authentication where the server asks for it, and only there', async () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'metricsToken']);
    const refusedWithoutToken: string[] = [];
    const declared: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS.filter((m) => item[m])) {
        if (path === '/graphql') continue;
        const requirements: object[] = item[method].security;
        const label = `${method.toUpperCase()} ${path}`;
        if (requirements.some((r) => 'bearerAuth' in r)) declared.push(label);
        const url = path.replace('{id}', '1').replace('{username}', 'nobody');
        const res = await server.request(method.toUpperCase(), url, { body: method === 'get' || method === 'delete' ? undefined : {} });
        if (res.status === 401 && res.body?.detail === 'Not authenticated') refusedWithoutToken.push(label);
        if (requirements.length === 0) expect(res.status, label).not.toBe(401);
      }
    }
    // /metrics is open in test mode (no METRICS_TOKEN): it declares the scrape token, not an account's.
    expect(refusedWithoutToken).toEqual(declared);
    expect(doc.paths['/metrics'].get.security).toEqual([{ metricsToken: [] }]);
    expect(declared.length).toBeGreaterThan(25);
  });

  it('does not drift from the committed openapi.json (npm run openapi:emit)', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    expect(JSON.parse(committed)).toEqual(doc);
    expect(committed).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  it('is what the old contract exchanges answer: the fixtures are valid against it', () => {
    const validator = new ResponseValidator(doc);
    const login = fixture('login');
    const provision = fixture('provision');
    const history = fixture('history');
    const resources = fixture('my-resources');
    const del = fixture('delete');
    const accounts = fixture('signup-admin');
    const exchanges: [string, string, { status: number; body: unknown }][] = [
      ['POST', '/api/login', login.success],
      ['POST', '/api/login', login.bad_credentials],
      ['POST', '/api/login', login.pending_account],
      ['POST', '/api/provision', provision.success],
      ['POST', '/api/provision', provision.validation_error],
      ['GET', '/api/history', history.success],
      ['GET', '/api/api/history', history.success],
      ['GET', '/api/monitoring/my-resources', resources.success],
      ['DELETE', '/api/provision/42', del.success],
      ['DELETE', '/api/provision/42', del.unknown_id],
      ['POST', '/api/signup', accounts.signup.success],
      ['POST', '/api/signup', accounts.signup.exists],
      ['GET', '/api/admin/pending-users', accounts.pending_users.not_admin],
      ['POST', '/api/admin/approve-user/kim', accounts.approve_user.success],
      ['POST', '/api/admin/approve-user/kim', accounts.approve_user.unknown],
    ];
    for (const [method, path, answer] of exchanges) validator.check({ method, path, status: answer.status, body: answer.body });
    // The original's whole user rows (no quota, seconds without a fraction) are not what we answer.
    expect(() => validator.check({ method: 'GET', path: '/api/admin/pending-users', ...accounts.pending_users.success })).toThrow(/does not match/);
    expect(validator.seen.size).toBe(exchanges.length + 1);
  });

  it('validates the bodies of plain strings by their schemas, with FastAPI\'s issues in field order, after the caller is known', async () => {
    const token = server.adminToken;
    const post = (path: string, body: unknown, auth = token) => server.request('POST', path, { token: auth, body });
    expect((await post('/api/me/password', { current_password: 5 })).body).toEqual({
      detail: [
        { loc: ['body', 'current_password'], msg: 'Input should be a valid string', type: 'string_type' },
        { loc: ['body', 'new_password'], msg: 'Field required', type: 'missing' },
      ],
    });
    for (const body of [[], 'text', 7, null]) {
      expect(await post('/api/me/password', body)).toMatchObject({ status: 422, body: { detail: [{ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'model_type' }] } });
    }
    // 42 is not a string: nothing is coerced
    expect((await post('/api/admin/users/admin/role', { role: 42 })).body.detail).toEqual([{ loc: ['body', 'role'], msg: 'Input should be a valid string', type: 'string_type' }]);
    expect((await post('/api/admin/users/admin/password', {})).body.detail).toEqual([{ loc: ['body', 'new_password'], msg: 'Field required', type: 'missing' }]);
    // a caller without a token is refused before the body is read
    const anonymous = await server.request('POST', '/api/me/password', { body: { current_password: 5 } });
    expect([anonymous.status, anonymous.body]).toEqual([401, { detail: 'Not authenticated' }]);
    // pool host ids: a whole number, checked once the caller is known to be an admin
    const bob = await server.createUser('schema-bob');
    for (const id of ['abc', '1.5', '-1', '1e3', '9999999999999999']) {
      const res = await server.request('POST', `/api/admin/pool/${id}/drain`, { token });
      expect([res.status, res.body], id).toEqual([422, { detail: [{ loc: ['path', 'id'], msg: 'Input should be a valid integer', type: 'int_parsing' }] }]);
      expect((await server.request('POST', `/api/admin/pool/${id}/drain`, { token: bob })).status).toBe(403);
      expect((await server.request('POST', `/api/admin/pool/${id}/drain`)).status).toBe(401);
    }
    expect((await server.request('POST', '/api/admin/pool/0/drain', { token })).body.detail[0].msg).toBe('Input should be a valid integer ≥ 1');
  });
});

describe('/openapi.json and /docs beside the console', () => {
  let server: TestServer;

  beforeAll(async () => {
    const dist = mkdtempSync(join(tmpdir(), 'hcmp-client-'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>console</title>');
    server = await startTestServer({ env: { CLIENT_DIST: dist } });
  });
  afterAll(() => server?.close());

  it('are never the console\'s index.html: the document, the reference, and 404 for what they do not have', async () => {
    const document = await server.request('GET', '/openapi.json');
    expect([document.status, document.headers.get('content-type'), document.body.openapi]).toEqual([200, 'application/json; charset=utf-8', '3.1.0']);
    for (const path of ['/docs', '/docs/']) {
      const page = await server.request('GET', path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.body).toMatch(/<div id="swagger-ui">/);
      expect(page.body).not.toMatch(/https?:\/\//);
    }
    const ui = await server.request('GET', '/docs/json');
    expect(ui.body).toEqual(document.body);
    for (const path of ['/docs/nope', '/docs/static/nope.js']) {
      expect(await server.request('GET', path), path).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    }
    // the console still serves its own routes
    expect((await server.request('GET', '/history')).body).toMatch(/<title>console<\/title>/);
  });

  it('serves the reference under the server\'s own Content-Security-Policy: scripts from itself only', async () => {
    const page = await server.request('GET', '/docs');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/https?:|unsafe-eval/);
    const scripts = [...String(page.body).matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) expect((await server.request('GET', src)).status, src).toBe(200);
    expect(String(page.body)).not.toMatch(/<script(?![^>]*src=)[^>]*>\s*\S/);
  });
});
