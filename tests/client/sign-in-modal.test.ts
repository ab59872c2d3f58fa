// @vitest-environment happy-dom
/** SignInModal in a DOM: Enter submits, errors are shown by code, Escape closes, focus stays inside. */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import SignInModal from '../../client/src/components/auth/SignInModal.vue';
import { SESSION_STORAGE_KEY } from '../../client/src/graphql/auth-token';
import ko from '../../client/src/i18n/ko';

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const graphQLError = (code: string, message: string, extra: Record<string, unknown> = {}) => json({ errors: [{ message, extensions: { code, ...extra } }], data: null });

const LOGIN_OK = {
  data: {
    login: {
      accessToken: 'token-123',
      expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
      user: { id: 1, username: 'admin', fullName: null, role: 'admin', status: 'approved' },
    },
  },
};

const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
let wrapper: VueWrapper | null = null;

function mountModal(props: Record<string, unknown> = {}) {
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(SignInModal, { props, global: { plugins: [i18n] }, attachTo: document.body });
  return wrapper;
}

async function fill(w: VueWrapper, username: string, password: string) {
  await w.get('[data-testid="sign-in-username"]').setValue(username);
  await w.get('[data-testid="sign-in-password"]').setValue(password);
}

function sentVariables(call = 0): Record<string, unknown> {
  return JSON.parse(String(fetchMock.mock.calls[call][1]?.body)).variables;
}

beforeEach(() => {
  fetchMock.mockReset();
  vi.stubGlobal('fetch', fetchMock);
  localStorage.clear();
});

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.unstubAllGlobals();
});

describe('SignInModal', () => {
  it('signs in when Enter is pressed in the password field, and keeps the session', async () => {
    fetchMock.mockResolvedValueOnce(json(LOGIN_OK));
    const w = mountModal();
    await fill(w, 'admin', 'admin-test-password');
    await w.get('[data-testid="sign-in-password"]').trigger('keydown', { key: 'Enter' });
    await flushPromises();

    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(sentVariables()).toEqual({ username: 'admin', password: 'admin-test-password' });
    expect(w.emitted('success')?.[0]?.[0]).toMatchObject({ username: 'admin', role: 'admin' });
    expect(JSON.parse(localStorage.getItem(SESSION_STORAGE_KEY) ?? '{}')).toMatchObject({ token: 'token-123', username: 'admin' });
  });

  it('submits on Enter in the Account ID field too', async () => {
    fetchMock.mockResolvedValueOnce(json(LOGIN_OK));
    const w = mountModal();
    await fill(w, 'admin', 'pw-12345678');
    await w.get('[data-testid="sign-in-username"]').trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('asks for both fields before calling the server', async () => {
    const w = mountModal();
    await w.get('[data-testid="sign-in-username"]').setValue('admin');
    await w.get('[data-testid="sign-in-password"]').trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(fetchMock).not.toHaveBeenCalled();
    expect(w.get('[data-testid="sign-in-error"]').text()).toBe(ko.signIn.required);
  });

  it.each([
    ['UNAUTHENTICATED', {}, ko.signIn.errors.badCredentials],
    ['FORBIDDEN', {}, ko.signIn.errors.notApproved],
    ['TOO_MANY_REQUESTS', { retryAfter: 90 }, '로그인 실패가 너무 많습니다. 1분 30초 후에 다시 시도하세요.'],
    ['INTERNAL_SERVER_ERROR', {}, ko.errors.INTERNAL_SERVER_ERROR],
  ])('shows %s by its code, not by the server message', async (code, extra, expected) => {
    fetchMock.mockResolvedValueOnce(graphQLError(code, 'server wording that must not be shown', extra));
    const w = mountModal();
    await fill(w, 'someone', 'wrong-password');
    await w.get('form').trigger('submit');
    await flushPromises();

    const error = w.get('[data-testid="sign-in-error"]');
    expect(error.text()).toBe(expected);
    expect(error.attributes('role')).toBe('alert');
    expect(w.emitted('success')).toBeUndefined();
    expect(localStorage.getItem(SESSION_STORAGE_KEY)).toBeNull();
    // The password is cleared for the next try; the inputs point at the error.
    expect((w.get('[data-testid="sign-in-password"]').element as HTMLInputElement).value).toBe('');
    expect(w.get('[data-testid="sign-in-password"]').attributes('aria-describedby')).toBe(error.attributes('id'));
  });

  it('says when the server cannot be reached', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    const w = mountModal();
    await fill(w, 'admin', 'x-password');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid="sign-in-error"]').text()).toBe(ko.errors.NETWORK_ERROR);
  });

  it('closes on Escape and from the close button', async () => {
    const w = mountModal();
    await w.get('[role="dialog"]').trigger('keydown', { key: 'Escape' });
    expect(w.emitted('close')).toHaveLength(1);
    await w.get('[data-testid="sign-in-close"]').trigger('click');
    expect(w.emitted('close')).toHaveLength(2);
  });

  it('labels its inputs and, prefilled for an extension, puts the focus on the password', async () => {
    const w = mountModal({ initialUsername: 'kim', extend: true });
    await flushPromises();
    const username = w.get('[data-testid="sign-in-username"]');
    expect((username.element as HTMLInputElement).value).toBe('kim');
    expect(w.get(`label[for="${username.attributes('id')}"]`).text()).toBe(ko.signIn.accountId);
    const password = w.get('[data-testid="sign-in-password"]');
    expect(w.get(`label[for="${password.attributes('id')}"]`).text()).toBe(ko.signIn.password);
    expect(document.activeElement).toBe(password.element);
    expect(w.text()).toContain(ko.signIn.extendHint);
    expect(w.get('[role="dialog"]').attributes('aria-modal')).toBe('true');
  });

  it('keeps Tab inside the dialog', async () => {
    const w = mountModal();
    await flushPromises();
    const submit = w.get('[data-testid="sign-in-submit"]').element as HTMLElement;
    const close = w.get('[data-testid="sign-in-close"]').element as HTMLElement;
    submit.focus();
    await w.get('[role="dialog"]').trigger('keydown', { key: 'Tab' });
    expect(document.activeElement).toBe(close);
    await w.get('[role="dialog"]').trigger('keydown', { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(submit);
  });
});
