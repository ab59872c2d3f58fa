/**
 * The REST API's OpenAPI 3.1 document, built by @fastify/swagger from the routes' own schemas
 * (server/rest/schemas/): served at `/openapi.json`, and read by the interactive reference at
 * `/docs` (@fastify/swagger-ui, its files served from the package; nothing from a CDN, and it
 * runs under the server's own Content-Security-Policy, see http-security.ts).
 *
 * Register before any route: @fastify/swagger learns the routes as they are added, and the
 * validator compiler (validation.ts) and the shared schemas must be in place when they are.
 * Only tagged routes are documented: the console's files, the playground and the CORS
 * preflight are not part of the API. GraphQL is one operation, POST /graphql, described here
 * (its schema is schema.graphql).
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import { ACCOUNT_SCHEMAS } from './schemas/account.schema.js';
import { COMMON_SCHEMAS, SECURITY_SCHEMES } from './schemas/common.schema.js';
import { DESIGN_SCHEMAS } from './schemas/design.schema.js';
import { POOL_SCHEMAS } from './schemas/pool.schema.js';
import { PROJECT_SCHEMAS } from './schemas/project.schema.js';
import { checkResponseSerialization } from './response-check.js';
import { restSerializerCompiler } from './serialization.js';
import { fastApiValidatorCompiler } from './validation.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

/** The version of the REST contract the document describes (package.json's version). */
export const API_VERSION = '0.1.0';

/** The components every route's schema may refer to (`$ref: '<$id>#'`). */
export const SHARED_SCHEMAS = [...COMMON_SCHEMAS, ...PROJECT_SCHEMAS, ...ACCOUNT_SCHEMAS, ...POOL_SCHEMAS, ...DESIGN_SCHEMAS];

const DESCRIPTION = `The REST API of H-CMP, the hybrid cloud management portal: the original FastAPI contract (the
paths under \`/api\`, unchanged for old clients) and the paths added since.

Errors are FastAPI-shaped: \`{"detail": "..."}\`, and for invalid input or malformed JSON a 422
\`{"detail": [{"loc": ["body", "serviceName"], "msg": "Field required", "type": "missing"}]}\` listing
every problem. Send \`Authorization: Bearer <access_token>\` (from \`POST /api/login\`) wherever a
lock is shown.

GraphQL (\`/graphql\`, queries and mutations over HTTP, subscriptions over graphql-ws on the same
path) is described by its own schema, \`schema.graphql\`, and has a playground at \`/playground\`.`;

const TAGS = [
  { name: 'projects', description: 'Orders, history and the project lifecycle (the original contract, plus cancel, retry and the design preview)' },
  { name: 'monitoring', description: 'The caller\'s hosts and resources' },
  { name: 'accounts', description: 'Sign-in, sign-up and the caller\'s own account' },
  { name: 'admin', description: 'Accounts, settings, statistics and the audit log (admins only)' },
  { name: 'pool', description: 'The workload pool (admins only)' },
  { name: 'platform', description: 'Public settings, health and metrics of the instance' },
  { name: 'graphql', description: 'The GraphQL endpoint (see schema.graphql)' },
];

const GRAPHQL_OPERATION: OpenAPIV3_1.OperationObject = {
  tags: ['graphql'],
  operationId: 'graphql',
  summary: 'A GraphQL query or mutation',
  description:
    'The schema is `schema.graphql` (introspection is on outside production). GET with the same parameters in the query string also works for queries. Subscriptions go over graphql-ws on the same path (WebSocket). Errors are GraphQL-shaped, with `extensions.code`.',
  security: [{ bearerAuth: [] }, {} as Record<string, string[]>],
  requestBody: {
    required: true,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: {
            query: { type: 'string', examples: ['{ me { username role } }'] },
            variables: { type: ['object', 'null'], additionalProperties: true },
            operationName: { type: ['string', 'null'] },
          },
          required: ['query'],
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The result (`errors` beside `data` for errors in resolvers)',
      content: { 'application/json': { schema: { type: 'object', properties: { data: { type: ['object', 'null'] }, errors: { type: 'array', items: { type: 'object' } } } } } },
    },
    400: { description: 'The operation could not be parsed or validated, or went over a limit', content: { 'application/json': { schema: { type: 'object', properties: { errors: { type: 'array', items: { type: 'object' } } } } } } },
    401: { description: 'A bad token (no token: only public fields answer)' },
  },
};

export interface OpenApiOptions {
  /** Check every answer against its response schema (tests; see response-check.ts). */
  checkResponses?: boolean;
}

export async function registerOpenApi(http: FastifyInstance, options: OpenApiOptions = {}): Promise<void> {
  await http.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'H-CMP REST API', version: API_VERSION, description: DESCRIPTION },
      tags: TAGS,
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    hideUntagged: true,
    // Shared schemas keep their names as components (instead of def-0, def-1, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (document): Partial<OpenAPIV3_1.Document> => {
      const openapi = (document as { openapiObject: Partial<OpenAPIV3_1.Document> }).openapiObject;
      return { ...openapi, paths: { ...openapi.paths, '/graphql': { post: GRAPHQL_OPERATION } } as unknown as OpenAPIV3_1.PathsObject };
    },
  });
  for (const schema of SHARED_SCHEMAS) http.addSchema(schema);
  http.setValidatorCompiler(fastApiValidatorCompiler(() => Object.values(http.getSchemas()) as object[]));
  http.setSerializerCompiler(restSerializerCompiler(() => Object.values(http.getSchemas()) as object[]));
  if (options.checkResponses) checkResponseSerialization(http);

  // Built once, the first time it is asked for (the routes are all known by then).
  let document: string | undefined;
  http.get(OPENAPI_PATH, { schema: { hide: true } }, (_request, reply) => {
    document ??= JSON.stringify(http.swagger());
    void reply.header('cache-control', 'no-cache');
    return reply.type('application/json; charset=utf-8').send(document);
  });

  await http.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    theme: { title: 'H-CMP REST API' },
    // BaseLayout: no top bar with a box to explore other documents (and other origins).
    uiConfig: { layout: 'BaseLayout', deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, tryItOutEnabled: false, displayRequestDuration: true },
    // The server's own Content-Security-Policy covers these pages (no inline script, nothing external).
    staticCSP: false,
  });
}
