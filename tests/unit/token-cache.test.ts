/**
 * A verified token is remembered by its exact text, but its expiry is still checked on every
 * use, and a token that differs by one character is verified from scratch.
 */
import { SignJWT } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { TokenService } from '../../server/services/tokens.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256-0123456789';

describe('token verification cache', () => {
  it('accepts a remembered token only until it expires', async () => {
    const tokens = new TokenService(SECRET, 30);
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await new SignJWT({ role: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setJti('j-1')
      .setIssuer('h-cmp')
      .setAudience('h-cmp-console')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(SECRET));
    expect((await tokens.verify(token)).username).toBe('ann');
    expect((await tokens.verify(token)).username).toBe('ann');
    vi.useFakeTimers({ now: exp * 1000 + 1, toFake: ['Date'] });
    try {
      await expect(tokens.verify(token)).rejects.toThrow('Invalid or expired token');
    } finally {
      vi.useRealTimers();
    }
  });

  it('verifies an altered token from scratch', async () => {
    const tokens = new TokenService(SECRET, 30);
    const { token } = await tokens.issue({ username: 'bob', role: 'user' });
    expect((await tokens.verify(token)).username).toBe('bob');
    const [h, p, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' })).toString('base64url');
    await expect(tokens.verify(`${h}.${forged}.${sig}`)).rejects.toThrow('Invalid or expired token');
    await expect(tokens.verify(`${token.slice(0, -2)}AA`)).rejects.toThrow('Invalid or expired token');
  });
});
