/**
 * The parts of the platform's /metrics that need no server: when the endpoint is on (config)
 * and how the scrape token is checked.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config/index.js';
import { bearerMatcher } from '../../server/observability/metrics-route.js';

const PRODUCTION = { NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(40), ENCRYPT_KEY: 'y'.repeat(40), ADMIN_PASSWORD: 'admin-password' };
const TOKEN = 'scrape-0123456789abcdef';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('METRICS_TOKEN', () => {
  it('leaves /metrics open in development and test without a token, and off in production without one', () => {
    expect(loadConfig({}).metrics).toEqual({ enabled: true, token: undefined });
    expect(loadConfig({ NODE_ENV: 'test' }).metrics).toEqual({ enabled: true, token: undefined });
    expect(loadConfig(PRODUCTION).metrics).toEqual({ enabled: false, token: undefined });
    expect(loadConfig({ ...PRODUCTION, METRICS_TOKEN: '' }).metrics).toEqual({ enabled: false, token: undefined });
  });

  it('turns /metrics on with the token in every mode', () => {
    expect(loadConfig({ ...PRODUCTION, METRICS_TOKEN: TOKEN }).metrics).toEqual({ enabled: true, token: TOKEN });
    expect(loadConfig({ METRICS_TOKEN: TOKEN }).metrics).toEqual({ enabled: true, token: TOKEN });
  });

  it('refuses a token that is short or could not be sent as a bearer token', () => {
    for (const bad of ['short-token', 'has a space in it 0123456789', 'quote"0123456789abcdef', 'x'.repeat(513)]) {
      expect(problemsOf({ METRICS_TOKEN: bad }), bad).toEqual(['METRICS_TOKEN must be 16-512 characters of letters, digits and - . _ ~ + / (a bearer token)']);
    }
    expect(problemsOf({ METRICS_TOKEN: 'base64/like+token0123456789==' })).toEqual([]);
  });
});

describe('scrape token check', () => {
  const matches = bearerMatcher(TOKEN);

  it('accepts exactly "Bearer <token>" (scheme in any case)', () => {
    expect(matches(`Bearer ${TOKEN}`)).toBe(true);
    expect(matches(`bearer ${TOKEN}`)).toBe(true);
  });

  it('refuses a missing header, another scheme, another token, a prefix or an extension of it', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN} extra`, TOKEN]) {
      expect(matches(header), String(header)).toBe(false);
    }
  });
});
