// @vitest-environment happy-dom
/**
 * The admin page's pieces in a DOM: write-only secrets (empty sends nothing, "clear" sends ""),
 * and errors shown by extensions.code — never by the server's message.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from 'vue-i18n';
import AdminSettingsModal from '../../client/src/components/admin/AdminSettingsModal.vue';
import CreateUserDialog from '../../client/src/components/admin/CreateUserDialog.vue';
import UsersPanel from '../../client/src/components/admin/UsersPanel.vue';
import ko from '../../client/src/i18n/ko';
import { formFromSettings, settingsInput } from '../../client/src/utils/admin-settings';
import { expectErrorTied, expectFieldsLabelled } from '../helpers/a11y-dom';

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const gqlError = (code: string, extra: Record<string, unknown> = {}) => json({ errors: [{ message: 'server words that must not be shown', extensions: { code, ...extra } }], data: null });

const SETTINGS = {
  vcenterIp: '10.0.0.5',
  esxiIp: '10.0.0.6',
  vcenterUser: 'administrator@vsphere.local',
  vcenterPasswordSet: true,
  awsAccessKeySet: true,
  awsSecretKeySet: false,
  awsRegion: 'ap-northeast-2',
  sshUser: 'deploy',
  sshPrivateKeySet: false,
  maintenanceMode: false,
  systemNotice: '',
  maxVcpu: 64,
  maxMemory: 256,
  updatedAt: '2025-01-01T00:00:00.000Z',
};
const USERS = [
  { id: 1, username: 'admin', fullName: null, role: 'admin', status: 'approved', createdAt: '2025-01-01T00:00:00.000Z', quota: null },
  { id: 2, username: 'dave', fullName: 'Dave', role: 'user', status: 'approved', createdAt: '2025-01-02T00:00:00.000Z', quota: { hosts: 3, vcpu: 8, memoryGb: 16, diskGb: 100 } },
];

/** Answers by operation name; `overrides` answer the next call of an operation once. */
const fetchMock = vi.fn<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>();
let overrides: Record<string, Response> = {};
const operationOf = (init?: RequestInit) => /(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init?.body)).query)?.[1] ?? '';
const callsOf = (name: string) => fetchMock.mock.calls.filter(([, init]) => operationOf(init) === name).map(([, init]) => JSON.parse(String(init?.body)).variables);

function answer(name: string): Response {
  if (overrides[name]) {
    const r = overrides[name];
    delete overrides[name];
    return r;
  }
  switch (name) {
    case 'AdminSettings':
      return json({ data: { adminSettings: SETTINGS } });
    case 'UpdateAdminSettings':
      return json({ data: { updateAdminSettings: SETTINGS } });
    case 'Catalog':
      return json({ data: { catalog: { regions: { 'ap-northeast-2': 'Seoul' }, instanceTiers: {}, dbEngines: {}, environments: {}, packages: [], traffic: {}, templates: [], mockSteps: [] } } });
    case 'AdminUsers':
      return json({ data: { users: USERS } });
    default:
      return json({ data: null, errors: [{ message: 'unexpected', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  }
}

let wrapper: VueWrapper | null = null;
function mountWith<T>(component: T) {
  const i18n = createI18n({ legacy: false, locale: 'ko', messages: { ko } });
  wrapper = mount(component as never, { global: { plugins: [i18n] }, attachTo: document.body });
  return wrapper;
}

beforeEach(() => {
  overrides = {};
  fetchMock.mockReset();
  fetchMock.mockImplementation(async (_input, init) => answer(operationOf(init)));
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.unstubAllGlobals();
});

describe('settingsInput (write-only secrets)', () => {
  it('sends no secret when its field is left empty, the typed value when typed, "" when cleared', () => {
    const form = formFromSettings(SETTINGS);
    const untouched = settingsInput(form);
    expect(untouched).not.toHaveProperty('vcenterPassword');
    expect(untouched).not.toHaveProperty('awsAccessKey');
    expect(untouched).not.toHaveProperty('awsSecretKey');
    expect(untouched).toMatchObject({ vcenterIp: '10.0.0.5', maxVcpu: 64, awsRegion: 'ap-northeast-2' });

    form.secrets.vcenterPassword = { value: 'new-secret', clear: false };
    form.secrets.awsAccessKey = { value: '', clear: true };
    const changed = settingsInput(form);
    expect(changed.vcenterPassword).toBe('new-secret');
    expect(changed.awsAccessKey).toBe('');
    expect(changed).not.toHaveProperty('awsSecretKey');
  });
});

describe('AdminSettingsModal', () => {
  it('never prefills secrets, shows set / not set, and sends nothing for empty secrets and "" for a cleared one', async () => {
    const w = mountWith(AdminSettingsModal);
    await flushPromises();
    expect((w.get('[data-testid="settings-vcenter-password"]').element as HTMLInputElement).value).toBe('');
    expect(w.get('[data-testid="settings-vcenter-password-badge"]').text()).toBe(ko.adminUsers.settings.secretSet);
    expect(w.get('[data-testid="settings-aws-secret-key-badge"]').text()).toBe(ko.adminUsers.settings.secretNotSet);
    expect(w.find('[data-testid="settings-aws-secret-key-clear"]').exists()).toBe(false);

    await w.get('[data-testid="settings-system-notice"]').setValue('hello');
    await w.get('[data-testid="settings-admin-password"]').setValue('admin-test-password');
    await w.get('form').trigger('submit');
    await flushPromises();
    let sent = callsOf('UpdateAdminSettings')[0];
    expect(sent.adminPassword).toBe('admin-test-password');
    expect(sent.input.systemNotice).toBe('hello');
    for (const secret of ['vcenterPassword', 'awsAccessKey', 'awsSecretKey', 'sshPrivateKey']) expect(sent.input).not.toHaveProperty(secret);
    expect(w.find('[data-testid="settings-saved"]').exists()).toBe(true);

    await w.get('[data-testid="settings-aws-access-key-clear"]').trigger('click');
    await w.get('[data-testid="settings-admin-password"]').setValue('admin-test-password');
    await w.get('form').trigger('submit');
    await flushPromises();
    sent = callsOf('UpdateAdminSettings')[1];
    expect(sent.input.awsAccessKey).toBe('');
    expect(sent.input).not.toHaveProperty('vcenterPassword');
  });

  it('shows the SSH user, never the private key (a write-only text area), and sends a pasted key, a new user, or "" to clear it', async () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const w = mountWith(AdminSettingsModal);
    await flushPromises();
    expect((w.get('[data-testid="settings-ssh-user"]').element as HTMLInputElement).value).toBe('deploy');
    const field = w.get('[data-testid="settings-ssh-private-key"]');
    expect(field.element.tagName).toBe('TEXTAREA');
    expect((field.element as HTMLTextAreaElement).value).toBe('');
    expect(w.get('[data-testid="settings-ssh-private-key-badge"]').text()).toBe(ko.adminUsers.settings.secretNotSet);

    await w.get('[data-testid="settings-ssh-user"]').setValue(' root ');
    await field.setValue(key);
    await w.get('[data-testid="settings-admin-password"]').setValue('admin-test-password');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(callsOf('UpdateAdminSettings')[0].input).toMatchObject({ sshUser: 'root', sshPrivateKey: key });

    // once set, the key can be cleared ("" is sent) and is never shown again
    overrides.AdminSettings = json({ data: { adminSettings: { ...SETTINGS, sshPrivateKeySet: true } } });
    w.unmount();
    const again = mountWith(AdminSettingsModal);
    await flushPromises();
    expect(again.get('[data-testid="settings-ssh-private-key-badge"]').text()).toBe(ko.adminUsers.settings.secretSet);
    expect((again.get('[data-testid="settings-ssh-private-key"]').element as HTMLTextAreaElement).value).toBe('');
    await again.get('[data-testid="settings-ssh-private-key-clear"]').trigger('click');
    await again.get('[data-testid="settings-admin-password"]').setValue('admin-test-password');
    await again.get('form').trigger('submit');
    await flushPromises();
    expect(callsOf('UpdateAdminSettings')[1].input.sshPrivateKey).toBe('');
  });

  it('asks for the admin password before sending anything', async () => {
    const w = mountWith(AdminSettingsModal);
    await flushPromises();
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(callsOf('UpdateAdminSettings')).toHaveLength(0);
    expect(w.get('[data-testid="settings-password-hint"]').text()).toBe(ko.adminUsers.settings.passwordRequired);
  });

  it('shows FORBIDDEN as a wrong password and BAD_USER_INPUT issues on their fields', async () => {
    const w = mountWith(AdminSettingsModal);
    await flushPromises();
    overrides.UpdateAdminSettings = gqlError('FORBIDDEN');
    await w.get('[data-testid="settings-admin-password"]').setValue('wrong');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid="settings-password-hint"]').text()).toBe(ko.adminUsers.errors.wrongPassword);
    expect(w.text()).not.toContain('server words');

    overrides.UpdateAdminSettings = gqlError('BAD_USER_INPUT', { issues: [{ loc: ['body', 'maxVcpu'], msg: 'server words', type: 'int_range' }] });
    await w.get('[data-testid="settings-admin-password"]').setValue('admin-test-password');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid="settings-max-vcpu"]').attributes('aria-invalid')).toBe('true');
    expect(w.text()).toContain(ko.adminUsers.errors.invalidField);
    // A screen reader hears the error with its field, and every field has a name.
    expectErrorTied(w.get('[data-testid="settings-max-vcpu"]').element, ko.adminUsers.errors.invalidField);
    expect(w.get('[data-testid="settings-max-memory"]').attributes('aria-describedby')).toBeUndefined();
    expect(expectFieldsLabelled(w.element)).toBeGreaterThan(10);
    expect(w.get('[data-testid="settings-error"]').text()).toBe(ko.adminUsers.errors.badInput);
    expect(w.text()).not.toContain('server words');
  });
});

describe('account errors by code', () => {
  it('shows CONFLICT on a disable as the last-administrator rule, in the confirmation', async () => {
    const w = mountWith(UsersPanel);
    await flushPromises();
    await w.get('[data-testid="disable-admin"]').trigger('click');
    overrides.DisableUser = gqlError('CONFLICT');
    await w.get('[data-testid="confirm-ok"]').trigger('click');
    await flushPromises();
    expect(w.get('[data-testid="confirm-error"]').text()).toBe(ko.adminUsers.errors.lastAdmin);
  });

  it('shows CONFLICT on a role change next to the account, and FORBIDDEN as not allowed', async () => {
    const w = mountWith(UsersPanel);
    await flushPromises();
    overrides.SetUserRole = gqlError('CONFLICT');
    await w.get('[data-testid="user-row-admin"] [data-testid="user-role"]').setValue('user');
    await flushPromises();
    expect(w.get('[data-testid="user-row-admin"] [data-testid="user-error"]').text()).toBe(ko.adminUsers.errors.lastAdmin);
    expect((w.get('[data-testid="user-row-admin"] [data-testid="user-role"]').element as HTMLSelectElement).value).toBe('admin');

    overrides.SetUserRole = gqlError('FORBIDDEN');
    await w.get('[data-testid="user-row-dave"] [data-testid="user-role"]').setValue('admin');
    await flushPromises();
    expect(w.get('[data-testid="user-row-dave"] [data-testid="user-error"]').text()).toBe(ko.adminUsers.errors.forbidden);
  });

  it('shows CONFLICT on create as a taken name, and BAD_USER_INPUT issues on their fields', async () => {
    const w = mountWith(CreateUserDialog);
    await w.get('[data-testid="create-username"]').setValue('dave');
    await w.get('[data-testid="create-password"]').setValue('dave-password-1');
    overrides.CreateUser = gqlError('CONFLICT');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid="create-error"]').text()).toBe(ko.adminUsers.errors.usernameTaken);

    overrides.CreateUser = gqlError('BAD_USER_INPUT', { issues: [{ loc: ['body', 'password'], msg: 'x', type: 'string_length' }, { loc: ['body', 'full_name'], msg: 'x', type: 'string_type' }] });
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid="create-password"]').attributes('aria-invalid')).toBe('true');
    expect(w.get('[data-testid="create-full-name"]').attributes('aria-invalid')).toBe('true');
    expect(w.get('[data-testid="create-username"]').attributes('aria-invalid')).toBe('false');
    expect(w.find('[data-testid="create-error"]').exists()).toBe(false);
    expectErrorTied(w.get('[data-testid="create-password"]').element);
    expectErrorTied(w.get('[data-testid="create-full-name"]').element);
    expect(w.get('[data-testid="create-username"]').attributes('aria-describedby')).toBeUndefined();
    expect(expectFieldsLabelled(w.element)).toBe(4);
  });
});
