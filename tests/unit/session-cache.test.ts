/**
 * The token state SessionService remembers (not logged out, account approved, its role): used
 * instead of a database read for ACCOUNT_STATE_TTL_MS, and never when it could be stale — a
 * logout or an account change forgets it at once, nothing is remembered without a live feed,
 * and a lookup that was under way when something was forgotten is not remembered.
 * (Across instances: tests/integration/shared-account-state.test.ts.)
 */
import type { EntityManager } from '@mikro-orm/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACCOUNT_STATE_TTL_MS, SessionService, type AccountFeed } from '../../server/services/sessions.js';
import { TokenService } from '../../server/services/tokens.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256-0123456789';

interface Account {
  role: 'admin' | 'user';
  status: string;
}

/** A stand-in database: accounts and revoked token ids; counts the state reads; a read can be held open. */
function fakeDatabase() {
  const accounts = new Map<string, Account>();
  const revoked = new Set<string>();
  let reads = 0;
  let hold: Promise<void> | null = null;
  const em = {
    getConnection: () => ({
      execute: async (_sql: string, [jti, username]: [string, string]) => {
        reads += 1;
        // What the database holds when the query runs...
        const answer = { revoked: revoked.has(jti) ? 1 : 0, role: accounts.get(username)?.role ?? null, status: accounts.get(username)?.status ?? null };
        // ...reaches the caller only later when a test holds it.
        if (hold) await hold;
        return [answer];
      },
    }),
    upsert: async (_entity: unknown, row: { jti: string }) => {
      revoked.add(row.jti);
    },
    nativeDelete: async () => 0,
  };
  return {
    accounts,
    revoked,
    reads: () => reads,
    fork: () => em as unknown as EntityManager,
    /** The next reads answer only when the returned function is called. */
    holdReads(): () => void {
      let release!: () => void;
      hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        hold = null;
        release();
      };
    },
  };
}

function setup(feed: Partial<AccountFeed> | null = {}) {
  const db = fakeDatabase();
  const tokens = new TokenService(SECRET, 30);
  const sessions = new SessionService(tokens, db.fork);
  const announced: string[] = [];
  let live = true;
  if (feed) {
    sessions.useAccountFeed({
      announce: feed.announce ?? (async (username) => void announced.push(username)),
      live: feed.live ?? (() => live),
    });
  }
  const login = async (username: string, role: Account['role'] = 'user') => {
    db.accounts.set(username, { role, status: 'approved' });
    return (await tokens.issue({ username, role })).token;
  };
  return { db, sessions, announced, login, setLive: (value: boolean) => (live = value) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('remembered token state', () => {
  it('reads the state once, then answers from memory until the TTL has passed', async () => {
    const { db, sessions, login } = setup();
    const token = await login('ann');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    expect((await sessions.authenticate(token)).role).toBe('user');
    expect((await sessions.authenticate(token, '10.0.0.1')).ip).toBe('10.0.0.1');
    expect(db.reads()).toBe(1);
    vi.setSystemTime(Date.now() + ACCOUNT_STATE_TTL_MS + 1);
    await sessions.authenticate(token);
    expect(db.reads()).toBe(2);
  });

  it('remembers nothing without an account feed (another instance could change the account unseen)', async () => {
    const { db, sessions, login } = setup(null);
    const token = await login('ann');
    await sessions.authenticate(token);
    await sessions.authenticate(token);
    expect(db.reads()).toBe(2);
  });

  it('remembers nothing while the feed is not live, and does not use what it remembered before', async () => {
    const { db, sessions, login, setLive } = setup();
    const token = await login('ann');
    await sessions.authenticate(token);
    setLive(false);
    db.accounts.set('ann', { role: 'user', status: 'disabled' });
    await expect(sessions.authenticate(token)).rejects.toThrow('Account is not active');
    db.accounts.set('ann', { role: 'user', status: 'approved' });
    await sessions.authenticate(token);
    await sessions.authenticate(token);
    expect(db.reads()).toBe(4);
  });

  it('never remembers a refusal', async () => {
    const { db, sessions, login } = setup();
    const token = await login('ann');
    db.accounts.set('ann', { role: 'user', status: 'pending' });
    await expect(sessions.authenticate(token)).rejects.toThrow('Account is not active');
    db.accounts.set('ann', { role: 'user', status: 'approved' });
    expect((await sessions.authenticate(token)).username).toBe('ann');
    expect(db.reads()).toBe(2);
  });

  it('refuses a logged-out token at once, even when the announcement fails', async () => {
    const { db, sessions, login } = setup();
    const token = await login('ann');
    const caller = await sessions.authenticate(token);
    sessions.useBroadcast(async () => {
      throw new Error('feed down');
    });
    await sessions.logout(caller);
    await expect(sessions.authenticate(token)).rejects.toThrow('revoked');
    expect(db.reads()).toBe(2);
  });

  it('forgets a token logged out on another instance (revoked) and an account changed anywhere (accountChanged)', async () => {
    const { db, sessions, login } = setup();
    const ann = await login('ann');
    const bob = await login('bob');
    await sessions.authenticate(ann);
    await sessions.authenticate(bob);
    const annClaims = await sessions.authenticate(ann);

    db.revoked.add(annClaims.jti);
    sessions.revoked(annClaims.jti);
    await expect(sessions.authenticate(ann)).rejects.toThrow('revoked');

    db.accounts.set('bob', { role: 'admin', status: 'approved' });
    await sessions.authenticate(bob); // still remembered: nobody said bob changed
    sessions.accountChanged('bob');
    expect((await sessions.authenticate(bob)).role).toBe('admin');

    db.accounts.set('bob', { role: 'admin', status: 'disabled' });
    sessions.accountChanged(null); // the feed may have missed messages: everything goes
    await expect(sessions.authenticate(bob)).rejects.toThrow('Account is not active');
  });

  it('announceAccountChange forgets here before it announces, and survives a failed announcement', async () => {
    let seenBeforeAnnounce: number | undefined;
    const { db, sessions, login } = setup({
      announce: async () => {
        seenBeforeAnnounce = db.reads();
        await sessions.authenticate(token).catch(() => undefined);
        throw new Error('feed down');
      },
    });
    const token = await login('ann');
    await sessions.authenticate(token);
    db.accounts.set('ann', { role: 'user', status: 'disabled' });
    await sessions.announceAccountChange('ann');
    expect(seenBeforeAnnounce).toBe(1);
    expect(db.reads()).toBe(2); // the lookup inside announce already read again
    await expect(sessions.authenticate(token)).rejects.toThrow('Account is not active');
  });

  it('does not remember a lookup that was under way when the account changed or the token was logged out', async () => {
    const { db, sessions, login } = setup();
    const token = await login('ann');

    // The read runs before the change is stored, its answer arrives after the change was announced.
    let release = db.holdReads();
    const inFlight = sessions.authenticate(token);
    await vi.waitFor(() => expect(db.reads()).toBe(1));
    db.accounts.set('ann', { role: 'user', status: 'disabled' });
    sessions.accountChanged('ann');
    release();
    expect((await inFlight).username).toBe('ann'); // answered with what it read, as without any memory
    await expect(sessions.authenticate(token)).rejects.toThrow('Account is not active');

    db.accounts.set('ann', { role: 'user', status: 'approved' });
    release = db.holdReads();
    const again = sessions.authenticate(token);
    await vi.waitFor(() => expect(db.reads()).toBe(3));
    const claims = await new TokenService(SECRET, 30).verify(token);
    db.revoked.add(claims.jti);
    sessions.revoked(claims.jti);
    release();
    await again;
    await expect(sessions.authenticate(token)).rejects.toThrow('revoked');
  });
});
