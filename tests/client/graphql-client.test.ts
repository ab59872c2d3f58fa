/** The console's fetch-based GraphQL client: what it sends, and errors by `extensions.code`. */
import { describe, expect, it, vi } from 'vitest';
import { ApiError, createGraphQLClient } from '../../client/src/graphql/client';
import { LoginDocument, MeDocument } from '../../client/src/graphql/generated/operations';

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function clientWith(answer: () => Promise<Response> | Response, token: string | null = 'tok-1') {
  const fetch = vi.fn(async () => answer());
  const onUnauthenticated = vi.fn();
  const client = createGraphQLClient({ getToken: () => token, onUnauthenticated, fetch: fetch as unknown as typeof globalThis.fetch });
  return { client, fetch, onUnauthenticated };
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('createGraphQLClient', () => {
  it('posts the document and variables with the bearer token, and returns data', async () => {
    const { client, fetch } = clientWith(() => json({ data: { me: { username: 'kim' } } }));
    const data = await client.request(MeDocument, {});
    expect(data.me.username).toBe('kim');
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/graphql');
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer tok-1');
    expect(JSON.parse(init.body as string)).toEqual({ query: MeDocument.toString(), variables: {} });
  });

  it('sends no token for public operations', async () => {
    const { client, fetch } = clientWith(() => json({ data: { login: {} } }));
    await client.request(LoginDocument, { username: 'a', password: 'b' }, { auth: false });
    const init = (fetch.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect((init.headers as Record<string, string>).authorization).toBeUndefined();
  });

  it('maps errors by extensions.code, with issues and retryAfter, whatever the message says', async () => {
    const issues = [{ loc: ['body', 'username'], msg: 'bad', type: 'value_error' }];
    let err = await failure(clientWith(() => json({ errors: [{ message: 'Not authenticated', extensions: { code: 'BAD_USER_INPUT', issues } }] })).client.request(MeDocument, {}));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.issues).toEqual(issues);
    err = await failure(clientWith(() => json({ errors: [{ message: 'x', extensions: { code: 'TOO_MANY_REQUESTS', retryAfter: 42 } }] })).client.request(MeDocument, {}));
    expect([err.code, err.retryAfter]).toEqual(['TOO_MANY_REQUESTS', 42]);
    err = await failure(clientWith(() => json({ errors: [{ message: 'x', extensions: { code: 'QUERY_TOO_DEEP' } }] }, 400)).client.request(MeDocument, {}));
    expect([err.code, err.serverCode]).toEqual(['UNKNOWN', 'QUERY_TOO_DEEP']);
  });

  it('reports a rejected token once, only for requests that carried one', async () => {
    const rejected = () => json({ errors: [{ message: 'Invalid or expired token', extensions: { code: 'UNAUTHENTICATED' } }] }, 401);
    const withToken = clientWith(rejected);
    expect((await failure(withToken.client.request(MeDocument, {}))).code).toBe('UNAUTHENTICATED');
    expect(withToken.onUnauthenticated).toHaveBeenCalledTimes(1);
    expect(withToken.onUnauthenticated.mock.calls[0][1]).toBe('tok-1');

    const login = clientWith(rejected);
    await failure(login.client.request(LoginDocument, { username: 'a', password: 'b' }, { auth: false }));
    expect(login.onUnauthenticated).not.toHaveBeenCalled();
  });

  it('turns a failed fetch or a non-GraphQL answer into NETWORK_ERROR / status codes', async () => {
    expect((await failure(clientWith(() => Promise.reject(new TypeError('Failed to fetch'))).client.request(MeDocument, {}))).code).toBe('NETWORK_ERROR');
    expect((await failure(clientWith(() => new Response('<html>', { status: 502 })).client.request(MeDocument, {}))).code).toBe('INTERNAL_SERVER_ERROR');
    expect((await failure(clientWith(() => new Response('', { status: 401 })).client.request(MeDocument, {}))).code).toBe('UNAUTHENTICATED');
  });
});
