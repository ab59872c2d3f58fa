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
 */
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
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

export async function registerHttpSecurity(http: FastifyInstance, config: Pick<Config, 'corsOrigins'>): Promise<void> {
  await http.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    frameguard: { action: 'deny' },
  });
  await http.register(fastifyCors, {
    origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    maxAge: 600,
  });
  registerInputHygiene(http);
}
