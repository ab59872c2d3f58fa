/**
 * Race-free host allocation under load (issue 5, "What it must show" item 2): 1,000 truly
 * concurrent single-host orders against a 256-host pool. Exactly 256 are accepted, the other
 * 744 are refused at order time with the typed exhaustion error (409 "1 hosts needed, 0
 * available"), nothing answers 5xx, no host is held twice, and once every run is done each held
 * host belongs to a live project whose reported address is that host. Hosts given back by
 * deletes and cancels are taken again by new orders. On SQLite and on PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../server/entities/index.js';
import { backendsFor } from '../helpers/backends.js';
import { burst, trackInFlight } from '../helpers/burst.js';
import { heldIps, readLedger } from '../helpers/host-ledger.js';
import { startTestServer, waitFor, type HttpAnswer, type TestServer } from '../helpers/server.js';

const POOL = 256;
const ORDERS = 1000;
const EXHAUSTED = { detail: '1 hosts needed, 0 available' };

/** 256 vsphere hosts in WORKLOAD_POOL_FILE's format (the file replaces the CIDR pools). */
function writePoolFile(dir: string): string {
  const hosts = Array.from({ length: POOL }, (_, i) => ({
    vm_name: `LOAD-${String(i + 1).padStart(3, '0')}`,
    ip_address: `10.200.${Math.floor(i / 200)}.${(i % 200) + 1}`,
    infra: 'vsphere',
  }));
  const path = join(dir, 'pool.json');
  writeFileSync(path, JSON.stringify(hosts));
  return path;
}

function tally(answers: HttpAnswer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

for (const backend of await backendsFor('pool exhaustion')) {
  describe(`1,000 concurrent orders against a 256-host pool (${backend})`, () => {
    let server: TestServer;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hcmp-pool-'));
      server = await startTestServer({ backend, env: { WORKLOAD_POOL_FILE: writePoolFile(dir), MOCK_STEP_DELAY_MS: '2' } });
    });
    afterAll(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const order = (serviceName: string): Promise<HttpAnswer> =>
      server.request('POST', '/api/provision', {
        token: server.adminToken,
        body: { serviceName, config: { template: 'single' }, targetInfra: 'vsphere' },
      });
    async function ledger() {
      const l = await readLedger(server, POOL);
      expect(l.problems).toEqual([]);
      return l;
    }
    const statusOf = async (id: number) => (await server.app.orm.em.fork().findOne(Project, id))?.status;
    async function allFinished(ids: number[]): Promise<void> {
      await waitFor(
        async () => {
          const rows = await server.app.orm.em.fork().find(Project, { id: { $in: ids } }, { fields: ['status'] });
          return rows.length === ids.length && rows.every((r) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status));
        },
        45_000,
        'every run to finish',
      );
      await server.app.dispatcher.whenIdle();
    }

    it('exactly 256 succeed, 744 answer 409 with the exhaustion error, none 5xx, no host twice; returned hosts are reused', async () => {
      const l0 = await ledger();
      expect(l0.free).toHaveLength(POOL);
      expect(l0.hosts.every((h) => h.infra === 'vsphere')).toBe(true);

      // Count what the server sees, to show the orders really were in flight together.
      const stopTracking = trackInFlight(server.app.http.server);
      const started = Date.now();
      const answers = await burst(
        server,
        Array.from({ length: ORDERS }, (_, i) => ({
          method: 'POST',
          path: '/api/provision',
          token: server.adminToken,
          body: { serviceName: `burst-${i}`, config: { template: 'single' }, targetInfra: 'vsphere' },
        })),
      );
      const took = Date.now() - started;
      const { maxInFlight, connections } = stopTracking();
      console.info(`[${backend}] ${ORDERS} orders: ${took} ms, ${connections} connections, at most ${maxInFlight} in flight at once`);
      expect(maxInFlight).toBeGreaterThanOrEqual(ORDERS / 2);

      expect(tally(answers)).toEqual({ 200: POOL, 409: ORDERS - POOL });
      for (const a of answers.filter((x) => x.status === 409)) expect(a.body).toEqual(EXHAUSTED);
      const ids = answers.filter((a) => a.status === 200).map((a) => a.body.project_id as number);
      expect(new Set(ids).size).toBe(POOL);
      // Every accepted order holds one host right away, every host is held: no duplicates.
      let l = await ledger();
      expect(l.free).toEqual([]);
      expect(l.projects.map((p) => p.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
      // …each by the order that was told it got it (the host's project is the answered id).
      expect(l.held.map((h) => h.projectId).sort((a, b) => a! - b!)).toEqual([...ids].sort((a, b) => a - b));

      await allFinished(ids);
      l = await ledger();
      expect(l.projects.filter((p) => p.status !== 'COMPLETED')).toEqual([]);
      const assigned = new Map<number, string>();
      for (const p of await server.app.orm.em.fork().find(Project, { id: { $in: ids } })) {
        const targets = (p.details.resources?.ssh_targets ?? []).map((t) => t.host);
        expect(targets).toEqual(heldIps(l, p.id));
        expect(p.assignedIp).toBe(targets[0]);
        assigned.set(p.id, targets[0]);
      }
      expect(new Set(assigned.values()).size).toBe(POOL);
      // The whole burst produced no server error at all.
      const errors = server.logs.filter((line) => /"level":(50|60)/.test(line));
      expect(errors).toEqual([]);

      // Give hosts back: delete 20 (10 over REST, 10 over GraphQL), at the same time.
      const doomed = ids.slice(0, 20);
      const freedIps = doomed.map((id) => assigned.get(id)!).sort();
      const deletes = await Promise.all(
        doomed.map((id, i) =>
          i % 2
            ? server.request('DELETE', `/api/provision/${id}`, { token: server.adminToken }).then((r) => r.status)
            : server.gql(`mutation($id: Int!) { deleteProject(id: $id) }`, { id }, server.adminToken).then((r) => (r.data?.deleteProject === true ? 200 : 500)),
        ),
      );
      expect(deletes).toEqual(doomed.map(() => 200));
      await waitFor(async () => (await server.app.orm.em.fork().count(Project, { id: { $in: doomed } })) === 0, 20_000, 'deleted projects to be gone');
      await server.app.dispatcher.whenIdle();
      l = await ledger();
      expect(l.free.map((h) => h.ip).sort()).toEqual(freedIps);

      // 50 new concurrent orders: exactly the 20 returned hosts are taken again, 30 refused.
      const second = await Promise.all(Array.from({ length: 50 }, (_, i) => order(`again-${i}`)));
      expect(tally(second)).toEqual({ 200: 20, 409: 30 });
      for (const a of second.filter((x) => x.status === 409)) expect(a.body).toEqual(EXHAUSTED);
      const newIds = second.filter((a) => a.status === 200).map((a) => a.body.project_id as number);
      l = await ledger();
      expect(l.free).toEqual([]);
      expect(newIds.flatMap((id) => heldIps(l, id)).sort()).toEqual(freedIps);

      // Cancel them at once. Each either stops (CANCELLED, host back) or had already completed
      // (409, host kept); whichever it was, the pool says so exactly.
      const cancels = await Promise.all(newIds.map((id) => server.request('POST', `/api/provision/${id}/cancel`, { token: server.adminToken })));
      expect(cancels.every((c) => c.status === 200 || c.status === 409)).toBe(true);
      await allFinished(newIds);
      const cancelled: number[] = [];
      for (const [i, id] of newIds.entries()) {
        const status = await statusOf(id);
        expect(status).toBe(cancels[i].status === 200 ? 'CANCELLED' : 'COMPLETED');
        if (status === 'CANCELLED') cancelled.push(id);
      }
      l = await ledger();
      expect(l.free).toHaveLength(cancelled.length);
      const cancelledIps = l.free.map((h) => h.ip).sort();
      for (const ip of cancelledIps) expect(freedIps).toContain(ip);

      // Those hosts are taken again too (and one more order than there are hosts is refused).
      const third = await Promise.all(Array.from({ length: cancelled.length + 5 }, (_, i) => order(`third-${i}`)));
      expect(tally(third)).toEqual(cancelled.length ? { 200: cancelled.length, 409: 5 } : { 409: 5 });
      const thirdIds = third.filter((a) => a.status === 200).map((a) => a.body.project_id as number);
      l = await ledger();
      expect(l.free).toEqual([]);
      expect(thirdIds.flatMap((id) => heldIps(l, id)).sort()).toEqual(cancelledIps);
      await allFinished(thirdIds);
      l = await ledger();
      expect(l.held).toHaveLength(POOL);
      expect(l.projects.filter((p) => p.status === 'COMPLETED')).toHaveLength(POOL);
    }, 120_000);
  });
}
