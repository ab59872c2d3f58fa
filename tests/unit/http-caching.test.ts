/**
 * The small decisions of http-caching.ts: which encoding a client gets, whether an
 * If-None-Match names the answer, and how the console's files are cached.
 */
import { describe, expect, it } from 'vitest';
import { etagOf, matchesEtag, negotiateEncoding, staticCacheControl } from '../../server/http-caching.js';

describe('content negotiation and validators', () => {
  it('prefers brotli, then gzip, honours q=0 and *, and sends plain otherwise', () => {
    expect(negotiateEncoding('gzip, deflate, br')).toBe('br');
    expect(negotiateEncoding('gzip')).toBe('gzip');
    expect(negotiateEncoding('br;q=0, gzip;q=0.8')).toBe('gzip');
    expect(negotiateEncoding('*')).toBe('br');
    expect(negotiateEncoding('identity')).toBeNull();
    expect(negotiateEncoding('gzip;q=0')).toBeNull();
    expect(negotiateEncoding(undefined)).toBeNull();
    expect(negotiateEncoding('')).toBeNull();
  });

  it('matches an ETag weakly, among several and with *', () => {
    const etag = etagOf('{"a":1}');
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(etagOf('{"a":1}')).toBe(etag);
    expect(etagOf('{"a":2}')).not.toBe(etag);
    expect(matchesEtag(etag, etag)).toBe(true);
    expect(matchesEtag(etag.slice(2), etag)).toBe(true);
    expect(matchesEtag(`W/"other", ${etag}`, etag)).toBe(true);
    expect(matchesEtag('*', etag)).toBe(true);
    expect(matchesEtag('W/"other"', etag)).toBe(false);
    expect(matchesEtag(undefined, etag)).toBe(false);
  });

  it('caches hashed assets for a year and revalidates every other file', () => {
    expect(staticCacheControl('/srv/dist/client/assets/main-D2lSB1bm.js')).toBe('public, max-age=31536000, immutable');
    expect(staticCacheControl('/srv/dist/client/index.html')).toBe('no-cache');
    expect(staticCacheControl('/srv/dist/client/playground.html')).toBe('no-cache');
  });
});
