// @vitest-environment happy-dom
/**
 * Forms as a screen reader meets them: every field has a name, and an error is tied to its
 * field (aria-invalid and aria-describedby pointing at the error's text) — the sign-up form,
 * the sign-in dialog and the quota dialog. The admin dialogs and the designer are checked in
 * their own suites with the same helpers.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import QuotaDialog from '../../client/src/components/admin/QuotaDialog.vue';
import SignInModal from '../../client/src/components/auth/SignInModal.vue';
import SignupForm from '../../client/src/components/auth/SignupForm.vue';
import en from '../../client/src/i18n/en';
import ko from '../../client/src/i18n/ko';
import { accessibleName, describedText, expectErrorTied, expectFieldsLabelled } from '../helpers/a11y-dom';

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
let wrapper: VueWrapper | null = null;

function mountWith(component: unknown, props: Record<string, unknown> = {}, locale: 'ko' | 'en' = 'ko') {
  const i18n = createI18n({ legacy: false, locale, messages: { ko, en } });
  wrapper = mount(component as never, { props, global: { plugins: [i18n] }, attachTo: document.body });
  return wrapper;
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

describe('the sign-up form', () => {
  it('names every field and ties each rule it breaks to its field', async () => {
    const w = mountWith(SignupForm, {}, 'en');
    expect(expectFieldsLabelled(w.element)).toBe(3);
    expect(accessibleName(w.get('[data-testid="signup-username"]').element)).toBe(en.signup.username);
    // Before any error the hint describes the field, and nothing is invalid.
    expect(describedText(w.get('[data-testid="signup-password"]').element)).toBe(en.signup.passwordHint);
    expect(w.get('[data-testid="signup-password"]').attributes('aria-invalid')).toBe('false');

    await w.get('[data-testid="signup-username"]').setValue('not a name!');
    await w.get('[data-testid="signup-password"]').setValue('short');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(fetchMock).not.toHaveBeenCalled();
    expectErrorTied(w.get('[data-testid="signup-username"]').element, en.signup.errors.usernameRule);
    expectErrorTied(w.get('[data-testid="signup-password"]').element, en.signup.errors.passwordRule);
    expect(w.get('[data-testid="signup-full-name"]').attributes('aria-invalid')).toBe('false');
  });
});

describe('the sign-in dialog', () => {
  it('names both fields and ties a refused sign-in to both', async () => {
    fetchMock.mockResolvedValueOnce(json({ errors: [{ message: 'x', extensions: { code: 'UNAUTHENTICATED' } }], data: null }));
    const w = mountWith(SignInModal);
    expect(expectFieldsLabelled(w.element)).toBe(2);
    const username = w.get('[data-testid="sign-in-username"]');
    const password = w.get('[data-testid="sign-in-password"]');
    expect(username.attributes('aria-describedby')).toBeUndefined();

    await username.setValue('admin');
    await password.setValue('wrong-password');
    await password.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    const message = w.get('[data-testid="sign-in-error"]').text();
    expect(message.length).toBeGreaterThan(0);
    expectErrorTied(username.element, message);
    expectErrorTied(password.element, message);
  });
});

describe('the quota dialog', () => {
  it('ties the rule to each field that breaks it, and only to those', async () => {
    const account = { id: 2, username: 'dave', fullName: 'Dave', role: 'user', status: 'approved', createdAt: '2025-01-02T00:00:00.000Z', quota: { hosts: 3, vcpu: 8, memoryGb: 16, diskGb: 100 } };
    const w = mountWith(QuotaDialog, { account });
    expect(expectFieldsLabelled(w.element)).toBe(4);
    await w.get('[data-testid="quota-vcpu"]').setValue('-1');
    await w.get('[data-testid="quota-diskGb"]').setValue('2.5');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(fetchMock).not.toHaveBeenCalled();
    expectErrorTied(w.get('[data-testid="quota-vcpu"]').element, ko.adminUsers.quota.rule);
    expectErrorTied(w.get('[data-testid="quota-diskGb"]').element, ko.adminUsers.quota.rule);
    expect(w.get('[data-testid="quota-hosts"]').attributes('aria-invalid')).toBe('false');
    expect(w.get('[data-testid="quota-hosts"]').attributes('aria-describedby')).toBeUndefined();
  });
});
