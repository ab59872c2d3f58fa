/**
 * The OpenAPI document a server serves, and a check of real answers against it: for the
 * operation of a request's method and path, the answer's status must be documented and its
 * body must be valid against that status's schema (Ajv, JSON Schema 2020-12, the document's
 * dialect). `validatingRequest` wraps a test server's `request` so every exchange is checked.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { TestServer } from './server.js';

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any>; securitySchemes: Record<string, any> };
  tags?: { name: string }[];
  [key: string]: unknown;
}

export async function servedDocument(server: Pick<TestServer, 'request'>): Promise<OpenApiDocument> {
  const res = await server.request('GET', '/openapi.json');
  if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
  return res.body as OpenApiDocument;
}

/** JSON pointer escaping of one segment. */
const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The operations of a document as `METHOD /path` with Fastify's `:param` templates. */
export function documentedOperations(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((k) => HTTP_METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`))
    .sort();
}

export interface Exchange {
  method: string;
  /** The path called, with its query string if any. */
  path: string;
  status: number;
  body: unknown;
  contentType?: string | null;
}

/** Checks answers against a document; `check` throws a message naming what does not match. */
export class ResponseValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: { path: string; params: number; re: RegExp }[];
  /** Exchanges checked, by `METHOD template status`. */
  readonly seen = new Map<string, number>();

  constructor(readonly doc: OpenApiDocument) {
    this.ajv.addSchema(doc, 'openapi');
    // Static paths before templates with parameters: /api/admin/pool/check is not /api/admin/pool/{id}.
    this.templates = Object.keys(doc.paths)
      .map((path) => ({ path, params: path.split('{').length, re: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`) }))
      .sort((a, b) => a.params - b.params);
  }

  /** The document's path template a concrete path belongs to. */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0];
    return this.templates.find((t) => t.re.test(bare))?.path;
  }

  check(exchange: Exchange): void {
    const method = exchange.method.toLowerCase();
    if (method === 'head' || method === 'options') return;
    const template = this.templateOf(exchange.path);
    const label = `${exchange.method} ${exchange.path} → ${exchange.status}`;
    if (!template) throw new Error(`${label}: the document has no path for it`);
    const operation = this.doc.paths[template][method];
    if (!operation) throw new Error(`${label}: the document has no ${exchange.method} operation on ${template}`);
    const response = operation.responses?.[String(exchange.status)];
    if (!response) throw new Error(`${label}: status ${exchange.status} is not documented for ${exchange.method} ${template} (documented: ${Object.keys(operation.responses ?? {}).join(', ')})`);
    const key = `${exchange.method.toUpperCase()} ${template} ${exchange.status}`;
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    const media = Object.keys(response.content ?? {});
    if (media.length === 0) return;
    const type = exchange.contentType?.split(';')[0].trim() ?? 'application/json';
    const mediaType = media.find((m) => m === type);
    if (!mediaType) throw new Error(`${label}: answered ${type}, documented ${media.join(', ')}`);
    if (mediaType !== 'application/json') {
      if (typeof exchange.body !== 'string') throw new Error(`${label}: a ${mediaType} answer that is not text`);
      return;
    }
    const pointer = ['paths', template, method, 'responses', String(exchange.status), 'content', mediaType, 'schema'].map(escape).join('/');
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi#/${pointer}` });
      this.compiled.set(pointer, validate);
    }
    if (!validate(exchange.body)) {
      const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
      throw new Error(`${label}: the body does not match the documented schema: ${problems.join('; ')}; body ${JSON.stringify(exchange.body).slice(0, 300)}`);
    }
  }
}

/** The paths the document describes as REST: `/api/...` and the instance's own (GraphQL has its own schema). */
export function isRestPath(path: string): boolean {
  const bare = path.split('?')[0];
  return bare.startsWith('/api/') || ['/healthz', '/livez', '/metrics'].includes(bare);
}

/** A test server's `request` that checks every REST answer against the document (see {@link ResponseValidator}). */
export function validatingRequest(server: Pick<TestServer, 'request'>, validator: ResponseValidator): TestServer['request'] {
  return async (method, path, options) => {
    const res = await server.request(method, path, options);
    if (isRestPath(path)) validator.check({ method, path, status: res.status, body: res.body, contentType: res.headers.get('content-type') });
    return res;
  };
}

export type CheckedServer = TestServer & { validator: ResponseValidator };

/** The server, its `request` checking every REST answer against the document it serves. */
export async function checkedAgainstDocument(server: TestServer): Promise<CheckedServer> {
  const validator = new ResponseValidator(await servedDocument(server));
  return { ...server, request: validatingRequest(server, validator), validator };
}
