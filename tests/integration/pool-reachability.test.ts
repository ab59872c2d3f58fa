/**
 * Reachability checks against real hosts: a fleet of two (network namespaces with their own sshd,
 * scripts/fleet/lib.ts) is the pool, and the server logs in as root with the fleet's key
 * (SSH_USER / SSH_PRIVATE_KEY_FILE). A reachable host answers ok and its key is recorded on
 * first contact; a host cut off answers not ok, with a message, within about 10 s; a host whose
 * key is not the recorded one is refused as a changed key (nothing recorded over it); after an
 * admin resets the key the next check is ok and records the host's key again.
 *
 * Needs root (network namespaces); skips with a message otherwise, unless REQUIRE_ROOT=1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetDown, fleetUp, setHostLink, waitForSsh, type Fleet } from '../../scripts/fleet/lib.js';
import { sql } from '../../server/db/sql.js';
import { KEY_CHANGED } from '../../server/services/host-probe.js';
import { fingerprints } from '../../server/services/pool-hosts.js';
import { backendsFor } from '../helpers/backends.js';
import { shouldRunAsRoot } from '../helpers/root.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const HOST = 'id vmName ipAddress status hostKeySet hostKeyFingerprints checkedAt checkOk checkMessage';
const CHECK = `mutation($ids: [Int!]!) { checkPoolHosts(ids: $ids) { ${HOST} } }`;
const RESET_KEY = `mutation($id: Int!) { resetPoolHostKey(id: $id) { ${HOST} } }`;
const LIST = `{ poolHosts(first: 10) { nodes { ${HOST} } } }`;
/** Some other host's key: what a rebuilt host (or a machine answering in its place) would show. */
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

const runAsRoot = shouldRunAsRoot('pool reachability');
const backends = runAsRoot ? await backendsFor('pool reachability') : [];

describe.skipIf(!runAsRoot)('pool reachability checks against a real fleet', () => {
  let fleet: Fleet;
  let dir: string;
  /** The host key each fleet host answers with, as a known_hosts line of its address. */
  const realKey = (i: number) => {
    const host = fleet.hosts[i];
    const [type, key] = readFileSync(join(fleet.dir, 'hosts', host.name, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
    return `${host.address} ${type} ${key}`;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hcmp-reach-'));
    // A name of its own, so parallel suites' fleets never share bridges or namespaces.
    const name = `pl${randomBytes(8).toString('hex').replace(/[^a-z]/g, '').padEnd(3, 'x').slice(0, 3)}`;
    fleet = fleetUp(2, { name, dir: join(dir, 'fleet'), subnet: '10.82.0', infra: 'vsphere' });
    await waitForSsh(fleet);
  }, 60_000);
  afterAll(() => {
    if (fleet) fleetDown(fleet.dir);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of backends) {
    describe(backend, () => {
      let server: TestServer;
      let ids: number[];
      const gqlOk = async (query: string, variables: Record<string, unknown> = {}) => {
        const res = await server.gql(query, variables, server.adminToken);
        expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
        return res.data;
      };
      const check = async (hostIds: number[]) => (await gqlOk(CHECK, { ids: hostIds })).checkPoolHosts;
      const storedKey = async (id: number) => {
        const [row]: { host_key: string | null }[] = await sql(server.app.services.sqlDb, 'select host_key from workload_pool where id = ?', [id]);
        return row.host_key;
      };

      beforeAll(async () => {
        server = await startTestServer({ backend, env: { WORKLOAD_POOL_FILE: fleet.poolFile, SSH_USER: 'root', SSH_PRIVATE_KEY_FILE: fleet.keyFile } });
        ids = (await gqlOk(LIST)).poolHosts.nodes.map((h: any) => h.id);
        expect(ids).toHaveLength(2);
      });
      afterAll(async () => {
        for (const host of fleet?.hosts ?? []) setHostLink(fleet, host, true);
        await server?.close();
      });

      it('logs in to reachable hosts and records their keys on first contact', async () => {
        const checked = await check(ids);
        expect(checked.map((h: any) => [h.ipAddress, h.checkOk, h.checkMessage, h.hostKeySet])).toEqual([
          [fleet.hosts[0].address, true, 'ok; host key recorded', true],
          [fleet.hosts[1].address, true, 'ok; host key recorded', true],
        ]);
        expect(await storedKey(ids[0])).toBe(realKey(0));
        expect(await storedKey(ids[1])).toBe(realKey(1));
        expect(checked[0].hostKeyFingerprints).toEqual(fingerprints(realKey(0)));
        expect(Date.now() - Date.parse(checked[0].checkedAt)).toBeLessThan(30_000);
        // the recorded key is the one the next check expects
        expect((await check([ids[0]]))[0]).toMatchObject({ checkOk: true, checkMessage: 'ok' });
      });

      it('answers a host that is cut off as not reachable, with a message, within about 10 s', async () => {
        setHostLink(fleet, fleet.hosts[0], false);
        try {
          const started = Date.now();
          const checked = await check(ids);
          const took = Date.now() - started;
          expect(took).toBeLessThan(11_500);
          expect(checked[0].checkOk).toBe(false);
          expect(checked[0].checkMessage).toMatch(/timed out|no answer|unreachable|no route/i);
          expect(checked[1]).toMatchObject({ checkOk: true, checkMessage: 'ok' });
          const stored = (await gqlOk(LIST)).poolHosts.nodes[0];
          expect([stored.checkOk, stored.checkMessage]).toEqual([false, checked[0].checkMessage]);
        } finally {
          setHostLink(fleet, fleet.hosts[0], true);
        }
        await waitForSsh(fleet);
        expect((await check([ids[0]]))[0].checkOk).toBe(true);
      }, 30_000);

      it('refuses a host whose key is not the recorded one, and is ok again once the key is reset', async () => {
        const forged = `${fleet.hosts[1].address} ${OTHER_KEY}`;
        await sql(server.app.services.sqlDb, 'update workload_pool set host_key = ? where id = ?', [forged, ids[1]], 'run');
        const [refused] = await check([ids[1]]);
        expect([refused.checkOk, refused.checkMessage]).toEqual([false, KEY_CHANGED]);
        expect(await storedKey(ids[1])).toBe(forged);

        const reset = (await gqlOk(RESET_KEY, { id: ids[1] })).resetPoolHostKey;
        expect([reset.hostKeySet, reset.hostKeyFingerprints]).toEqual([false, []]);
        const [again] = await check([ids[1]]);
        expect([again.checkOk, again.checkMessage, again.hostKeySet]).toEqual([true, 'ok; host key recorded', true]);
        expect(await storedKey(ids[1])).toBe(realKey(1));
      }, 30_000);

      it('never shows the private key or its file in a message', async () => {
        const key = readFileSync(fleet.keyFile, 'utf8');
        const body = JSON.stringify(await gqlOk(LIST));
        expect(body).not.toContain(key.split('\n')[1]);
        expect(body).not.toContain('hcmp-probe-');
        expect(server.logs.join('')).not.toContain(key.split('\n')[1]);
      });
    });
  }
});
