/**
 * RUNNER=ansible against real hosts (issue #15): a fleet of network namespaces on this machine,
 * each with its own sshd, and real `ansible-playbook` over SSH. The playbooks here are a set a
 * user could write from docs/PLAYBOOKS.md alone (tests/fixtures/playbooks-custom); the default
 * playbooks are exercised in ansible-default-playbooks.test.ts.
 *
 * - An order runs unchanged: every host holds what H-CMP passed, a subscriber sees the task-level
 *   lines live and in order, the resources hold what the playbook reported plus the derived ones.
 * - Jinja in an order (values and keys) arrives as text: nothing runs, on the server or the hosts.
 * - An unreachable host fails the run within 60 s, named; hosts return; a retry completes.
 * - Cancel during a long task: CANCELLED within 15 s, no process of the run left.
 * - Delete: the teardown playbook runs, what provision made is gone, the hosts are back.
 * - The private key's text is nowhere: database file and WAL, logs, events, answers, child argv.
 * - ANSIBLE_MAX_PARALLEL holds; two orders on disjoint hosts run at once when it allows.
 * - kill -9 of the server mid-run, then a restart: the run resumes and completes, never two
 *   playbooks of one project at once. SIGTERM: the run is stopped and handed back, and resumed.
 * - A host whose SSH key changed fails the run saying so.
 *
 * Needs root (network namespaces) and ansible: skipped with a message elsewhere, required in CI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../scripts/fleet/lib.js';
import { setHostLink } from '../../scripts/fleet/lib.js';
import { shouldRunAnsible } from '../helpers/ansible.js';
import { ansibleEnv, CUSTOM_PLAYBOOKS, removeFleet, testFleet } from '../helpers/fleet.js';
import { dataTargets, followProject, killAllServers, openDbView, spawnServer, waitUntil, type DbTarget, type DbView, type ServerProcess } from '../helpers/process.js';
import { shouldRunAsRoot } from '../helpers/root.js';
import { runProcesses, watchRuns } from '../helpers/run-watch.js';

const runSuite = shouldRunAsRoot('Ansible runner against fleet hosts') && shouldRunAnsible('Ansible runner against fleet hosts');
const data = dataTargets('ansible');

interface Order {
  serviceName: string;
  config: Record<string, unknown>;
}

describe.skipIf(!runSuite)('RUNNER=ansible on fleet hosts (a playbook set written from the contract)', () => {
  let fleet: Fleet;
  let db: DbTarget;
  let server: ServerProcess;
  let view: DbView;
  let token: string;
  const env = (extra: Record<string, string> = {}) => ansibleEnv(fleet, CUSTOM_PLAYBOOKS, { ANSIBLE_STOP_GRACE_SECONDS: '2', ...extra });
  const bodies: string[] = [];

  const order = async (o: Order): Promise<number> => {
    const res = await server.request('POST', '/api/provision', { token, body: { serviceName: o.serviceName, config: o.config, targetInfra: { type: 'vsphere' } } });
    bodies.push(JSON.stringify(res.body));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.project_id as number;
  };
  const row = async (id: number) => (await view.projects()).find((p) => p.id === id);
  const settled = (id: number, status: string, timeoutMs: number) =>
    waitUntil(async () => (await row(id))?.status === status, timeoutMs, `project ${id} ${status}`, 200);
  const logsOf = async (id: number) => (await view.events()).filter((e) => e.projectId === id).map((e) => e.message ?? `${e.kind}:${e.status}`);
  const hostsOf = async (id: number) => (await view.hosts()).filter((h) => h.projectId === id);
  const srv = (i: number, ...path: string[]) => join(fleet.hosts[i].srv, ...path);

  beforeAll(async () => {
    fleet = await testFleet(3);
    db = await data.fresh('sqlite');
    server = await spawnServer({ db, name: 'ansible', env: env() });
    token = await server.login();
    view = await openDbView(db);
  }, 60_000);

  afterAll(async () => {
    await view?.close();
    await killAllServers();
    removeFleet(fleet);
    await data.cleanUp();
  }, 60_000);

  it('runs a standard order on three hosts: each holds what H-CMP passed, a subscriber sees every task line live, resources as reported', async () => {
    const client = server.wsClient(token);
    const id = await order({ serviceName: 'custom-standard', config: { template: 'standard', packages: ['nginx', 'redis'], environment: 'dev', extra_key: { nested: [1, 'two'] } } });
    const stream = followProject(client, id);
    await settled(id, 'COMPLETED', 60_000);
    expect(await stream.done).toBe(true);
    const stored = (await view.events()).filter((e) => e.projectId === id);
    expect(stream.events.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    const lines = stream.events.map((e) => e.message ?? '');
    // Task lines with their progress, host results, the recap, in the playbook's order.
    const taskLines = lines.filter((l) => /^\[\d+(\/\d+)?\] TASK \[/.test(l));
    expect(taskLines.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'TASK [Make the service directory]',
      'TASK [Record what H-CMP passed]',
      'TASK [Take as long as the order asks]',
      'TASK [Fail when the order asks]',
      'TASK [Report resources]',
    ]);
    expect(taskLines[1]).toMatch(/^\[2\/5\] /);
    expect(lines.filter((l) => /^changed: \[/.test(l))).toHaveLength(6);
    expect(lines.filter((l) => l.startsWith('RECAP '))).toHaveLength(3);

    const held = await hostsOf(id);
    expect(held.map((h) => h.ipAddress).sort()).toEqual(fleet.hosts.map((h) => h.address).sort());
    const roles = ['LB', 'WEB', 'DB'];
    for (let i = 0; i < 3; i++) {
      const recorded = JSON.parse(readFileSync(srv(i, 'custom', 'order.json'), 'utf8'));
      expect(recorded).toMatchObject({ service: 'custom-standard', project: id, owner: 'admin', infra: 'vsphere', template: 'standard', packages: ['nginx', 'redis'], role: roles[i], index: i });
      expect(recorded.config).toEqual({ template: 'standard', packages: ['nginx', 'redis'], environment: 'dev', extra_key: { nested: [1, 'two'] } });
      expect(recorded.groups).toEqual(['hcmp_hosts', roles[i].toLowerCase()].sort());
      expect(recorded.hosts.map((h: { name: string }) => h.name)).toEqual(fleet.hosts.map((h) => h.name));
    }
    const project = await server.request('GET', `/api/history`, { token });
    const details = project.body.find((p: { id: number }) => p.id === id).details;
    expect(details.resources).toEqual({
      custom_marker: `custom:${id}`,
      web_url: `http://${fleet.hosts[0].address}/custom/`,
      alb_ip: fleet.hosts[0].address,
      db_vip: fleet.hosts[2].address,
      ssh_targets: fleet.hosts.map((h) => ({ host: h.address, port: 22, user: 'root' })),
    });
    // Trusted on first use: every host's key is recorded now.
    const keys = new Database((db as { sqlitePath: string }).sqlitePath, { readonly: true }).prepare('select ip_address, host_key from workload_pool').all() as { ip_address: string; host_key: string | null }[];
    for (const h of fleet.hosts) expect(keys.find((k) => k.ip_address === h.address)?.host_key).toMatch(new RegExp(`^${h.address.replace(/\./g, '\\.')} ssh-ed25519 `));
    await client.dispose();
  }, 120_000);

  it('deletes: the teardown playbook runs, what provision made is gone, the hosts are back in the pool', async () => {
    const id = (await view.projects()).find((p) => p.status === 'COMPLETED')!.id;
    const del = await server.request('DELETE', `/api/provision/${id}`, { token });
    expect(del.status).toBe(200);
    await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
    for (let i = 0; i < 3; i++) expect(existsSync(srv(i, 'custom'))).toBe(false);
    // Nothing of either run is left: no playbook, no ssh connection master.
    expect(runProcesses().filter((p) => p.project === id)).toEqual([]);
    expect((await view.hosts()).every((h) => h.status === 'available' && h.projectId === null)).toBe(true);
  }, 90_000);

  it('passes Jinja in an order as text: nothing runs on the server or the hosts, the playbook sees the literal text', async () => {
    const marker = `/tmp/hcmp-jinja-${process.pid}-${Date.now()}`;
    const evil = {
      pipe: `{{ lookup('pipe', 'touch ${marker}-pipe') }}`,
      statement: `{% set x = lookup('pipe', 'touch ${marker}-stmt') %}{{ x }}`,
      filter: `{{ 'abc' | upper }}`,
      [`{{ lookup('pipe', 'touch ${marker}-key') }}`]: 'a key with Jinja',
      control: 'line\u0001\u007f\u0085\u2028end "quoted" \\ back',
    };
    const id = await order({ serviceName: 'jinja-as-text', config: { template: 'single', evil } });
    await settled(id, 'COMPLETED', 60_000);
    const recorded = JSON.parse(readFileSync(srv(0, 'custom', 'order.json'), 'utf8'));
    expect(recorded.config.evil).toEqual(evil);
    for (const suffix of ['-pipe', '-stmt', '-key']) expect(existsSync(`${marker}${suffix}`), `${marker}${suffix}`).toBe(false);
    const del = await server.request('DELETE', `/api/provision/${id}`, { token });
    expect(del.status).toBe(200);
    await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
  }, 90_000);

  it('fails a run whose host does not answer within 60 s, naming it as unreachable; hosts return; a retry after it is back completes', async () => {
    setHostLink(fleet, fleet.hosts[1], false);
    let id: number;
    try {
      const started = Date.now();
      id = await order({ serviceName: 'unreachable', config: { template: 'standard' } });
      await settled(id, 'FAILED', 60_000);
      expect(Date.now() - started).toBeLessThan(60_000);
      const error = (await row(id))!.error!;
      expect(error).toContain(`host ${fleet.hosts[1].name} (${fleet.hosts[1].address}) is unreachable`);
      expect(await hostsOf(id)).toEqual([]);
    } finally {
      setHostLink(fleet, fleet.hosts[1], true);
    }
    const retry = await server.request('POST', `/api/provision/${id}/retry`, { token });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    await settled(id, 'COMPLETED', 60_000);
    const del = await server.request('DELETE', `/api/provision/${id}`, { token });
    expect(del.status).toBe(200);
    await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
  }, 180_000);

  it('cancels a run in a long task within 15 s and leaves no process of it behind', async () => {
    const id = await order({ serviceName: 'long-task', config: { template: 'single', sleep_seconds: 120 } });
    await waitUntil(async () => (await logsOf(id)).some((l) => l.includes('TASK [Take as long as the order asks]')), 60_000, 'the long task started');
    expect(runProcesses().filter((p) => p.project === id).length).toBeGreaterThan(0);
    const asked = Date.now();
    const cancel = await server.request('POST', `/api/provision/${id}/cancel`, { token });
    expect(cancel.status).toBe(200);
    await settled(id, 'CANCELLED', 15_000);
    expect(Date.now() - asked).toBeLessThan(15_000);
    await waitUntil(() => runProcesses().filter((p) => p.project === id).length === 0, 5_000, 'no process of the run left');
    expect(readdirSync(join(db.backend === 'sqlite' ? join(db.sqlitePath, '..') : '', 'runs')).filter((d) => d.startsWith(`p${id}-`))).toEqual([]);
    expect(await hostsOf(id)).toEqual([]);
  }, 120_000);

  it('stops a run that takes longer than ANSIBLE_RUN_TIMEOUT_MINUTES and fails it, saying so, with no process left', async () => {
    await server.terminate();
    server = await spawnServer({ db, name: 'timeout', env: env({ ANSIBLE_RUN_TIMEOUT_MINUTES: '0.1' }) });
    token = await server.login();
    const started = Date.now();
    const id = await order({ serviceName: 'too-slow', config: { template: 'single', sleep_seconds: 120 } });
    await settled(id, 'FAILED', 30_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await row(id))!.error).toBe('provision.yml ran longer than ANSIBLE_RUN_TIMEOUT_MINUTES (0.1 min) and was stopped');
    await waitUntil(() => runProcesses().filter((p) => p.project === id).length === 0, 5_000, 'no process of the run left');
    expect(await hostsOf(id)).toEqual([]);
    await server.terminate();
    server = await spawnServer({ db, name: 'ansible-again', env: env() });
    token = await server.login();
  }, 120_000);

  it('holds ANSIBLE_MAX_PARALLEL: with 1, a second order waits for the first; with 2, two orders on disjoint hosts run at once', async () => {
    await server.terminate();
    for (const [limit, overlap] of [
      ['1', 1],
      ['2', 2],
    ] as const) {
      server = await spawnServer({ db, name: `parallel-${limit}`, env: env({ ANSIBLE_MAX_PARALLEL: limit }) });
      token = await server.login();
      const watch = watchRuns(50);
      try {
        const ids = [await order({ serviceName: `par-${limit}-a`, config: { template: 'single', sleep_seconds: 4 } }), await order({ serviceName: `par-${limit}-b`, config: { template: 'single', sleep_seconds: 4 } })];
        for (const id of ids) await settled(id, 'COMPLETED', 90_000);
        const [a, b] = await Promise.all(ids.map(hostsOf));
        expect(a[0].ipAddress).not.toBe(b[0].ipAddress);
        expect(watch.maxConcurrentProjects()).toBe(overlap);
        if (limit === '1') expect((await logsOf(ids[1])).some((l) => l.startsWith('Waiting for a free playbook slot (ANSIBLE_MAX_PARALLEL=1)'))).toBe(true);
        for (const id of ids) {
          await server.request('DELETE', `/api/provision/${id}`, { token });
          await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
        }
      } finally {
        watch.stop();
      }
      await server.terminate();
    }
    server = await spawnServer({ db, name: 'ansible-again', env: env() });
    token = await server.login();
  }, 300_000);

  it('resumes a run after kill -9 of its server, and never runs two playbooks of the project at once', async () => {
    const watch = watchRuns(50);
    try {
      const id = await order({ serviceName: 'killed-mid-run', config: { template: 'standard', sleep_seconds: 6 } });
      await waitUntil(async () => (await logsOf(id)).some((l) => l.includes('TASK [Take as long as the order asks]')), 60_000, 'the long task started');
      const orphans = runProcesses().filter((p) => p.project === id);
      expect(orphans.length).toBeGreaterThan(0);
      await server.kill9();
      // The playbook outlives its server (a process group of its own)…
      expect(runProcesses().filter((p) => p.project === id).length).toBeGreaterThan(0);
      server = await spawnServer({ db, name: 'restarted', env: env() });
      token = await server.login();
      await settled(id, 'COMPLETED', 90_000);
      const logs = await logsOf(id);
      // …and is stopped by the next run before it starts.
      expect(logs.some((l) => /^Stopped \d+ process\(es\) an earlier run of this project left running/.test(l))).toBe(true);
      expect(logs.some((l) => /^Resumed by instance /.test(l))).toBe(true);
      expect(logs.some((l) => /^Resuming: the interrupted run had finished \d+ task\(s\) of provision\.yml/.test(l))).toBe(true);
      expect(watch.maxConcurrentRuns(id)).toBe(1);
      expect(runProcesses().filter((p) => orphans.some((o) => o.pid === p.pid))).toEqual([]);
      await server.request('DELETE', `/api/provision/${id}`, { token });
      await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
    } finally {
      watch.stop();
    }
  }, 180_000);

  it('hands a run back on SIGTERM of its server (the playbook stopped, nothing left running) and the next start completes it', async () => {
    const id = await order({ serviceName: 'handed-back', config: { template: 'single', sleep_seconds: 10 } });
    await waitUntil(async () => (await logsOf(id)).some((l) => l.includes('TASK [Take as long as the order asks]')), 60_000, 'the long task started');
    const { code, ms } = await server.terminate(30_000);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(15_000);
    expect(runProcesses().filter((p) => p.project === id)).toEqual([]);
    expect((await logsOf(id)).some((l) => /^Handed back by instance \S+ \(shutting down\)/.test(l))).toBe(true);
    expect((await row(id))!.status).toBe('RUNNING');
    server = await spawnServer({ db, name: 'after-sigterm', env: env() });
    token = await server.login();
    await settled(id, 'COMPLETED', 90_000);
    await server.request('DELETE', `/api/provision/${id}`, { token });
    await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
  }, 180_000);

  it('fails a run on a host whose SSH key changed since it was recorded, saying so', async () => {
    // A real key of another machine (ssh ignores a malformed one and would learn the host's key).
    const keyDir = mkdtempSync(join(tmpdir(), 'hcmp-otherkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'k')]);
    const other = readFileSync(join(keyDir, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    rmSync(keyDir, { recursive: true, force: true });
    const sqlite = new Database((db as { sqlitePath: string }).sqlitePath);
    sqlite.prepare('update workload_pool set host_key = ? where ip_address = ?').run(`${fleet.hosts[0].address} ${other}`, fleet.hosts[0].address);
    sqlite.close();
    const id = await order({ serviceName: 'changed-key', config: { template: 'single' } });
    await settled(id, 'FAILED', 60_000);
    expect((await row(id))!.error).toMatch(new RegExp(`host ${fleet.hosts[0].name} \\(${fleet.hosts[0].address.replace(/\./g, '\\.')}\\) is unreachable: its SSH host key has changed`));
    // An admin resets the recorded key (the host was rebuilt on purpose): the retry records the new one and completes.
    const host = (await view.hosts()).find((h) => h.ipAddress === fleet.hosts[0].address)!;
    const reset = await server.request('POST', `/api/admin/pool/${host.id}/reset-host-key`, { token });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body.host.host_key_set).toBe(false);
    expect((await server.request('POST', `/api/provision/${id}/retry`, { token })).status).toBe(200);
    await settled(id, 'COMPLETED', 60_000);
    await server.request('DELETE', `/api/provision/${id}`, { token });
    await waitUntil(async () => !(await row(id)), 60_000, 'the project gone');
  }, 120_000);

  it('keeps the private key out of the database file and its WAL, the logs, the events, every answer and every command line', async () => {
    const key = readFileSync(fleet.keyFile, 'utf8');
    const body = key.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(body.length).toBeGreaterThan(2);
    const needles = body.filter((l) => l.length > 20);
    const watch = watchRuns(50);
    const id = await order({ serviceName: 'key-check', config: { template: 'single' } });
    await settled(id, 'COMPLETED', 60_000);
    watch.stop();
    const haystacks: [string, string][] = [
      ['server log', server.output()],
      ['events', JSON.stringify(await view.events())],
      ['answers', bodies.join('\n')],
      ['history', JSON.stringify((await server.request('GET', '/api/history', { token })).body)],
      ['command lines', watch.commandLines().join('\n')],
    ];
    const dir = join((db as { sqlitePath: string }).sqlitePath, '..');
    for (const f of readdirSync(dir).filter((f) => f.startsWith('hcmp.db'))) haystacks.push([f, readFileSync(join(dir, f), 'latin1')]);
    expect(watch.commandLines().some((c) => c.includes('ansible-playbook'))).toBe(true);
    for (const [what, text] of haystacks) for (const n of needles) expect(text.includes(n), `${what} holds a line of the private key`).toBe(false);
  }, 90_000);
});
