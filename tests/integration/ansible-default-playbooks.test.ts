/**
 * The default playbooks (playbooks/) run by RUNNER=ansible on fleet hosts (issue #15):
 *
 * - A standard-template order (LB, WEB, DB) on three hosts ends COMPLETED; a provisionStatus
 *   subscriber sees the task-level lines live and in order; the web host serves the page the
 *   playbook deployed, naming the service, the LB serves it too, `resources.web_url` answers,
 *   and every host's node exporter answers.
 * - Delete: the teardown playbook runs, the page and the exporters are gone, the hosts are back
 *   in the pool.
 *
 * Needs root (network namespaces) and ansible: skipped with a message elsewhere, required in CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../scripts/fleet/lib.js';
import { processesOf } from '../../scripts/fleet/lib.js';
import { shouldRunAnsible } from '../helpers/ansible.js';
import { ansibleEnv, DEFAULT_PLAYBOOKS, removeFleet, testFleet } from '../helpers/fleet.js';
import { dataTargets, followProject, killAllServers, openDbView, spawnServer, waitUntil, type DbView, type ServerProcess } from '../helpers/process.js';
import { shouldRunAsRoot } from '../helpers/root.js';

const runSuite = shouldRunAsRoot('default playbooks on fleet hosts') && shouldRunAnsible('default playbooks on fleet hosts');
const data = dataTargets('playbooks');

async function get(url: string): Promise<{ status: number; text: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return null;
  }
}

describe.skipIf(!runSuite)('the default playbooks on fleet hosts', () => {
  let fleet: Fleet;
  let server: ServerProcess;
  let view: DbView;
  let token: string;
  let id: number;

  beforeAll(async () => {
    fleet = await testFleet(3);
    const db = await data.fresh('sqlite');
    server = await spawnServer({ db, name: 'default-playbooks', env: ansibleEnv(fleet, DEFAULT_PLAYBOOKS) });
    token = await server.login();
    view = await openDbView(db);
  }, 60_000);

  afterAll(async () => {
    await view?.close();
    await killAllServers();
    removeFleet(fleet);
    await data.cleanUp();
  }, 60_000);

  it('provisions a standard order on three hosts: live task lines in order, the page on the web host and through the LB, web_url answers, exporters everywhere', async () => {
    const client = server.wsClient(token);
    const res = await server.request('POST', '/api/provision', {
      token,
      body: { serviceName: 'shop-front', config: { template: 'standard', packages: ['nginx'], environment: 'dev', traffic: 'low' }, targetInfra: { type: 'vsphere' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    id = res.body.project_id;
    const stream = followProject(client, id);
    // Live: a task line reaches the subscriber while the run is still going.
    await waitUntil(() => stream.events.some((e) => /^\[\d+\/\d+\] TASK \[/.test(e.message ?? '')), 60_000, 'a task line streamed');
    expect((await view.projects()).find((p) => p.id === id)?.status).toBe('RUNNING');
    await waitUntil(async () => ['COMPLETED', 'FAILED'].includes((await view.projects()).find((p) => p.id === id)?.status ?? ''), 180_000, 'the run finished', 500);
    const project = (await view.projects()).find((p) => p.id === id)!;
    expect(project.error).toBeNull();
    expect(project.status).toBe('COMPLETED');
    expect(await stream.done).toBe(true);
    const stored = (await view.events()).filter((e) => e.projectId === id);
    expect(stream.events.map((e) => `${e.seq}:${e.message}`)).toEqual(stored.map((e) => `${e.seq}:${e.message}`));
    const taskLines = stream.events.map((e) => e.message ?? '').filter((l) => /^\[\d+\/\d+\] (TASK|RUNNING HANDLER) \[/.test(l));
    expect(taskLines.length).toBeGreaterThan(5);
    // Numbered in order.
    expect(taskLines.map((l) => Number(/^\[(\d+)/.exec(l)![1]))).toEqual(taskLines.map((_, i) => i + 1));
    for (const host of fleet.hosts) expect(stream.events.filter((e) => e.message?.startsWith(`RECAP ${host.name}: `))).toHaveLength(1);

    const [lb, web, dbHost] = fleet.hosts;
    const page = await get(`http://${web.address}/`);
    expect(page?.status).toBe(200);
    expect(page?.text).toContain('shop-front');
    expect((await get(`http://${lb.address}/`))?.text).toContain('shop-front');
    const history = (await server.request('GET', '/api/history', { token })).body.find((p: { id: number }) => p.id === id);
    const resources = history.details.resources;
    expect(resources.web_url).toBe(`http://${lb.address}/`);
    expect((await get(resources.web_url))?.text).toContain('shop-front');
    expect(resources.ssh_targets).toHaveLength(3);
    for (const host of [lb, web, dbHost]) {
      const metrics = await get(`http://${host.address}:9100/metrics`);
      expect(metrics?.status, host.name).toBe(200);
      expect(metrics?.text).toContain('node_cpu_seconds_total');
    }
    await client.dispose();
  }, 240_000);

  it('deletes it: the teardown playbook runs, the page and exporters are gone, the hosts are back in the pool', async () => {
    const del = await server.request('DELETE', `/api/provision/${id}`, { token });
    expect(del.status).toBe(200);
    await waitUntil(async () => !(await view.projects()).some((p) => p.id === id), 180_000, 'the project gone', 500);
    for (const host of fleet.hosts) {
      expect(await get(`http://${host.address}/`), `${host.name} port 80`).toBeNull();
      expect(await get(`http://${host.address}:9100/metrics`), `${host.name} port 9100`).toBeNull();
      // Only the host's sshd is left in its namespace (its sessions end once the run's connections close).
      await waitUntil(() => processesOf(host).length === 1, 10_000, `${host.name} running only its sshd`);
    }
    expect((await view.hosts()).every((h) => h.status === 'available' && h.projectId === null)).toBe(true);
  }, 240_000);
});
