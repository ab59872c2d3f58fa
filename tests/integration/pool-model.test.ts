/**
 * A model-based test of the workload pool (issue 5, "What it must show" item 2): fast-check
 * generates sequences of allocate / fail / cancel / retry / release (delete) / delete-while-
 * running / refused-cancel commands and runs them against a real server (SQLite, an 8-host pool from
 * WORKLOAD_POOL_FILE). A tiny model says how many hosts must be free and which projects exist.
 * After every command the database itself must agree: held ∪ free = pool, held ∩ free = ∅,
 * each held host's project is live and holds exactly its host count, FAILED and CANCELLED hold
 * none, and the model's free count equals the database's. Orders are refused (409) exactly when
 * the model has too few free hosts. It runs against real HTTP, so it lives under integration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../../server/entities/index.js';
import { heldIps, readLedger } from '../helpers/host-ledger.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const POOL = 8;
const TEMPLATES = { single: 1, standard: 3, enterprise: 5 } as const;
type Template = keyof typeof TEMPLATES;
const FAIL_STEPS = ['web', 'db', 'alb', 'ssh'] as const;

type Status = 'COMPLETED' | 'FAILED' | 'CANCELLED';
interface ModelProject {
  hosts: number;
  status: Status;
  /** Set for orders made with mockFailAt: every retry fails again (same input). */
  failAt: string | null;
}
interface Model {
  projects: Map<number, ModelProject>;
}
interface Real {
  server: TestServer;
  token: string;
}

const freeIn = (m: Model) => POOL - [...m.projects.values()].filter((p) => p.status === 'COMPLETED').reduce((n, p) => n + p.hosts, 0);
const pick = <T>(items: T[], index: number): T => items[index % items.length];
const idsWith = (m: Model, statuses: Status[]) => [...m.projects.entries()].filter(([, p]) => statuses.includes(p.status)).map(([id]) => id);

let serial = 0;
const em = (r: Real) => r.server.app.orm.em.fork();
const statusOf = async (r: Real, id: number) => (await em(r).findOne(Project, id))?.status;
async function waitStatus(r: Real, id: number, statuses: string[]): Promise<string> {
  return waitFor(async () => {
    const s = await statusOf(r, id);
    return s && statuses.includes(s) ? s : undefined;
  }, 15_000, `project ${id} to be ${statuses.join('/')}`);
}

/** Places an order; checks the refusal rule; returns the id, or null when refused. */
async function place(m: Model, r: Real, template: Template, failAt: string | null): Promise<number | null> {
  const n = TEMPLATES[template];
  const free = freeIn(m);
  const res = await r.server.request('POST', '/api/provision', {
    token: r.token,
    body: { serviceName: `model-${++serial}`, config: { template, ...(failAt ? { mockFailAt: failAt } : {}) }, targetInfra: 'vsphere' },
  });
  if (free < n) {
    expect(res.status, `order of ${n} with ${free} free`).toBe(409);
    expect(res.body).toEqual({ detail: `${n} hosts needed, ${free} available` });
    return null;
  }
  expect(res.status, `order of ${n} with ${free} free: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body.project_id as number;
}

/** The database agrees with the model, and every host is accounted for. */
async function checkAgainst(m: Model, r: Real): Promise<void> {
  await r.server.app.dispatcher.whenIdle();
  const ledger = await readLedger(r.server, POOL);
  expect(ledger.problems).toEqual([]);
  expect(ledger.free.length, 'free hosts, database vs model').toBe(freeIn(m));
  expect(ledger.held.length + ledger.free.length).toBe(POOL);
  const inDb = new Map(ledger.projects.map((p) => [p.id, p]));
  expect([...inDb.keys()].sort((a, b) => a - b)).toEqual([...m.projects.keys()].sort((a, b) => a - b));
  for (const [id, p] of m.projects) {
    expect(inDb.get(id)!.status, `project ${id}`).toBe(p.status);
    expect(heldIps(ledger, id)).toHaveLength(p.status === 'COMPLETED' ? p.hosts : 0);
  }
}

class Allocate implements fc.AsyncCommand<Model, Real> {
  constructor(readonly template: Template) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = await place(m, r, this.template, null);
    if (id !== null) {
      expect(await waitStatus(r, id, ['COMPLETED', 'FAILED', 'CANCELLED'])).toBe('COMPLETED');
      m.projects.set(id, { hosts: TEMPLATES[this.template], status: 'COMPLETED', failAt: null });
    }
    await checkAgainst(m, r);
  }
  toString = () => `allocate(${this.template})`;
}

class Fail implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly template: Template,
    readonly step: string,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = await place(m, r, this.template, this.step);
    if (id !== null) {
      expect(await waitStatus(r, id, ['COMPLETED', 'FAILED', 'CANCELLED'])).toBe('FAILED');
      m.projects.set(id, { hosts: TEMPLATES[this.template], status: 'FAILED', failAt: this.step });
    }
    await checkAgainst(m, r);
  }
  toString = () => `fail(${this.template} at ${this.step})`;
}

/** Orders and cancels at once: it stops (CANCELLED) or had already finished (409, COMPLETED). */
class OrderThenCancel implements fc.AsyncCommand<Model, Real> {
  constructor(readonly template: Template) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = await place(m, r, this.template, null);
    if (id !== null) {
      const res = await r.server.request('POST', `/api/provision/${id}/cancel`, { token: r.token });
      expect([200, 409]).toContain(res.status);
      const final = await waitStatus(r, id, ['COMPLETED', 'FAILED', 'CANCELLED']);
      expect(final).toBe(res.status === 200 ? 'CANCELLED' : 'COMPLETED');
      m.projects.set(id, { hosts: TEMPLATES[this.template], status: final as Status, failAt: null });
    }
    await checkAgainst(m, r);
  }
  toString = () => `orderThenCancel(${this.template})`;
}

class Retry implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => idsWith(m as Model, ['FAILED', 'CANCELLED']).length > 0;
  async run(m: Model, r: Real) {
    const id = pick(idsWith(m, ['FAILED', 'CANCELLED']), this.index);
    const p = m.projects.get(id)!;
    const free = freeIn(m);
    const res = await r.server.request('POST', `/api/provision/${id}/retry`, { token: r.token });
    if (free < p.hosts) {
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ detail: `${p.hosts} hosts needed, ${free} available` });
    } else {
      expect(res.status).toBe(200);
      const final = await waitStatus(r, id, ['COMPLETED', 'FAILED', 'CANCELLED']);
      expect(final).toBe(p.failAt ? 'FAILED' : 'COMPLETED');
      p.status = final as Status;
    }
    await checkAgainst(m, r);
  }
  toString = () => `retry(#${this.index})`;
}

/** Deletes any project: it tears down, gives back what it held, and is gone. */
class Release implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.projects.size > 0;
  async run(m: Model, r: Real) {
    const id = pick([...m.projects.keys()], this.index);
    const res = await r.server.request('DELETE', `/api/provision/${id}`, { token: r.token });
    expect(res.status).toBe(200);
    await waitFor(async () => !(await em(r).findOne(Project, id)), 15_000, `project ${id} to be gone`);
    m.projects.delete(id);
    await checkAgainst(m, r);
  }
  toString = () => `release(#${this.index})`;
}

/** Orders and deletes at once, while it waits or runs: it stops, tears down, gives back its hosts, is gone. */
class OrderThenDelete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly template: Template) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = await place(m, r, this.template, null);
    if (id !== null) {
      const res = await r.server.request('DELETE', `/api/provision/${id}`, { token: r.token });
      expect(res.status).toBe(200);
      const answeredAt = Date.now();
      // Gone, or stuck in a state a delete must never end in (then the check below says which).
      const left = await waitFor(async () => {
        const p = await em(r).findOne(Project, id);
        return !p ? 'gone' : ['FAILED', 'CANCELLED', 'COMPLETED'].includes(p.status) ? `${p.status}: ${p.details.logs.at(-1)}` : undefined;
      }, 15_000, `project ${id} to be gone`);
      expect(left, `project ${id} after its delete`).toBe('gone');
      // A teardown of at most four 10 ms steps: anything near seconds means it failed and waited
      // for a retry (the delete itself must not count as a failure).
      expect(Date.now() - answeredAt, `project ${id} teardown time`).toBeLessThan(2_000);
    }
    await checkAgainst(m, r);
  }
  toString = () => `orderThenDelete(${this.template})`;
}

/** Cancelling a project whose run has ended is refused and changes nothing. */
class CancelFinished implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.projects.size > 0;
  async run(m: Model, r: Real) {
    const id = pick([...m.projects.keys()], this.index);
    const res = await r.server.request('POST', `/api/provision/${id}/cancel`, { token: r.token });
    expect(res.status).toBe(409);
    await checkAgainst(m, r);
  }
  toString = () => `cancelFinished(#${this.index})`;
}

const template = fc.constantFrom<Template>('single', 'standard', 'enterprise');
const commands = fc.commands(
  [
    template.map((t) => new Allocate(t)),
    fc.tuple(template, fc.constantFrom(...FAIL_STEPS)).map(([t, s]) => new Fail(t, s)),
    template.map((t) => new OrderThenCancel(t)),
    template.map((t) => new OrderThenDelete(t)),
    fc.nat().map((i) => new Retry(i)),
    fc.nat().map((i) => new Release(i)),
    fc.nat().map((i) => new CancelFinished(i)),
  ],
  { maxCommands: 20, size: 'large' },
);

describe('workload pool model: held ∪ free = pool after any allocate / fail / cancel / retry / release sequence (sqlite)', () => {
  let server: TestServer;
  let token: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hcmp-model-'));
    const poolFile = join(dir, 'pool.json');
    writeFileSync(poolFile, JSON.stringify(Array.from({ length: POOL }, (_, i) => ({ vm_name: `MODEL-${i + 1}`, ip_address: `10.77.0.${i + 1}`, infra: 'vsphere' }))));
    server = await startTestServer({ backend: 'sqlite', env: { WORKLOAD_POOL_FILE: poolFile, MOCK_STEP_DELAY_MS: '10' } });
    token = await server.createUser('model-user');
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Deletes whatever the previous run left, through the API, and waits until it is all gone. */
  async function clean(): Promise<void> {
    await server.app.dispatcher.whenIdle();
    const left = await server.app.orm.em.fork().find(Project, {});
    for (const p of left) expect((await server.request('DELETE', `/api/provision/${p.id}`, { token })).status).toBe(200);
    await waitFor(async () => (await server.app.orm.em.fork().count(Project, {})) === 0, 20_000, 'a clean slate');
    await server.app.dispatcher.whenIdle();
    const ledger = await readLedger(server, POOL);
    expect(ledger.problems).toEqual([]);
    expect(ledger.free).toHaveLength(POOL);
  }

  it('keeps the database in step with the model', async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        await clean();
        await fc.asyncModelRun(() => ({ model: { projects: new Map() }, real: { server, token } }), cmds);
      }),
      { numRuns: 25, endOnFailure: true },
    );
  }, 120_000);
});
