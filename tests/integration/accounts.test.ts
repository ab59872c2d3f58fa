/**
 * Account lifecycle as users and admins see it, over REST (the original contract's shapes and
 * Korean messages) and GraphQL: sign-up → pending login refused → approval with the default
 * quota → login; rejection, disabling (live tokens die), roles, password resets and changes,
 * and the last admin that cannot be demoted or disabled.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFor } from '../helpers/backends.js';
import { checkedAgainstDocument, type CheckedServer } from '../helpers/openapi.js';
import { ADMIN, startTestServer } from '../helpers/server.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/contract/${name}.json`, import.meta.url), 'utf8'));
const contract = fixture('signup-admin');
const loginContract = fixture('login');

const DEFAULT_QUOTA_ENV = { DEFAULT_QUOTA_HOSTS: '5', DEFAULT_QUOTA_VCPU: '10', DEFAULT_QUOTA_MEMORY_GB: '20', DEFAULT_QUOTA_DISK_GB: '100' };
const NOT_ADMIN = contract.pending_users.not_admin.body;
const NOT_FOUND = contract.approve_user.unknown.body;
const REJECTED = { detail: '가입이 거절된 계정입니다.' };
const DISABLED = { detail: '비활성화된 계정입니다.' };
const WRONG_CURRENT = { detail: '현재 비밀번호가 일치하지 않습니다.' };
const USER_FIELDS = 'username role status fullName quota { hosts vcpu memoryGb diskGb }';
const code = (res: { errors?: any[] }) => res.errors?.[0]?.extensions?.code;

for (const backend of await backendsFor('accounts')) {
  describe(`accounts: sign-up, approval and admin changes (${backend})`, () => {
    /** Every REST answer is checked against the OpenAPI document (tests/helpers/openapi.ts). */
    let server: CheckedServer;
    let admin: string;
    const login = (user_id: string, password: string) => server.request('POST', '/api/login', { body: { user_id, password } });
    const post = (path: string, token: string, body?: unknown) => server.request('POST', path, { token, body });
    const history = (token: string) => server.request('GET', '/api/history', { token });
    const signup = (username: string, password: string, full_name?: string) =>
      server.request('POST', '/api/signup', { body: { username, password, ...(full_name ? { full_name } : {}) } });

    beforeAll(async () => {
      server = await checkedAgainstDocument(await startTestServer({ backend, env: DEFAULT_QUOTA_ENV }));
      admin = server.adminToken;
    });
    afterAll(() => server?.close());

    it('signs up with the contract answers: success, an existing name 400, bad fields 422', async () => {
      const { body } = contract.signup.request;
      const ok = await server.request('POST', '/api/signup', { body });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual(contract.signup.success.body);
      for (const name of [body.username, ADMIN.username]) {
        const again = await signup(name, 'another-password');
        expect(again.status).toBe(400);
        expect(again.body).toEqual(contract.signup.exists.body);
      }
      const bad = await server.request('POST', '/api/signup', { body: { username: '-bad name-', password: 'short' } });
      expect(bad.status).toBe(422);
      expect(bad.body.detail.map((i: any) => i.loc)).toEqual([['body', 'username'], ['body', 'password']]);
      const missing = await server.request('POST', '/api/signup', { body: { username: 'nopass' } });
      expect(missing.status).toBe(422);
      expect(missing.body.detail[0].loc).toEqual(['body', 'password']);
      expect((await login('nopass', 'whatever-pass')).status).toBe(401);
    });

    it('refuses a pending login with 403 and lists it to admins only, without any password or hash', async () => {
      const pending = await login('kim', contract.signup.request.body.password);
      expect(pending.status).toBe(403);
      expect(pending.body).toEqual(loginContract.pending_account.body);
      expect((await login('kim', 'wrong-password')).body).toEqual(loginContract.bad_credentials.body);

      const list = await server.request('GET', '/api/admin/pending-users', { token: admin });
      expect(list.status).toBe(200);
      const kim = list.body.find((u: any) => u.username === 'kim');
      const example = contract.pending_users.success.body[0];
      expect(kim).toMatchObject({ username: 'kim', full_name: 'Kim Minsu', role: 'user', status: 'pending' });
      for (const key of Object.keys(example)) expect(kim).toHaveProperty(key);
      expect(kim.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      expect(JSON.stringify(list.body)).not.toMatch(/password|hash|argon2/i);
      expect(list.body.every((u: any) => u.status === 'pending')).toBe(true);

      const user = await server.createUser('plain-user');
      for (const path of ['/api/admin/pending-users', '/api/admin/users']) {
        const refused = await server.request('GET', path, { token: user });
        expect(refused.status).toBe(403);
        expect(refused.body).toEqual(NOT_ADMIN);
      }
      expect((await post('/api/admin/approve-user/kim', user)).body).toEqual(NOT_ADMIN);
      expect((await server.request('GET', '/api/admin/pending-users')).status).toBe(401);
    });

    it('approves with the contract message (unknown user 404); then login works with the default quota', async () => {
      const unknown = await post('/api/admin/approve-user/nobody-here', admin);
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(NOT_FOUND);
      const ok = await post('/api/admin/approve-user/kim', admin);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual(contract.approve_user.success.body);
      const pending = await server.request('GET', '/api/admin/pending-users', { token: admin });
      expect(pending.body.map((u: any) => u.username)).not.toContain('kim');

      const res = await login('kim', contract.signup.request.body.password);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', message: 'Login Approved', token_type: 'bearer', role: 'user' });
      const me = await server.request('GET', '/api/me', { token: res.body.access_token });
      expect(me.body).toMatchObject({ username: 'kim', status: 'approved', quota: { max_vms: 5, max_cpu: 10, max_ram: 20, max_disk: 100 } });
      expect(me.body.usage).toEqual({ projects: 0, hosts: 0, vcpu: 0, memory: 0, disk: 0 });
      expect((await history(res.body.access_token)).status).toBe(200);
    });

    it('rejects a pending sign-up: its login answers 403; an approved account cannot be rejected', async () => {
      await signup('rej-user', 'rej-user-password');
      const ok = await post('/api/admin/reject-user/rej-user', admin);
      expect(ok.body).toEqual({ message: 'rej-user 사용자의 가입 신청이 거절되었습니다.' });
      const refused = await login('rej-user', 'rej-user-password');
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual(REJECTED);
      expect((await post('/api/admin/reject-user/kim', admin)).status).toBe(409);
      expect((await post('/api/admin/reject-user/nobody-here', admin)).body).toEqual(NOT_FOUND);
    });

    it("disables an account: its live token answers 401 at once and its login 403", async () => {
      const token = await server.createUser('dis-user', 'dis-user-password');
      expect((await history(token)).status).toBe(200);
      const ok = await post('/api/admin/disable-user/dis-user', admin);
      expect(ok.body).toEqual({ message: 'dis-user 사용자가 비활성화되었습니다.' });
      const dead = await history(token);
      expect(dead.status).toBe(401);
      expect(typeof dead.body.detail).toBe('string');
      const refused = await login('dis-user', 'dis-user-password');
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual(DISABLED);
      expect((await post('/api/admin/approve-user/dis-user', admin)).status).toBe(200);
      expect((await login('dis-user', 'dis-user-password')).status).toBe(200);
    });

    it('changes roles: promotion opens the admin API to the live token, demotion closes it; a bad role is 422', async () => {
      const token = await server.createUser('role-user');
      const up = await post('/api/admin/users/role-user/role', admin, { role: 'admin' });
      expect(up.body).toEqual({ message: 'role-user 사용자의 역할이 admin(으)로 변경되었습니다.' });
      expect((await server.request('GET', '/api/admin/users', { token })).status).toBe(200);
      expect((await post('/api/admin/users/role-user/role', admin, { role: 'user' })).status).toBe(200);
      expect((await server.request('GET', '/api/admin/users', { token })).body).toEqual(NOT_ADMIN);
      expect((await post('/api/admin/users/role-user/role', admin, { role: 'root' })).status).toBe(422);
      expect((await post('/api/admin/users/role-user/role', admin, {})).status).toBe(422);
      expect((await post('/api/admin/users/role-user/role', token, { role: 'admin' })).body).toEqual(NOT_ADMIN);
    });

    it("resets a user's password (admin): the old one fails, the new one works", async () => {
      await server.createUser('reset-user', 'reset-old-password');
      const ok = await post('/api/admin/users/reset-user/password', admin, { new_password: 'reset-new-password' });
      expect(ok.body).toEqual({ message: 'reset-user 사용자의 비밀번호가 재설정되었습니다.' });
      expect((await login('reset-user', 'reset-old-password')).status).toBe(401);
      expect((await login('reset-user', 'reset-new-password')).status).toBe(200);
      expect((await post('/api/admin/users/reset-user/password', admin, { new_password: 'short' })).status).toBe(422);
      expect((await post('/api/admin/users/nobody-here/password', admin, { new_password: 'long-enough-1' })).status).toBe(404);
    });

    it('changes the own password: a wrong current one is 403; afterwards the new works and the old fails', async () => {
      const token = await server.createUser('own-user', 'own-old-password');
      const wrong = await post('/api/me/password', token, { current_password: 'not-my-password', new_password: 'own-new-password' });
      expect(wrong.status).toBe(403);
      expect(wrong.body).toEqual(WRONG_CURRENT);
      expect((await post('/api/me/password', token, { current_password: 'own-old-password', new_password: 'short' })).status).toBe(422);
      const ok = await post('/api/me/password', token, { current_password: 'own-old-password', new_password: 'own-new-password' });
      expect(ok.body).toEqual({ status: 'success', message: '비밀번호가 변경되었습니다.' });
      expect((await login('own-user', 'own-old-password')).status).toBe(401);
      expect((await login('own-user', 'own-new-password')).status).toBe(200);
    });

    it('never demotes or disables the last admin (409), over REST and GraphQL', async () => {
      const demote = await post(`/api/admin/users/${ADMIN.username}/role`, admin, { role: 'user' });
      expect(demote.status).toBe(409);
      expect((await post(`/api/admin/disable-user/${ADMIN.username}`, admin)).status).toBe(409);
      const gqlDemote = await server.gql(`mutation { setUserRole(username: "${ADMIN.username}", role: user) { role } }`, {}, admin);
      expect(code(gqlDemote)).toBe('CONFLICT');
      expect(code(await server.gql(`mutation { disableUser(username: "${ADMIN.username}") { status } }`, {}, admin))).toBe('CONFLICT');
      const me = await server.gql('query { me { role status } }', {}, admin);
      expect(me.data.me).toEqual({ role: 'admin', status: 'approved' });
      // With a second admin the first may step down; the second then is the last one.
      const second = await server.createUser('second-admin');
      await post('/api/admin/users/second-admin/role', admin, { role: 'admin' });
      expect((await post(`/api/admin/users/${ADMIN.username}/role`, admin, { role: 'user' })).status).toBe(200);
      expect((await post('/api/admin/users/second-admin/role', second, { role: 'user' })).status).toBe(409);
      expect((await post(`/api/admin/users/${ADMIN.username}/role`, second, { role: 'admin' })).status).toBe(200);
      expect((await server.request('GET', '/api/admin/users', { token: admin })).status).toBe(200);
    });

    it('runs the whole flow over GraphQL: signup, pendingUsers, approveUser, login, me with the default quota', async () => {
      const SIGNUP = `mutation($input: SignupInput!) { signup(input: $input) { ${USER_FIELDS} } }`;
      const created = await server.gql(SIGNUP, { input: { username: 'gql-kim', password: 'gql-kim-password', fullName: 'Kim G' } });
      expect(created.data.signup).toMatchObject({ username: 'gql-kim', role: 'user', status: 'pending', fullName: 'Kim G' });
      const dup = await server.gql(SIGNUP, { input: { username: 'gql-kim', password: 'gql-kim-password' } });
      expect(code(dup)).toBe('BAD_USER_INPUT');
      expect(dup.errors![0].message).toBe(contract.signup.exists.body.detail);
      const bad = await server.gql(SIGNUP, { input: { username: 'x y', password: 'short' } });
      expect(code(bad)).toBe('BAD_USER_INPUT');
      expect(bad.errors![0].extensions.issues).toHaveLength(2);

      const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken user { ${USER_FIELDS} } } }`;
      const pending = await server.gql(LOGIN, { u: 'gql-kim', p: 'gql-kim-password' });
      expect(code(pending)).toBe('FORBIDDEN');
      expect(pending.errors![0].message).toBe(loginContract.pending_account.body.detail);

      const user = await server.createUser('gql-plain');
      const denied = await server.gql('query { pendingUsers { username } }', {}, user);
      expect(code(denied)).toBe('FORBIDDEN');
      expect(denied.errors![0].message).toBe(NOT_ADMIN.detail);
      const list = await server.gql(`query { pendingUsers { id createdAt ${USER_FIELDS} } }`, {}, admin);
      expect(list.data.pendingUsers.map((u: any) => u.username)).toContain('gql-kim');

      const unknown = await server.gql('mutation { approveUser(username: "nobody-here") { status } }', {}, admin);
      expect(code(unknown)).toBe('NOT_FOUND');
      expect(unknown.errors![0].message).toBe(NOT_FOUND.detail);
      const approved = await server.gql(`mutation { approveUser(username: "gql-kim") { ${USER_FIELDS} } }`, {}, admin);
      expect(approved.data.approveUser).toMatchObject({ status: 'approved', quota: { hosts: 5, vcpu: 10, memoryGb: 20, diskGb: 100 } });

      const ok = await server.gql(LOGIN, { u: 'gql-kim', p: 'gql-kim-password' });
      expect(ok.data.login.user).toMatchObject({ username: 'gql-kim', status: 'approved', quota: { hosts: 5, vcpu: 10, memoryGb: 20, diskGb: 100 } });
      const me = await server.gql(`query { me { ${USER_FIELDS} } myQuota { limit { hosts vcpu } used { usedHosts } } }`, {}, ok.data.login.accessToken);
      expect(me.data.me.quota).toEqual({ hosts: 5, vcpu: 10, memoryGb: 20, diskGb: 100 });
      expect(me.data.myQuota).toEqual({ limit: { hosts: 5, vcpu: 10 }, used: { usedHosts: 0 } });
    });

    it('rejects, disables, changes roles and passwords over GraphQL, and lists users by status', async () => {
      const m = (query: string, token = admin) => server.gql(`mutation { ${query} }`, {}, token);
      await server.gql('mutation { signup(input: { username: "gql-rej", password: "gql-rej-password" }) { status } }');
      expect((await m('rejectUser(username: "gql-rej") { status }')).data.rejectUser.status).toBe('rejected');
      expect((await server.gql('mutation { login(username: "gql-rej", password: "gql-rej-password") { accessToken } }')).errors![0].message).toBe(REJECTED.detail);

      const victim = await server.createUser('gql-dis', 'gql-dis-password');
      expect((await m('disableUser(username: "gql-dis") { status }')).data.disableUser.status).toBe('disabled');
      expect(code(await server.gql('query { me { username } }', {}, victim))).toBe('UNAUTHENTICATED');
      expect((await login('gql-dis', 'gql-dis-password')).body).toEqual(DISABLED);

      const token = await server.createUser('gql-role', 'gql-role-password');
      expect(code(await m('setUserRole(username: "gql-plain", role: admin) { role }', token))).toBe('FORBIDDEN');
      expect((await m('setUserRole(username: "gql-role", role: admin) { role quota { hosts } }')).data.setUserRole).toEqual({ role: 'admin', quota: null });
      expect((await server.gql('query { users { username } }', {}, token)).errors).toBeUndefined();
      await m('setUserRole(username: "gql-role", role: user) { role }');
      expect(code(await server.gql('query { users { username } }', {}, token))).toBe('FORBIDDEN');

      expect((await m('resetUserPassword(username: "gql-role", newPassword: "gql-role-reset-pw") { username }')).data.resetUserPassword.username).toBe('gql-role');
      expect((await login('gql-role', 'gql-role-password')).status).toBe(401);
      const fresh = (await login('gql-role', 'gql-role-reset-pw')).body.access_token;
      const wrong = await m('changePassword(currentPassword: "not-it-at-all", newPassword: "gql-role-own-pw")', fresh);
      expect(code(wrong)).toBe('FORBIDDEN');
      expect(wrong.errors![0].message).toBe(WRONG_CURRENT.detail);
      expect((await m('changePassword(currentPassword: "gql-role-reset-pw", newPassword: "gql-role-own-pw")', fresh)).data.changePassword).toBe(true);
      expect((await login('gql-role', 'gql-role-reset-pw')).status).toBe(401);
      expect((await login('gql-role', 'gql-role-own-pw')).status).toBe(200);

      const byStatus = async (status: string) => (await server.gql(`query { users(status: ${status}) { username status } }`, {}, admin)).data.users;
      expect((await byStatus('disabled')).map((u: any) => u.username)).toEqual(['gql-dis']);
      expect((await byStatus('rejected')).map((u: any) => u.username)).toEqual(['rej-user', 'gql-rej']);
      const all = (await server.gql('query { users { username status } }', {}, admin)).data.users;
      expect(all.map((u: any) => u.username)).toEqual(expect.arrayContaining(['admin', 'kim', 'gql-kim', 'gql-role']));
      const rest = await server.request('GET', '/api/admin/users?status=rejected', { token: admin });
      expect(rest.body.map((u: any) => u.username)).toEqual(['rej-user', 'gql-rej']);
    });
  });
}
