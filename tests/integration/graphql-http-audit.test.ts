/**
 * The GraphQL-over-HTTP conformance audit of the graphql-http package against our /graphql:
 * no audit may end in `error` (a MUST the server breaks). `warn` results are SHOULD/MAY
 * recommendations; they are listed here and pinned, so a new one shows up as a failure.
 */
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Recommendations we knowingly do not follow (SHOULDs, so `warn`): for a client that accepts
 * only `application/json`, the spec suggests 200 on a document that does not parse (572B), does
 * not validate (FDE2) or whose variables do not coerce (7B9B). Apollo Server answers 400 to every
 * client, and the console and the REST-era clients rely on that status.
 */
const ACCEPTED_WARNINGS = new Set<string>(['572B', 'FDE2', '7B9B']);

for (const backend of await backendsFor('graphql-http audit')) {
  describe(`graphql-http server audits (${backend})`, () => {
    let server: TestServer;
    const results: AuditResult[] = [];

    beforeAll(async () => {
      server = await startTestServer({ backend });
    });
    afterAll(async () => {
      const warnings = results.filter((r) => r.status === 'warn');
      if (warnings.length) {
        console.info(`graphql-http audit warnings (${backend}):\n${warnings.map((w) => `  [${w.id}] ${w.name}: ${'reason' in w ? w.reason : ''}`).join('\n')}`);
      }
      await server?.close();
    });

    const audits = serverAudits({ url: () => `${server.url}/graphql`, fetchFn: fetch });

    it('has the audits to run', () => {
      expect(audits.length).toBeGreaterThan(30);
    });

    for (const audit of audits) {
      it(`${audit.id} ${audit.name}`, async () => {
        const result = await audit.fn();
        results.push(result);
        const detail = result.status === 'ok' ? '' : `${result.reason}\n${JSON.stringify(await describeResponse(result), null, 2)}`;
        expect(result.status, detail).not.toBe('error');
        if (result.status === 'warn') expect(ACCEPTED_WARNINGS.has(result.id), `new warning: ${detail}`).toBe(true);
      });
    }
  });
}

async function describeResponse(result: AuditResult): Promise<unknown> {
  if (result.status === 'ok') return undefined;
  const res = result.response;
  let body = '';
  try {
    body = await res.clone().text();
  } catch {
    body = '(body already read)';
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), body: body.slice(0, 500) };
}
