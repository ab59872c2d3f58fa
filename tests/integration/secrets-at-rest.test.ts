/**
 * Secrets at rest (issue 3, item 6): the vCenter password and the AWS keys of the settings are
 * stored only as AES-256-GCM envelopes under ENCRYPT_KEY, bound to their row and column; they
 * are write-only (shown as set / unset), and no response, subscription payload, log line,
 * table or database file holds them. `rotateSecrets` / `npm run rotate-key` move them to a new
 * key, all or nothing.
 *
 * Every secret the test sends is a random canary; every response body (and its headers) the
 * test receives is kept and searched for every canary at the end.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/core';
import { DEV_ENCRYPT_KEY } from '../../server/config/index.js';
import { SECRET_SETTING_FIELDS, type SecretSettingField } from '../../server/entities/setting.entity.js';
import { KeyRotationError, rotateSecrets } from '../../server/services/key-rotation.js';
import { SecretBox, SecretBoxError } from '../../server/services/secret-box.js';
import { settingSecretOwner } from '../../server/services/settings.js';
import { backendsFor } from '../helpers/backends.js';
import { openDataOf, removeDataDir, reuseOf } from '../helpers/data.js';
import { ADMIN, startTestServer, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

const KEY_A = `secrets-at-rest-key-A-${'a1'.repeat(12)}`;
const KEY_B = `secrets-at-rest-key-B-${'b2'.repeat(12)}`;
const KEY_C = `secrets-at-rest-key-C-${'c3'.repeat(12)}`;
const KEY_D = `secrets-at-rest-key-D-${'d4'.repeat(12)}`;
const idOf = (key: string) => new SecretBox(key).currentKeyId;

const COLUMNS: Record<SecretSettingField, string> = {
  vcenterPassword: 'vcenter_password',
  awsAccessKey: 'aws_access_key',
  awsSecretKey: 'aws_secret_key',
  sshPrivateKey: 'ssh_private_key',
};
const REST_FIELDS: Record<SecretSettingField, string> = {
  vcenterPassword: 'vcenter_password',
  awsAccessKey: 'aws_access_key',
  awsSecretKey: 'aws_secret_key',
  sshPrivateKey: 'ssh_private_key',
};
/** What GET /api/admin/settings may answer: no field that could carry a secret. */
const REST_SETTINGS_KEYS = [
  'aws_access_key_set', 'aws_region', 'aws_secret_key_set', 'esxi_ip', 'maintenance_mode', 'max_memory', 'max_vcpu', 'ssh_private_key_set', 'ssh_user',
  'system_notice', 'vcenter_ip', 'vcenter_password_set', 'vcenter_user',
];
const ADMIN_SETTINGS = `{ adminSettings { systemNotice maintenanceMode vcenterIp esxiIp vcenterUser vcenterPasswordSet maxVcpu maxMemory awsAccessKeySet awsSecretKeySet awsRegion sshUser sshPrivateKeySet updatedAt } }`;
const UPDATE = `mutation($input: AdminSettingsInput!, $password: String!) {
  updateAdminSettings(input: $input, adminPassword: $password) { vcenterPasswordSet awsAccessKeySet awsSecretKeySet vcenterUser systemNotice }
}`;
const FOLLOW = `subscription($id: Int!) { provisionStatus(projectId: $id, afterSeq: 0) { projectId seq kind status message data } }`;

type Stored = Record<SecretSettingField, string | null>;

/** The secret columns of the settings row, as stored (raw SQL, no entity mapping). */
async function storedSecrets(orm: MikroORM): Promise<Stored> {
  const rows: Record<string, string | null>[] = await orm.em.getConnection().execute('select vcenter_password, aws_access_key, aws_secret_key, ssh_private_key from settings where id = 1');
  expect(rows).toHaveLength(1);
  return { vcenterPassword: rows[0].vcenter_password, awsAccessKey: rows[0].aws_access_key, awsSecretKey: rows[0].aws_secret_key, sshPrivateKey: rows[0].ssh_private_key };
}

/** Every row of every table, as text, to search for canaries. */
async function dumpAllTables(orm: MikroORM, backend: string): Promise<string> {
  const conn = orm.em.getConnection();
  const tables: { name: string }[] =
    backend === 'postgresql'
      ? await conn.execute(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`)
      : await conn.execute(`select name from sqlite_master where type = 'table'`);
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['settings', 'audit_log', 'projects', 'provision_events', 'users']));
  let text = '';
  for (const { name } of tables) {
    const rows = await conn.execute(`select * from "${name}"`);
    text += `\n${name}: ${JSON.stringify(rows)}`;
  }
  return text;
}

/** Runs `npx tsx scripts/rotate-key.ts` against a stopped server's data. */
async function rotateKeyScript(server: TestServer, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const target: Record<string, string> =
    server.backend === 'postgresql' ? { DATABASE_URL: server.postgres!.url, DB_FALLBACK: 'false', SQLITE_PATH: join(dirname(server.sqlitePath), 'unused.db') } : { SQLITE_PATH: server.sqlitePath };
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'scripts/rotate-key.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...target, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

for (const backend of await backendsFor('secrets at rest')) {
  describe(`secrets at rest (${backend})`, () => {
    let server: TestServer;
    let first: TestServer;
    let userToken: string;
    /** Every canary sent to the server, accepted or not. */
    const canaries: string[] = [];
    /** What the settings row should hold now. */
    const current: Record<SecretSettingField, string | null> = { vcenterPassword: null, awsAccessKey: null, awsSecretKey: null, sshPrivateKey: null };
    /** Every response (status, headers, body) and subscription message the test received. */
    const received: string[] = [];
    /** Log lines of every server this suite started. */
    const logs: string[][] = [];

    const canary = (label: string) => {
      const value = `CANARY-${label}-${randomBytes(12).toString('hex')}`;
      canaries.push(value);
      return value;
    };
    /** A canary in the form the field accepts (the SSH key must look like a private key). */
    const secretFor = (field: SecretSettingField, label: string) => {
      const value = canary(label);
      return field === 'sshPrivateKey' ? `-----BEGIN OPENSSH PRIVATE KEY-----\n${value}\n-----END OPENSSH PRIVATE KEY-----` : value;
    };

    const rest = async (method: string, path: string, opts: { body?: unknown; token?: string } = {}) => {
      const res = await server.request(method, path, opts);
      received.push(`${method} ${path} → ${res.status} ${JSON.stringify([...res.headers])} ${JSON.stringify(res.body)}`);
      return res;
    };
    const gql = async (query: string, variables?: Record<string, unknown>, token = server.adminToken) => {
      const res = await server.gql(query, variables, token);
      received.push(`${query} → ${res.status} ${JSON.stringify(res)}`);
      return res;
    };

    const start = async (env: Record<string, string>, reuse?: TestServer) => {
      server = await startTestServer({ backend, env, ...(reuse ? { reuse: reuseOf(reuse) } : {}) });
      logs.push(server.logs);
      return server;
    };

    const expectNoCanaryIn = (what: string, text: string) => {
      for (const c of canaries) {
        expect(text.includes(c), `${what} contains the secret ${c}`).toBe(false);
        // Also the random part alone (a secret re-encoded or cut would still carry it).
        expect(text.includes(c.slice(-24)), `${what} contains part of the secret ${c}`).toBe(false);
      }
    };

    /** Each stored value is an envelope under `keyId` that opens, for its own column, to what was set. */
    const expectSealed = (stored: Stored, keyId: string, box: SecretBox) => {
      for (const field of SECRET_SETTING_FIELDS) {
        const value = stored[field];
        if (current[field] === null) {
          expect(value, field).toBeNull();
          continue;
        }
        expect(value, field).toMatch(new RegExp(`^hcmp1:${keyId}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$`));
        expectNoCanaryIn(`column ${COLUMNS[field]}`, value!);
        expect(box.open(value!, settingSecretOwner(field))).toBe(current[field]);
      }
    };

    beforeAll(async () => {
      first = await start({ ENCRYPT_KEY: KEY_A });
      userToken = await server.createUser('plain-user');
    });

    afterAll(async () => {
      await server?.close();
      removeDataDir(first);
    });

    it('an admin sets secrets over REST; reads answer only set / unset flags', async () => {
      const before = await rest('GET', '/api/admin/settings', { token: server.adminToken });
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ vcenter_password_set: false, aws_access_key_set: false, aws_secret_key_set: false });

      const body: Record<string, unknown> = { admin_password: ADMIN.password, vcenter_user: 'svc-vcenter', vcenter_ip: '10.0.0.5' };
      for (const field of SECRET_SETTING_FIELDS) body[REST_FIELDS[field]] = current[field] = secretFor(field, `rest-${field}`);
      const saved = await rest('POST', '/api/admin/settings', { token: server.adminToken, body });
      expect(saved.status).toBe(200);
      expect(saved.body).toEqual({ status: 'success', message: expect.any(String) });

      const after = await rest('GET', '/api/admin/settings', { token: server.adminToken });
      expect(after.status).toBe(200);
      expect(Object.keys(after.body).sort()).toEqual(REST_SETTINGS_KEYS);
      expect(after.body).toMatchObject({ vcenter_password_set: true, aws_access_key_set: true, aws_secret_key_set: true, vcenter_user: 'svc-vcenter', vcenter_ip: '10.0.0.5' });
    });

    it('GraphQL updateAdminSettings replaces them; adminSettings and the schema expose no secret', async () => {
      const input: Record<string, string> = { vcenterUser: 'svc-vcenter-2' };
      for (const field of SECRET_SETTING_FIELDS) input[field] = current[field] = secretFor(field, `gql-${field}`);
      const res = await gql(UPDATE, { input, password: ADMIN.password });
      expect(res.errors).toBeUndefined();
      expect(res.data.updateAdminSettings).toEqual({ vcenterPasswordSet: true, awsAccessKeySet: true, awsSecretKeySet: true, vcenterUser: 'svc-vcenter-2', systemNotice: '' });

      const read = await gql(ADMIN_SETTINGS);
      expect(read.errors).toBeUndefined();
      expect(read.data.adminSettings).toMatchObject({ vcenterPasswordSet: true, awsAccessKeySet: true, awsSecretKeySet: true });

      // No output type has a field that could return a secret (inputs may take them).
      const schema = await gql(`{ __schema { types { name kind fields { name } } } }`);
      const outputFields = schema.data.__schema.types
        .filter((t: { kind: string }) => t.kind === 'OBJECT' || t.kind === 'INTERFACE')
        .flatMap((t: { name: string; fields: { name: string }[] | null }) => (t.fields ?? []).map((f) => `${t.name}.${f.name}`));
      expect(outputFields).toContain('AdminSettings.vcenterPasswordSet');
      expect(outputFields.filter((f: string) => /\.(vcenterPassword|awsAccessKey|awsSecretKey|sshPrivateKey|password|passwordHash)$/i.test(f))).toEqual([]);
    });

    it('stores each secret as an AES-GCM envelope under ENCRYPT_KEY, bound to its column', async () => {
      const stored = await storedSecrets(server.app.orm);
      expect(server.app.services.secrets.currentKeyId).toBe(idOf(KEY_A));
      expect(idOf(KEY_A)).not.toBe(idOf(DEV_ENCRYPT_KEY));
      expectSealed(stored, idOf(KEY_A), new SecretBox(KEY_A));
      expectSealed(stored, idOf(KEY_A), server.app.services.secrets);
      // A value moved to another column (or row) no longer opens.
      const box = new SecretBox(KEY_A);
      expect(() => box.open(stored.awsSecretKey!, settingSecretOwner('vcenterPassword'))).toThrow(SecretBoxError);
      expect(() => box.open(stored.awsSecretKey!, 'settings:2:awsSecretKey')).toThrow(SecretBoxError);
      // Nor under another key, such as the development one.
      expect(() => new SecretBox(DEV_ENCRYPT_KEY).open(stored.vcenterPassword!, settingSecretOwner('vcenterPassword'))).toThrow(/ENCRYPT_KEYS_PREVIOUS/);
    });

    it('a wrong or missing admin password is refused with 403 and changes nothing', async () => {
      const before = await storedSecrets(server.app.orm);
      const attempts: { admin_password?: unknown }[] = [{ admin_password: 'not-the-admin-password' }, {}, { admin_password: '' }, { admin_password: 12345 }, { admin_password: null }];
      for (const attempt of attempts) {
        const res = await rest('POST', '/api/admin/settings', {
          token: server.adminToken,
          body: { ...attempt, vcenter_password: canary('refused-rest'), aws_secret_key: '', system_notice: 'should not be saved' },
        });
        expect(res.status, JSON.stringify(attempt)).toBe(403);
      }
      for (const password of ['not-the-admin-password', '']) {
        const res = await gql(UPDATE, { input: { vcenterPassword: canary('refused-gql'), awsAccessKey: '' }, password });
        expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        expect(res.data ?? null).toBeNull();
      }
      expect(await storedSecrets(server.app.orm)).toEqual(before);
      const settings = await rest('GET', '/api/admin/settings', { token: server.adminToken });
      expect(settings.body).toMatchObject({ vcenter_password_set: true, aws_access_key_set: true, aws_secret_key_set: true, system_notice: '' });
    });

    it('a non-admin (or nobody) cannot read or change the settings, even with the admin password', async () => {
      const before = await storedSecrets(server.app.orm);
      expect((await rest('GET', '/api/admin/settings', { token: userToken })).status).toBe(403);
      const body = { admin_password: ADMIN.password, vcenter_password: canary('non-admin'), aws_access_key: '' };
      expect((await rest('POST', '/api/admin/settings', { token: userToken, body })).status).toBe(403);
      expect((await rest('POST', '/api/admin/settings', { body })).status).toBe(401);
      expect((await gql(ADMIN_SETTINGS, undefined, userToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const res = await gql(UPDATE, { input: { vcenterPassword: canary('non-admin-gql') }, password: ADMIN.password }, userToken);
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await storedSecrets(server.app.orm)).toEqual(before);
    });

    it('a secret that is too long is refused without being echoed', async () => {
      const before = await storedSecrets(server.app.orm);
      const long = `${canary('too-long')}${'x'.repeat(300)}`;
      const res = await rest('POST', '/api/admin/settings', { token: server.adminToken, body: { admin_password: ADMIN.password, aws_secret_key: long } });
      expect(res.status).toBe(422);
      const viaGql = await gql(UPDATE, { input: { awsSecretKey: long }, password: ADMIN.password });
      expect(viaGql.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await storedSecrets(server.app.orm)).toEqual(before);
    });

    it('an SSH key that is not an unencrypted private key, or a bad SSH user, is refused without being echoed', async () => {
      const before = await storedSecrets(server.app.orm);
      const notAKey = canary('not-a-key');
      const publicKey = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${canary('public-key')} someone@host`;
      for (const body of [{ ssh_private_key: notAKey }, { ssh_private_key: publicKey }, { ssh_user: 'root; rm -rf /' }, { ssh_private_key: 12345 }]) {
        const res = await rest('POST', '/api/admin/settings', { token: server.adminToken, body: { admin_password: ADMIN.password, ...body } });
        expect(res.status, JSON.stringify(body)).toBe(422);
      }
      const viaGql = await gql(UPDATE, { input: { sshPrivateKey: notAKey }, password: ADMIN.password });
      expect(viaGql.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await storedSecrets(server.app.orm)).toEqual(before);
      const ok = await rest('POST', '/api/admin/settings', { token: server.adminToken, body: { admin_password: ADMIN.password, ssh_user: 'deploy' } });
      expect(ok.status).toBe(200);
      expect((await rest('GET', '/api/admin/settings', { token: server.adminToken })).body).toMatchObject({ ssh_user: 'deploy', ssh_private_key_set: true });
    });

    it('"" clears a secret, a field left out keeps it', async () => {
      const cleared = await rest('POST', '/api/admin/settings', { token: server.adminToken, body: { admin_password: ADMIN.password, vcenter_password: '', system_notice: 'notice' } });
      expect(cleared.status).toBe(200);
      current.vcenterPassword = null;
      const rest1 = await rest('GET', '/api/admin/settings', { token: server.adminToken });
      expect(rest1.body).toMatchObject({ vcenter_password_set: false, aws_access_key_set: true, aws_secret_key_set: true, system_notice: 'notice' });

      const viaGql = await gql(UPDATE, { input: { awsAccessKey: '' }, password: ADMIN.password });
      expect(viaGql.data.updateAdminSettings).toMatchObject({ vcenterPasswordSet: false, awsAccessKeySet: false, awsSecretKeySet: true });
      current.awsAccessKey = null;
      expectSealed(await storedSecrets(server.app.orm), idOf(KEY_A), new SecretBox(KEY_A));

      // Set again, for the checks that follow.
      const input = { vcenterPassword: canary('again-vcenter'), awsAccessKey: canary('again-access') };
      const again = await gql(UPDATE, { input, password: ADMIN.password });
      expect(again.data.updateAdminSettings).toMatchObject({ vcenterPasswordSet: true, awsAccessKeySet: true, awsSecretKeySet: true });
      Object.assign(current, input);
      expectSealed(await storedSecrets(server.app.orm), idOf(KEY_A), new SecretBox(KEY_A));
    });

    it('no response, subscription payload, log line or table holds a secret', async () => {
      // Something in history, resources and the event stream.
      const order = await rest('POST', '/api/provision', { token: server.adminToken, body: { serviceName: 'canary-check', config: { template: 'single' }, targetInfra: { type: 'vsphere' } } });
      expect(order.status).toBe(200);
      const projectId = order.body.project_id as number;
      const client: Client = server.wsClient(server.adminToken);
      const streamed = await new Promise<string[]>((resolve, reject) => {
        const messages: string[] = [];
        client.subscribe({ query: FOLLOW, variables: { id: projectId } }, {
          next: (msg) => messages.push(JSON.stringify(msg)),
          error: reject,
          complete: () => resolve(messages),
        });
      });
      expect(streamed.length).toBeGreaterThan(2);
      received.push(...streamed);
      await waitForFinalStatus(server, projectId, server.adminToken);

      for (const token of [server.adminToken, userToken]) {
        for (const path of ['/api/history', '/api/projects', '/api/monitoring/my-resources', '/api/public/settings', '/healthz', '/api/me']) {
          expect((await rest('GET', path, { token })).status, path).toBe(200);
        }
      }
      for (const path of ['/api/admin/settings', '/api/admin/stats', '/api/admin/audit?limit=200', '/api/admin/users', '/api/admin/pending-users']) {
        expect((await rest('GET', path, { token: server.adminToken })).status, path).toBe(200);
      }
      const queries = [
        `{ me { id username role status fullName quota { hosts } } }`,
        ADMIN_SETTINGS,
        `{ publicSettings { siteName systemNotice maintenanceMode infrastructures database { backend fellBack } } }`,
        `{ history(first: 100) { nodes { id serviceName status logs details config errorMessage assignedIp resources { webUrl albIp dbVip } } } }`,
        `{ resources(first: 200) { totalCount nodes { kind vmName ipAddress owner projectName status } } resourceSummary { hosts rows } }`,
        `{ auditLog(first: 200) { entries { id at actor action target ip result detail } hasMore } }`,
        `{ users { username role status quota { hosts vcpu } } }`,
        `{ adminStats { totalProjects liveProjects usedVcpu } }`,
        `{ myQuota { used { usedVcpu } limit { vcpu } } }`,
        `{ catalog { regions templates { name } } }`,
        `query($id: Int!) { project(id: $id) { logs details } projectEvents(projectId: $id) { events { seq kind message data } } }`,
      ];
      for (const query of queries) {
        const res = await gql(query, query.includes('$id') ? { id: projectId } : undefined);
        expect(res.errors, query).toBeUndefined();
      }
      const audit = await gql(`{ auditLog(first: 200, action: "settings.update") { entries { result detail } } }`);
      expect(audit.data.auditLog.entries.length).toBeGreaterThanOrEqual(10); // the refusals were audited too

      expect(received.length).toBeGreaterThan(40);
      expect(canaries.length).toBeGreaterThan(10);
      expectNoCanaryIn('a response', received.join('\n'));
      expect(server.logs.length).toBeGreaterThan(10);
      expectNoCanaryIn('the log', server.logs.join('\n'));
      expectNoCanaryIn('a table', await dumpAllTables(server.app.orm, backend));
    });

    // graphql-js puts the whole rejected variable value in its error message
    // ('Variable "$input" got invalid value { vcenterPassword: "…", … }'); the formatter
    // must keep the reason and drop the value.
    it('a rejected GraphQL input does not echo the secret it carried', async () => {
      const secret = `CANARY-echo-${randomBytes(12).toString('hex')}`;
      const typo = await server.gql(UPDATE, { input: { vcenterPassword: secret, awsRegon: 'typo' }, password: ADMIN.password });
      expect(typo.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(typo.errors?.[0]?.message).toContain('awsRegon');
      expect(JSON.stringify(typo)).not.toContain(secret);
      const wrongType = await server.gql(UPDATE, { input: { vcenterPassword: { nested: secret } }, password: ADMIN.password });
      expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(wrongType)).not.toContain(secret);
    });

    it('the database files hold no secret, only envelopes', async () => {
      await server.close(true);
      if (backend === 'sqlite') {
        const dir = dirname(server.sqlitePath);
        const files = readdirSync(dir).filter((f) => f.startsWith('hcmp.db'));
        expect(files).toContain('hcmp.db');
        const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
        // The scan sees the stored values (positive control)...
        expect(bytes.includes(Buffer.from(`hcmp1:${idOf(KEY_A)}:`))).toBe(true);
        // ...and no secret, in UTF-8 or UTF-16.
        for (const c of canaries) {
          expect(bytes.includes(Buffer.from(c)), c).toBe(false);
          expect(bytes.includes(Buffer.from(c.slice(-24)))).toBe(false);
          expect(bytes.includes(Buffer.from(c, 'utf16le'))).toBe(false);
        }
        if (existsSync(`${server.sqlitePath}-wal`)) expect(files).toContain('hcmp.db-wal');
      } else {
        const client = new pg.Client({ connectionString: server.postgres!.url });
        await client.connect();
        try {
          const { rows } = await client.query('select vcenter_password::text as v, aws_access_key::text as a, aws_secret_key::text as s from settings');
          expect(rows).toHaveLength(1);
          for (const value of [rows[0].v, rows[0].a, rows[0].s]) {
            expect(value.startsWith(`hcmp1:${idOf(KEY_A)}:`)).toBe(true);
            expect(canaries).not.toContain(value);
            expectNoCanaryIn('a PostgreSQL column', value);
          }
        } finally {
          await client.end();
        }
      }
      const data = await openDataOf(server);
      try {
        expectNoCanaryIn('a table', await dumpAllTables(data, backend));
        expectSealed(await storedSecrets(data), idOf(KEY_A), new SecretBox(KEY_A));
      } finally {
        await data.close();
      }
    });

    it('rotateSecrets re-seals under the new key, all or nothing, and is idempotent', async () => {
      const data = await openDataOf(server);
      try {
        const aThenB = new SecretBox(KEY_B, [KEY_A]);
        // Without the old key, nothing can be opened: refused, nothing changed.
        const untouched = await storedSecrets(data);
        await expect(rotateSecrets(data.em.fork(), new SecretBox(KEY_B))).rejects.toThrow(KeyRotationError);
        await expect(rotateSecrets(data.em.fork(), new SecretBox(KEY_B))).rejects.toThrow(/Nothing was changed.*ENCRYPT_KEYS_PREVIOUS/s);
        expect(await storedSecrets(data)).toEqual(untouched);

        expect(await rotateSecrets(data.em.fork(), aThenB)).toEqual({ resealed: 4, alreadyCurrent: 0 });
        const rotated = await storedSecrets(data);
        expectSealed(rotated, idOf(KEY_B), new SecretBox(KEY_B));
        for (const field of SECRET_SETTING_FIELDS) expect(rotated[field]).not.toBe(untouched[field]);
        expect(await rotateSecrets(data.em.fork(), aThenB)).toEqual({ resealed: 0, alreadyCurrent: 4 });
        expect(await storedSecrets(data)).toEqual(rotated);

        // One value still under A (re-sealable) and one moved from another column (never opens):
        // the rotation refuses and does not re-seal the first one either.
        const conn = data.em.getConnection();
        const underA = new SecretBox(KEY_A).seal(current.vcenterPassword!, settingSecretOwner('vcenterPassword'));
        await conn.execute('update settings set vcenter_password = ?, aws_access_key = ? where id = 1', [underA, rotated.awsSecretKey]);
        const error = await rotateSecrets(data.em.fork(), aThenB).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KeyRotationError);
        expect((error as KeyRotationError).failures).toEqual([expect.stringMatching(/^settings row 1, awsAccessKey: .*another row or column/)]);
        expectNoCanaryIn('the rotation error', (error as Error).message);
        expect(await storedSecrets(data)).toEqual({ ...rotated, vcenterPassword: underA, awsAccessKey: rotated.awsSecretKey });
        // Put the right values back.
        await conn.execute('update settings set vcenter_password = ?, aws_access_key = ? where id = 1', [rotated.vcenterPassword, rotated.awsAccessKey]);
        expectSealed(await storedSecrets(data), idOf(KEY_B), new SecretBox(KEY_B));
      } finally {
        await data.close();
      }
    });

    it('says at start-up when the stored secrets do not open with the configured keys', async () => {
      await start({ ENCRYPT_KEY: KEY_D }, first);
      const line = server.logs.find((l) => l.includes('Stored secrets cannot be opened'));
      expect(line, 'start-up error line').toBeDefined();
      expect(line).toMatch(/vcenterPassword/);
      expectNoCanaryIn('the log', server.logs.join('\n'));
      await server.close(true);
    });

    it('after the rotation a server with only the new key reads the secrets', async () => {
      await start({ ENCRYPT_KEY: KEY_B }, first);
      expect(server.app.services.secrets.currentKeyId).toBe(idOf(KEY_B));
      const settings = await rest('GET', '/api/admin/settings', { token: server.adminToken });
      expect(settings.body).toMatchObject({ vcenter_password_set: true, aws_access_key_set: true, aws_secret_key_set: true });
      expectSealed(await storedSecrets(server.app.orm), idOf(KEY_B), server.app.services.secrets);
      expectNoCanaryIn('the log', server.logs.join('\n'));
      await server.close(true);
    });

    it('npm run rotate-key (scripts/rotate-key.ts) rotates end to end, and refuses keys that do not fit', async () => {
      // The wrong old key: exit 1, nothing changed.
      const before = await (async () => {
        const data = await openDataOf(server);
        try {
          return await storedSecrets(data);
        } finally {
          await data.close();
        }
      })();
      const refused = await rotateKeyScript(server, { ENCRYPT_KEY: KEY_D, ENCRYPT_KEYS_PREVIOUS: KEY_A });
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/Nothing was changed: 4 stored secret\(s\) cannot be opened.*ENCRYPT_KEYS_PREVIOUS/s);

      const done = await rotateKeyScript(server, { ENCRYPT_KEY: KEY_C, ENCRYPT_KEYS_PREVIOUS: `${KEY_A}, ${KEY_B}` });
      expect(done.code, done.stdout + done.stderr).toBe(0);
      expect(done.stdout).toMatch(new RegExp(`^${backend} \\(.*\\): re-sealed 4 secret value\\(s\\) under key ${idOf(KEY_C)}; 0 already under it$`, 'm'));
      const again = await rotateKeyScript(server, { ENCRYPT_KEY: KEY_C, ENCRYPT_KEYS_PREVIOUS: KEY_B });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/re-sealed 0 secret value\(s\) under key \w+; 4 already under it/);

      if (backend === 'sqlite') {
        // Without a new key it does nothing.
        const noKey = await rotateKeyScript(server, { ENCRYPT_KEYS_PREVIOUS: KEY_C });
        expect(noKey.code).toBe(1);
        expect(noKey.stderr).toMatch(/ENCRYPT_KEY is unset or the development key/);
      }
      for (const out of [refused, done, again]) {
        expectNoCanaryIn('the script output', out.stdout + out.stderr);
        for (const key of [KEY_A, KEY_B, KEY_C, KEY_D]) expect(out.stdout + out.stderr).not.toContain(key);
      }

      await start({ ENCRYPT_KEY: KEY_C }, first);
      const after = await storedSecrets(server.app.orm);
      expectSealed(after, idOf(KEY_C), server.app.services.secrets);
      for (const field of SECRET_SETTING_FIELDS) expect(after[field]).not.toBe(before[field]);
      const settings = await rest('GET', '/api/admin/settings', { token: server.adminToken });
      expect(settings.body).toMatchObject({ vcenter_password_set: true, aws_access_key_set: true, aws_secret_key_set: true });
      expectNoCanaryIn('a response', received.join('\n'));
      for (const lines of logs) expectNoCanaryIn('the log', lines.join('\n'));
    });
  });
}
