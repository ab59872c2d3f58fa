/**
 * Idempotency keys (issue 5, "What it must show" item 3): the same key and body give the same
 * project, also when the requests race (one project, one set of hosts, the same id in every
 * answer); the same key with another body is a 422 and creates nothing; keys belong to the
 * calling account; a key is kept IDEMPOTENCY_TTL_HOURS (at least 24) and treated as new after.
 * Checked on the database rows, on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKey, Project } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { burst, trackInFlight } from '../helpers/burst.js';
import { heldIps, readLedger } from '../helpers/host-ledger.js';
import { startTestServer, waitFor, type HttpAnswer, type TestServer } from '../helpers/server.js';

const POOL = 254 * 2; // the default /24 of each infrastructure
const PROVISION = `mutation($input: ProvisionInput!, $key: String) { provision(input: $input, idempotencyKey: $key) { id status serviceName } }`;
const HOUR = 3_600_000;

for (const backend of await backendsFor('idempotency')) {
  describe(`Idempotency-Key on provision (${backend})`, () => {
    let server: TestServer;
    let ann: string;
    let bob: string;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { MOCK_STEP_DELAY_MS: '5' } });
      ann = await server.createUser('idem-ann');
      bob = await server.createUser('idem-bob');
    });
    afterAll(() => server?.close());

    const em = () => server.app.orm.em.fork();
    const post = (token: string, body: unknown, key?: string): Promise<HttpAnswer> =>
      server.request('POST', '/api/provision', { token, body, headers: key === undefined ? {} : { 'idempotency-key': key } });
    const projectsNamed = (serviceName: string) => em().find(Project, { serviceName }, { orderBy: { id: 'asc' } });
    const keysOf = (owner: string, key: string) => em().find(IdempotencyKey, { owner, key });
    async function ledger() {
      const l = await readLedger(server, POOL);
      expect(l.problems).toEqual([]);
      return l;
    }
    const waitCompleted = (id: number) =>
      waitFor(async () => (await em().findOne(Project, id))?.status === 'COMPLETED', 20_000, `project ${id} to complete`);

    it('100 concurrent identical POST /api/provision with one key: all 200 with one project id, one project, one set of hosts', async () => {
      const body = { serviceName: 'idem-burst', config: { template: 'standard' }, targetInfra: 'vsphere' };
      const before = await ledger();
      // Sent from a worker thread, so the server really has them in hand at once.
      const stopTracking = trackInFlight(server.app.http.server);
      const answers = await burst(
        server,
        Array.from({ length: 100 }, () => ({ method: 'POST', path: '/api/provision', token: ann, body, headers: { 'idempotency-key': 'burst-key-1' } })),
      );
      const { maxInFlight, connections } = stopTracking();
      console.info(`burst: ${connections} connections, at most ${maxInFlight} in flight`);
      expect(maxInFlight).toBeGreaterThanOrEqual(50);

      expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
      const ids = new Set(answers.map((a) => a.body.project_id));
      expect(ids.size).toBe(1);
      const [id] = ids;
      expect(typeof id).toBe('number');
      // Exactly one request made it; every other one is a replay and says so.
      const replayed = answers.filter((a) => a.headers.get('idempotent-replayed') === 'true');
      expect(replayed).toHaveLength(99);

      const rows = await projectsNamed('idem-burst');
      expect(rows.map((p) => p.id)).toEqual([id]);
      expect(rows[0].owner).toBe('idem-ann');
      expect((await keysOf('idem-ann', 'burst-key-1')).map((k) => k.projectId)).toEqual([id]);
      const after = await ledger();
      expect(heldIps(after, id)).toHaveLength(3);
      // The pool lost exactly those three hosts, no more (no stray allocation survived a rollback).
      expect(after.free.length).toBe(before.free.length - 3);

      await waitCompleted(id);
      await server.app.dispatcher.whenIdle();
      // Later, after it completed, the same request still answers with that project.
      const late = await post(ann, body, 'burst-key-1');
      expect(late.status).toBe(200);
      expect(late.body.project_id).toBe(id);
      expect(late.headers.get('idempotent-replayed')).toBe('true');
      expect(await projectsNamed('idem-burst')).toHaveLength(1);
      expect(heldIps(await ledger(), id)).toHaveLength(3);
    });

    it('50 concurrent GraphQL provision mutations with one idempotencyKey give one project', async () => {
      const input = { serviceName: 'idem-gql-burst', config: { template: 'k8s_small' }, targetInfra: { type: 'aws' } };
      const before = await ledger();
      const answers = await burst(
        server,
        Array.from({ length: 50 }, () => ({ method: 'POST', path: '/graphql', token: ann, body: { query: PROVISION, variables: { input, key: 'gql-burst-key' } } })),
      );
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.body.errors).toBeUndefined();
      }
      const ids = new Set(answers.map((a) => a.body.data.provision.id));
      expect(ids.size).toBe(1);
      const [id] = ids;
      expect((await projectsNamed('idem-gql-burst')).map((p) => p.id)).toEqual([id]);
      expect((await keysOf('idem-ann', 'gql-burst-key')).map((k) => k.projectId)).toEqual([id]);
      const after = await ledger();
      expect(heldIps(after, id)).toHaveLength(3);
      expect(after.free.length).toBe(before.free.length - 3);
      await waitCompleted(id);
      await server.app.dispatcher.whenIdle();
      await ledger();
    });

    it('the same key with another body is a 422 on the Idempotency-Key header and creates nothing', async () => {
      const body = { serviceName: 'idem-first', config: { template: 'single' }, targetInfra: 'aws' };
      const first = await post(ann, body, 'reused-key');
      expect(first.status).toBe(200);
      const id = first.body.project_id;
      const before = await ledger();
      const projectsBefore = await em().count(Project, {});

      // Key order in the JSON does not matter: the same body, written differently, is a replay.
      const reordered = await post(ann, { targetInfra: 'aws', config: { template: 'single' }, serviceName: 'idem-first' }, 'reused-key');
      expect(reordered.status).toBe(200);
      expect(reordered.body.project_id).toBe(id);

      for (const other of [
        { ...body, serviceName: 'idem-second' },
        { ...body, config: { template: 'standard' } },
        { ...body, targetInfra: 'vsphere' },
      ]) {
        const res = await post(ann, other, 'reused-key');
        expect(res.status).toBe(422);
        expect(res.body.detail).toHaveLength(1);
        expect(res.body.detail[0]).toMatchObject({ loc: ['header', 'Idempotency-Key'], type: 'idempotency_key_reused' });
      }
      const gql = await server.gql(PROVISION, { input: { ...body, serviceName: 'idem-second' }, key: 'reused-key' }, ann);
      expect(gql.data ?? null).toBeNull();
      expect(gql.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', issues: [{ loc: ['header', 'Idempotency-Key'], type: 'idempotency_key_reused' }] });

      expect(await em().count(Project, {})).toBe(projectsBefore);
      expect(await projectsNamed('idem-second')).toEqual([]);
      expect((await keysOf('idem-ann', 'reused-key')).map((k) => k.projectId)).toEqual([id]);
      const after = await ledger();
      expect(after.free.length).toBe(before.free.length);
    });

    it('racing requests with one fresh key and two different bodies: one project, its body answers 200, the other 422', async () => {
      const a = { serviceName: 'idem-race-a', config: { template: 'single' }, targetInfra: 'aws' };
      const b = { serviceName: 'idem-race-b', config: { template: 'single' }, targetInfra: 'aws' };
      const before = await ledger();
      const bodies = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b));
      const answers = await burst(
        server,
        bodies.map((body) => ({ method: 'POST', path: '/api/provision', token: ann, body, headers: { 'idempotency-key': 'race-key' } })),
      );
      expect(answers.filter((x) => x.status >= 500)).toEqual([]);
      const made = [...(await projectsNamed('idem-race-a')), ...(await projectsNamed('idem-race-b'))];
      expect(made).toHaveLength(1);
      const winner = made[0].serviceName;
      answers.forEach((res, i) => {
        if (bodies[i].serviceName === winner) {
          expect(res.status).toBe(200);
          expect(res.body.project_id).toBe(made[0].id);
        } else {
          expect(res.status).toBe(422);
          expect(res.body.detail[0].loc).toEqual(['header', 'Idempotency-Key']);
        }
      });
      const after = await ledger();
      expect(after.free.length).toBe(before.free.length - 1);
    });

    it('keys belong to the calling account: the same key from another account makes its own project', async () => {
      const body = { serviceName: 'idem-shared-key', config: { template: 'single' }, targetInfra: 'aws' };
      const mine = await post(ann, body, 'shared-key');
      const theirs = await post(bob, body, 'shared-key');
      const admins = await post(server.adminToken, body, 'shared-key');
      for (const res of [mine, theirs, admins]) {
        expect(res.status).toBe(200);
        expect(res.headers.get('idempotent-replayed')).toBeNull();
      }
      const ids = [mine.body.project_id, theirs.body.project_id, admins.body.project_id];
      expect(new Set(ids).size).toBe(3);
      const rows = await projectsNamed('idem-shared-key');
      expect(rows.map((p) => [p.id, p.owner])).toEqual([
        [ids[0], 'idem-ann'],
        [ids[1], 'idem-bob'],
        [ids[2], 'admin'],
      ]);
      // Each account's replay gives its own project; another body is refused only for its own key.
      expect((await post(bob, body, 'shared-key')).body.project_id).toBe(ids[1]);
      expect((await post(ann, body, 'shared-key')).body.project_id).toBe(ids[0]);
      expect((await post(bob, { ...body, serviceName: 'idem-bob-other' }, 'shared-key')).status).toBe(422);
      // A key bob used first is new to ann, even with a body ann never sent.
      const bobFirst = await post(bob, { ...body, serviceName: 'idem-bob-only' }, 'bob-key');
      const annLater = await post(ann, { ...body, serviceName: 'idem-ann-only' }, 'bob-key');
      expect([bobFirst.status, annLater.status]).toEqual([200, 200]);
      expect(annLater.body.project_id).not.toBe(bobFirst.body.project_id);
      // Over GraphQL too.
      const gqlBob = await server.gql(PROVISION, { input: body, key: 'shared-key' }, bob);
      expect(gqlBob.data.provision.id).toBe(ids[1]);
      const l = await ledger();
      for (const id of ids) expect(heldIps(l, id)).toHaveLength(1);
    });

    it('a key is kept at least 24 hours; one older than IDEMPOTENCY_TTL_HOURS is treated as new', async () => {
      const body = { serviceName: 'idem-ttl', config: { template: 'single' }, targetInfra: 'aws' };
      const first = await post(ann, body, 'ttl-key');
      expect(first.status).toBe(200);
      const id1 = first.body.project_id;
      const age = (hours: number) => em().nativeUpdate(IdempotencyKey, { owner: 'idem-ann', key: 'ttl-key' }, { createdAt: new Date(Date.now() - hours * HOUR) });

      // 23 hours old: still the same project, and another body still a 422.
      expect(await age(23)).toBe(1);
      const within = await post(ann, body, 'ttl-key');
      expect(within.status).toBe(200);
      expect(within.body.project_id).toBe(id1);
      expect(within.headers.get('idempotent-replayed')).toBe('true');
      expect((await post(ann, { ...body, serviceName: 'idem-ttl-other' }, 'ttl-key')).status).toBe(422);

      // 25 hours old: the key is forgotten; the same request makes a new project.
      expect(await age(25)).toBe(1);
      const expired = await post(ann, body, 'ttl-key');
      expect(expired.status).toBe(200);
      expect(expired.headers.get('idempotent-replayed')).toBeNull();
      const id2 = expired.body.project_id;
      expect(id2).not.toBe(id1);
      expect((await projectsNamed('idem-ttl')).map((p) => p.id)).toEqual([id1, id2]);
      // The key now stands for the new project, fresh again.
      const rows = await keysOf('idem-ann', 'ttl-key');
      expect(rows.map((k) => k.projectId)).toEqual([id2]);
      expect(Date.now() - rows[0].createdAt.getTime()).toBeLessThan(HOUR);
      expect((await post(ann, body, 'ttl-key')).body.project_id).toBe(id2);

      // An expired key may also be reused with another body.
      expect(await age(25)).toBe(1);
      const otherBody = await post(ann, { ...body, serviceName: 'idem-ttl-new-body' }, 'ttl-key');
      expect(otherBody.status).toBe(200);
      expect((await projectsNamed('idem-ttl-new-body')).map((p) => p.id)).toEqual([otherBody.body.project_id]);
      const l = await ledger();
      for (const id of [id1, id2, otherBody.body.project_id]) expect(heldIps(l, id)).toHaveLength(1);
    });

    it('30 concurrent requests with an expired key make exactly one new project', async () => {
      const body = { serviceName: 'idem-ttl-burst', config: { template: 'single' }, targetInfra: 'aws' };
      const first = await post(ann, body, 'ttl-burst-key');
      expect(first.status).toBe(200);
      await em().nativeUpdate(IdempotencyKey, { owner: 'idem-ann', key: 'ttl-burst-key' }, { createdAt: new Date(Date.now() - 25 * HOUR) });
      const before = await ledger();
      const answers = await burst(
        server,
        Array.from({ length: 30 }, () => ({ method: 'POST', path: '/api/provision', token: ann, body, headers: { 'idempotency-key': 'ttl-burst-key' } })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
      const ids = new Set(answers.map((a) => a.body.project_id));
      expect(ids.size).toBe(1);
      const [id] = ids;
      expect(id).not.toBe(first.body.project_id);
      expect((await projectsNamed('idem-ttl-burst')).map((p) => p.id)).toEqual([first.body.project_id, id]);
      expect((await keysOf('idem-ann', 'ttl-burst-key')).map((k) => k.projectId)).toEqual([id]);
      const after = await ledger();
      expect(after.free.length).toBe(before.free.length - 1);
    });

    it('refuses an invalid key (empty, 256 characters, non-ASCII, spaces) with 422 / BAD_USER_INPUT and creates nothing', async () => {
      const body = { serviceName: 'idem-bad-key', config: { template: 'single' }, targetInfra: 'aws' };
      const before = await em().count(Project, {});
      const free = (await ledger()).free.length;
      for (const key of ['', 'k'.repeat(256), 'clé-1', 'two words']) {
        const res = await post(ann, body, key);
        expect(res.status, JSON.stringify(key)).toBe(422);
        expect(res.body.detail[0].loc).toEqual(['header', 'Idempotency-Key']);
      }
      for (const key of ['', 'k'.repeat(256), '멱등-키', 'clé', 'two words', 'tab\tkey']) {
        const res = await server.gql(PROVISION, { input: body, key }, ann);
        expect(res.data ?? null, JSON.stringify(key)).toBeNull();
        expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', issues: [{ loc: ['header', 'Idempotency-Key'] }] });
      }
      expect(await em().count(Project, {})).toBe(before);
      expect(await em().count(IdempotencyKey, { owner: 'idem-ann', key: { $in: ['', 'k'.repeat(256), 'two words'] } })).toBe(0);
      expect((await ledger()).free.length).toBe(free);

      // The longest valid key (255 visible ASCII characters) works, and replays.
      const longest = 'k'.repeat(254) + '~';
      const ok = await post(ann, body, longest);
      expect(ok.status).toBe(200);
      const again = await post(ann, body, longest);
      expect(again.body.project_id).toBe(ok.body.project_id);
      expect(await projectsNamed('idem-bad-key')).toHaveLength(1);
    });

    it('without a key, identical requests make separate projects (the key is what deduplicates)', async () => {
      const body = { serviceName: 'idem-no-key', config: { template: 'single' }, targetInfra: 'aws' };
      const answers = await Promise.all([post(ann, body), post(ann, body), post(ann, body)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(new Set(answers.map((a) => a.body.project_id)).size).toBe(3);
      expect(await projectsNamed('idem-no-key')).toHaveLength(3);
      await server.app.dispatcher.whenIdle();
      await ledger();
    });
  });
}
