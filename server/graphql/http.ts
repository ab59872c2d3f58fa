/**
 * GraphQL over HTTP: the Fastify route on `/graphql` that hands a request to Apollo's
 * `executeHTTPGraphQLRequest` and writes Apollo's answer back.
 *
 * It does what @as-integrations/fastify's handler did, minus the work that showed in the
 * request profiles (docs/BENCHMARKS.md, session 4): that handler built a `URL` from protocol,
 * host name and path of every request only to read its query string (here: the text after the
 * first `?` of the request line, which is all `URL#search` ever holds), and it needed a global
 * preHandler hook for the subscription check that every other route then paid for too.
 * Apollo parses, validates, executes and formats as before; CSRF prevention, content
 * negotiation and status codes are Apollo's. A query that already ran compiled through Apollo
 * is answered by the fast path (graphql/fast-path.ts) when it can answer exactly as Apollo would.
 */
import { Readable } from 'node:stream';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLFastPath, type FastPathOptions } from './fast-path.js';
import { isHttpSubscription, SUBSCRIPTION_OVER_HTTP } from './limits.js';

export interface GraphQLHttpOptions<TContext extends BaseContext> {
  path: string;
  /** Builds the operation's context; a thrown GraphQLError answers with its `extensions.http` status. */
  context: (request: FastifyRequest) => Promise<TContext>;
  /** Parser token limit for the subscription check (the same as Apollo's `parseOptions`). */
  maxTokens: number;
  /** Answer queries that already ran without Apollo's pipeline, where that gives the same answer (graphql/fast-path.ts). */
  fastPath?: Omit<FastPathOptions<TContext>, 'context'>;
}

/** The request's headers as Apollo reads them: lower-case names, repeated values joined. */
function headerMap(request: FastifyRequest): HeaderMap {
  const map = new HeaderMap();
  const headers = request.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || value === '') continue;
    map.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}

/** The query string with its `?` ('' when there is none), as `new URL(url).search` gives it. */
function searchOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 || at === url.length - 1 ? '' : url.slice(at);
}

export function registerGraphQLHttp<TContext extends BaseContext>(http: FastifyInstance, apollo: ApolloServer<TContext>, options: GraphQLHttpOptions<TContext>): void {
  apollo.assertStarted('registerGraphQLHttp()');
  const fastPath = options.fastPath && new GraphQLFastPath<TContext>({ ...options.fastPath, context: options.context });
  http.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: options.path,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      // A query that already ran, answered without Apollo when that gives the same answer. (A
      // document with a subscription never reaches Apollo's execution, so it is never known.)
      const handOn = fastPath ? await fastPath.answer(request, reply) : undefined;
      if (typeof handOn === 'string') return handOn;
      // Over HTTP a subscription would run without its event stream: refused before Apollo.
      const params = (request.method === 'GET' ? request.query : request.body) as { query?: unknown } | null | undefined;
      if (isHttpSubscription(params?.query, options.maxTokens)) {
        return reply.status(400).send({ errors: [{ message: SUBSCRIPTION_OVER_HTTP, extensions: { code: 'BAD_REQUEST' } }] });
      }
      const answer = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: request.method.toUpperCase(), headers: headerMap(request), search: searchOf(request.url), body: request.body },
        context: handOn?.context ?? (() => options.context(request)),
      });
      for (const [name, value] of answer.headers) void reply.header(name, value);
      void reply.code(answer.status ?? 200);
      if (fastPath && request.method === 'POST' && (answer.status ?? 200) === 200) fastPath.learnAccept(request.headers.accept, answer.headers.get('content-type'));
      if (answer.body.kind === 'complete') return answer.body.string;
      // Incremental delivery (@defer/@stream); graphql 16 has none, kept for completeness.
      return reply.send(Readable.from(answer.body.asyncIterator));
    },
  });
}
