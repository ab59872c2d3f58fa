// @vitest-environment happy-dom
/**
 * The preferences menu (language, theme) and the pieces of the GraphQL playground that run
 * without a browser: what it reads from the console's storage, and what its fetcher sends.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import PreferencesMenu from '../../client/src/components/layout/PreferencesMenu.vue';
import { SESSION_STORAGE_KEY } from '../../client/src/graphql/auth-token';
import { i18n, LOCALE_STORAGE_KEY } from '../../client/src/i18n';
import { LOCALE_KEY, SESSION_KEY, storedLocale, storedSession } from '../../client/src/playground/console-state';
import { createPlaygroundFetcher, subscriptionUrl, withSentDocument } from '../../client/src/playground/fetcher';
import { applyTheme, rememberedTheme, THEME_STORAGE_KEY } from '../../client/src/utils/theme';

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

let wrapper: VueWrapper | null = null;

beforeEach(() => {
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.restoreAllMocks();
});

describe('theme preference', () => {
  it('defaults to light and applies a remembered choice to <html>', () => {
    expect(rememberedTheme()).toBe('light');
    localStorage.setItem(THEME_STORAGE_KEY, 'dark');
    expect(rememberedTheme()).toBe('dark');
    localStorage.setItem(THEME_STORAGE_KEY, 'purple');
    expect(rememberedTheme()).toBe('light');
    applyTheme('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
  });
});

describe('PreferencesMenu', () => {
  async function openMenu(): Promise<VueWrapper> {
    wrapper = mount(PreferencesMenu, { global: { plugins: [i18n] }, attachTo: document.body });
    await wrapper.get('[data-testid="preferences-open"]').trigger('click');
    await flushPromises();
    return wrapper;
  }

  it('opens on click, switches the theme and remembers it', async () => {
    const w = await openMenu();
    expect(w.get('[data-testid="preferences-open"]').attributes('aria-expanded')).toBe('true');
    expect(w.get('[data-testid="theme-light"]').attributes('aria-pressed')).toBe('true');
    await w.get('[data-testid="theme-dark"]').trigger('click');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('dark');
    expect(w.get('[data-testid="theme-dark"]').attributes('aria-pressed')).toBe('true');
    await w.get('[data-testid="theme-light"]').trigger('click');
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('light');
  });

  it('switches the language with the console’s locale logic', async () => {
    const w = await openMenu();
    await w.get('[data-testid="preferences-locale-en"]').trigger('click');
    // English is loaded on first use.
    await vi.waitFor(() => expect(i18n.global.locale.value).toBe('en'));
    await flushPromises();
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('en');
    expect(document.documentElement.lang).toBe('en');
    expect(w.get('[role="dialog"]').attributes('aria-label')).toBe('Preferences');
    await w.get('[data-testid="preferences-locale-ko"]').trigger('click');
    await flushPromises();
    expect(i18n.global.locale.value).toBe('ko');
  });

  it('closes with Escape and on a click outside', async () => {
    const w = await openMenu();
    await w.get('[data-testid="preferences"]').trigger('keydown', { key: 'Escape' });
    expect(w.find('[data-testid="preferences"]').exists()).toBe(false);
    await w.get('[data-testid="preferences-open"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid="preferences"]').exists()).toBe(true);
    document.body.dispatchEvent(new Event('pointerdown', { bubbles: true }));
    await flushPromises();
    expect(w.find('[data-testid="preferences"]').exists()).toBe(false);
  });
});

describe('playground: what it takes from the console', () => {
  it('reads the same storage keys as the console', () => {
    expect(SESSION_KEY).toBe(SESSION_STORAGE_KEY);
    expect(LOCALE_KEY).toBe(LOCALE_STORAGE_KEY);
  });

  it('uses a stored session only while it has not expired', () => {
    expect(storedSession()).toBeNull();
    localStorage.setItem(SESSION_KEY, JSON.stringify({ token: 'tok', username: 'kim', expiresAt: Date.now() + 60_000 }));
    expect(storedSession()).toMatchObject({ token: 'tok', username: 'kim' });
    localStorage.setItem(SESSION_KEY, JSON.stringify({ token: 'tok', username: 'kim', expiresAt: Date.now() - 1 }));
    expect(storedSession()).toBeNull();
    localStorage.setItem(SESSION_KEY, '{not json');
    expect(storedSession()).toBeNull();
  });

  it('follows the console language', () => {
    expect(storedLocale()).toBe('ko');
    localStorage.setItem(LOCALE_KEY, 'en');
    expect(storedLocale()).toBe('en');
  });
});

describe('playground fetcher', () => {
  it('posts to /graphql with the token as a bearer header, unless the headers editor sets one', async () => {
    const fetchMock = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => json({ data: { me: { username: 'kim' } } }));
    vi.spyOn(window, 'fetch').mockImplementation(fetchMock);
    let token: string | null = 'tok-1';
    const fetcher = createPlaygroundFetcher({ getToken: () => token, location: { protocol: 'http:', host: 'portal:8000' } });

    expect(await fetcher({ query: '{ me { username } }' }, {})).toEqual({ data: { me: { username: 'kim' } } });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/graphql');
    const headers = new Headers(init?.headers);
    expect(headers.get('authorization')).toBe('Bearer tok-1');
    expect(headers.get('content-type')).toBe('application/json');

    await fetcher({ query: '{ me { username } }' }, { headers: { Authorization: 'Bearer typed-by-hand' } });
    expect(new Headers(fetchMock.mock.calls[1][1]?.headers).get('authorization')).toBe('Bearer typed-by-hand');

    token = null;
    await fetcher({ query: '{ publicSettings { siteName } }' }, {});
    expect(new Headers(fetchMock.mock.calls[2][1]?.headers).has('authorization')).toBe(false);
  });

  it('subscribes on the same host over ws: or wss:', () => {
    expect(subscriptionUrl({ protocol: 'http:', host: 'portal:8000' })).toBe('ws://portal:8000/graphql');
    expect(subscriptionUrl({ protocol: 'https:', host: 'cmp.example.test' })).toBe('wss://cmp.example.test/graphql');
  });

  it('decides from the text sent, not from what GraphiQL parsed before the last keystrokes', () => {
    const [params, opts] = withSentDocument({ query: 'subscription { provisionStatus(projectId: 1) { seq } }', operationName: 'Me' }, {});
    expect(params.operationName).toBeUndefined();
    expect(opts.documentAST?.definitions[0]).toMatchObject({ kind: 'OperationDefinition', operation: 'subscription' });

    const two = 'query A { me { username } } query B { me { role } }';
    expect(withSentDocument({ query: two, operationName: 'B' })[0].operationName).toBe('B');
    expect(withSentDocument({ query: 'query Me { me { username } }', operationName: null })[0].operationName).toBe('Me');

    const [broken, brokenOpts] = withSentDocument({ query: '{ me {', operationName: 'X' }, { headers: { a: '1' } });
    expect(broken).toEqual({ query: '{ me {', operationName: 'X' });
    expect(brokenOpts).toEqual({ headers: { a: '1' } });
  });
});

