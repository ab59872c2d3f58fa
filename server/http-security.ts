/**
 * HTTP hygiene for every response: security headers (helmet) and CORS.
 *
 * - Content-Security-Policy for the same-origin Vue console: everything from our own origin,
 *   no external host, no inline script; inline styles are allowed (Vue scoped styles and style
 *   bindings); `connect-src` adds `ws:`/`wss:` for the request's own host, since older browsers
 *   do not count WebSocket URLs of the same host as 'self'; no framing at all.
 * - The GraphQL playground (/playground) needs no exception: GraphiQL, Monaco and Monaco's
 *   workers are bundled files of our origin (workers fall back to script-src 'self'; none is a
 *   blob:), its fonts are data: URLs in its CSS, and it talks to /graphql and ws(s) on this host.
 * - No `upgrade-insecure-requests`: an on-premises install may be served over plain HTTP.
 * - CORS: only the origins in CORS_ORIGINS get `Access-Control-Allow-Origin`; with none
 *   configured no cross-origin read is allowed. Never `*`, never credentials: H-CMP
 *   authenticates with the `Authorization: Bearer` header only (no cookie), so a page on another
 *   origin can neither read our answers nor send requests that carry a user's credentials.
 * - Input no database can store (U+0000) is refused before any handler (input-hygiene.ts).
 *
 * The headers are helmet's, computed by helmet itself, but once per Host value instead of once
 * per request: @fastify/helmet calls `helmet(options)` for every request, which validates and
 * rebuilds every middleware and the whole policy each time (measured in-process: ~90-120 µs of
 * a ~470 µs GraphQL `project(id)`). Only `connect-src` depends on the request (its Host), so the
 * header list is remembered per Host value, for at most {@link MAX_REMEMBERED_HOSTS} values
 * (tests/unit/security-headers.test.ts compares the answers with @fastify/helmet's).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyCors from '@fastify/cors';
import helmetMiddleware from 'helmet';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { registerInputHygiene } from './input-hygiene.js';

/** A Host header we are willing to repeat inside the policy: a name or address and a port. */
const SAFE_HOST = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

function sameHostSocket(scheme: 'ws' | 'wss') {
  return (req: IncomingMessage): string => {
    const host = req.headers.host;
    return typeof host === 'string' && SAFE_HOST.test(host) ? `${scheme}://${host}` : '';
  };
}

export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'", sameHostSocket('ws'), sameHostSocket('wss')],
  objectSrc: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** helmet's options: our policy instead of helmet's default one, no framing at all; every other header at helmet's default. */
export const HELMET_OPTIONS = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  frameguard: { action: 'deny' },
} as const;

type HelmetMiddleware = (req: Pick<IncomingMessage, 'headers'>, res: Pick<ServerResponse, 'setHeader' | 'removeHeader'>, next: (err?: unknown) => void) => void;

const helmet = helmetMiddleware as unknown as (options: typeof HELMET_OPTIONS) => HelmetMiddleware;

/** One header helmet sets (a value) or removes (null), in helmet's order. */
export type HeaderChange = readonly [name: string, value: string | null];

/** Distinct Host values whose headers are remembered; the Host header is the client's choice. */
export const MAX_REMEMBERED_HOSTS = 256;

/**
 * helmet's headers for requests with a given Host header, remembered per Host value. The list
 * is what helmet's own middleware does to a response, recorded once on a stand-in response.
 */
export function securityHeaders(): (host: string | undefined) => readonly HeaderChange[] {
  const middleware = helmet(HELMET_OPTIONS);
  const byHost = new Map<string, readonly HeaderChange[]>();
  return (host) => {
    const key = typeof host === 'string' ? host : '';
    const known = byHost.get(key);
    if (known) return known;
    const changes: HeaderChange[] = [];
    let failure: unknown;
    middleware(
      { headers: typeof host === 'string' ? { host } : {} },
      {
        setHeader(name: string, value: number | string | readonly string[]) {
          changes.push([name, String(value)]);
          return this as ServerResponse;
        },
        removeHeader(name: string) {
          changes.push([name, null]);
        },
      },
      (err) => {
        failure = err;
      },
    );
    if (failure) throw failure;
    if (byHost.size >= MAX_REMEMBERED_HOSTS) byHost.delete(byHost.keys().next().value!);
    byHost.set(key, changes);
    return changes;
  };
}

export async function registerHttpSecurity(http: FastifyInstance, config: Pick<Config, 'corsOrigins'>): Promise<void> {
  const headersFor = securityHeaders();
  // On every response, as early as @fastify/helmet did (onRequest), on the raw response as helmet does.
  http.addHook('onRequest', (request, reply, done) => {
    const res = reply.raw;
    for (const [name, value] of headersFor(request.headers.host)) {
      if (value === null) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    done();
  });
  await http.register(fastifyCors, {
    origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    maxAge: 600,
  });
  registerInputHygiene(http);
}
