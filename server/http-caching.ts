/**
 * What a server put straight on an intranet must do itself, without a proxy in front:
 *
 * - Compression: answers of 1 KiB or more go out compressed when the client accepts it (brotli,
 *   else gzip), at moderate levels so an answer costs little CPU: compressed in one call (sync up
 *   to 128 KiB, ~40 µs for the 8 KiB history page; on the thread pool beyond). @fastify/compress
 *   did the same through a stream per answer and cost the history page more than half its
 *   throughput (benchmark 1). The console's files are compressed once at build time
 *   (scripts/precompress.mjs writes `.br` and `.gz` beside each) and served as such.
 * - Caching of the console: files under `assets/` carry a content hash in their name, so they are
 *   `public, max-age=31536000, immutable`; anything else (index.html, the playground page) is
 *   `no-cache`, so a new release is seen at the next load.
 * - Conditional GETs: the history, my-resources and the public settings answer with an ETag (a
 *   hash of the answer) and `304 Not Modified` to a matching `If-None-Match`. Answers that depend
 *   on the caller are `Cache-Control: private` with `Vary: Authorization`, so no shared cache
 *   hands one user's answer to another; the public settings are `no-cache` (always revalidated).
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Below this many bytes an answer is sent as it is (compression would cost more than it saves). */
export const COMPRESS_THRESHOLD = 1024;
/** Up to this size an answer is compressed in one synchronous call; larger ones on the thread pool. */
const SYNC_LIMIT = 128 * 1024;
/** Types worth compressing (JSON, text, JavaScript, SVG). */
const COMPRESSIBLE = /^(application\/(json|javascript|graphql-response\+json)|text\/|image\/svg\+xml)/;

type Encoding = 'br' | 'gzip';

/** The encoding to answer with: brotli, else gzip, when the client takes it (q > 0); else none. */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding | null {
  if (!acceptEncoding) return null;
  let br = false;
  let gz = false;
  let any = false;
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    if (q && Number(q[1]) === 0) continue;
    if (name === 'br') br = true;
    else if (name === 'gzip' || name === 'x-gzip') gz = true;
    else if (name === '*') any = true;
  }
  return br || any ? 'br' : gz ? 'gzip' : null;
}

const brotliOptions = (size: number) => ({
  params: {
    // Quality 4 compresses JSON about as well as the default 11 at a small fraction of the CPU.
    [constants.BROTLI_PARAM_QUALITY]: 4,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    [constants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});
const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

function compressSync(data: string | Buffer, encoding: Encoding): Buffer {
  const size = Buffer.byteLength(data);
  return encoding === 'br' ? brotliCompressSync(data, brotliOptions(size)) : gzipSync(data, { level: 5 });
}

function compressAsync(data: string | Buffer, encoding: Encoding): Promise<Buffer> {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data;
  return encoding === 'br' ? brotliAsync(buffer, brotliOptions(buffer.length)) : gzipAsync(buffer, { level: 5 });
}

/** Answers made per request (strings and buffers; files are served precompressed) go out compressed. */
export function registerCompression(http: FastifyInstance): void {
  http.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void) => {
    if ((typeof payload !== 'string' && !Buffer.isBuffer(payload)) || reply.hasHeader('content-encoding')) {
      done(null, payload);
      return;
    }
    const size = typeof payload === 'string' ? payload.length : payload.length;
    if (size < COMPRESS_THRESHOLD || request.method === 'HEAD' || !COMPRESSIBLE.test(String(reply.getHeader('content-type') ?? ''))) {
      done(null, payload);
      return;
    }
    // Whoever caches the answer must keep one per encoding.
    const vary = reply.getHeader('vary');
    void reply.header('vary', vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding');
    const encoding = negotiateEncoding(request.headers['accept-encoding']);
    if (!encoding) {
      done(null, payload);
      return;
    }
    const send = (packed: Buffer) => {
      void reply.header('content-encoding', encoding);
      reply.removeHeader('content-length');
      done(null, packed);
    };
    if (size <= SYNC_LIMIT) {
      send(compressSync(payload, encoding));
      return;
    }
    compressAsync(payload, encoding).then(send, (err: Error) => done(err));
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
