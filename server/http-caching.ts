/**
 * What a server put straight on an intranet must do itself, without a proxy in front:
 *
 * - Compression: answers of 1 KiB or more go out compressed when the client accepts it (brotli,
 *   else gzip; @fastify/compress), at moderate levels so an answer costs little CPU. The console's
 *   files are compressed once at build time (scripts/precompress.mjs writes `.br` and `.gz` beside
 *   each) and served as such.
 * - Caching of the console: files under `assets/` carry a content hash in their name, so they are
 *   `public, max-age=31536000, immutable`; anything else (index.html, the playground page) is
 *   `no-cache`, so a new release is seen at the next load.
 * - Conditional GETs: the history, my-resources and the public settings answer with an ETag (a
 *   hash of the answer) and `304 Not Modified` to a matching `If-None-Match`. Answers that depend
 *   on the caller are `Cache-Control: private` with `Vary: Authorization`, so no shared cache
 *   hands one user's answer to another; the public settings are `no-cache` (always revalidated).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:zlib';
import fastifyCompress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Below this many bytes an answer is sent as it is (compression would cost more than it saves). */
export const COMPRESS_THRESHOLD = 1024;

export async function registerCompression(http: FastifyInstance): Promise<void> {
  await http.register(fastifyCompress, {
    global: true,
    threshold: COMPRESS_THRESHOLD,
    encodings: ['br', 'gzip'],
    // Levels for answers made per request: brotli 4 and gzip 5 compress JSON about as well as
    // their defaults (11 and 6) at a fraction of the CPU (docs/BENCHMARKS.md, benchmark 1).
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } },
    zlibOptions: { level: 5 },
  });
}

/** Cache-Control for a file of the console's build, by its path. */
export function staticCacheControl(path: string): string {
  return /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** Routes whose GET answers get an ETag; `private`: the answer depends on the caller. */
const CONDITIONAL: Record<string, { private: boolean }> = {
  '/api/history': { private: true },
  '/api/api/history': { private: true },
  '/api/projects': { private: true },
  '/api/monitoring/my-resources': { private: true },
  '/api/public/settings': { private: false },
};

/** A weak validator of the answer's bytes (weak: compression may change the bytes on the wire). */
export function etagOf(payload: string | Buffer): string {
  return `W/"${createHash('sha1').update(payload).digest('base64url')}"`;
}

/** Whether an If-None-Match header names `etag` (weak comparison, `*` included). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => {
    const c = candidate.trim();
    return c === '*' || c.replace(/^W\//, '') === bare;
  });
}

export function registerConditionalGets(http: FastifyInstance): void {
  http.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    const rule = request.method === 'GET' ? CONDITIONAL[request.routeOptions.url ?? ''] : undefined;
    if (!rule || reply.statusCode !== 200 || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      done(null, payload);
      return;
    }
    const etag = etagOf(payload);
    void reply.header('etag', etag);
    if (rule.private) {
      void reply.header('cache-control', 'private, no-cache');
      void reply.header('vary', 'Authorization');
    } else {
      void reply.header('cache-control', 'no-cache');
    }
    if (matchesEtag(request.headers['if-none-match'], etag)) {
      void reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      done(null, '');
      return;
    }
    done(null, payload);
  });
}
