/**
 * The default playbooks (playbooks/) are lint-clean and parse: `ansible-lint` passes with the
 * directory's own configuration (the default rule set), and `ansible-playbook --syntax-check`
 * accepts provision.yml and teardown.yml with files shaped as H-CMP writes them (an inventory
 * with every role group, `hcmp` and `hcmp_vcenter` with every string `!unsafe`). Also: the
 * playbooks' package table covers every package the catalog offers.
 *
 * Needs ansible-playbook and ansible-lint: skipped with a message elsewhere, required where
 * REQUIRE_ANSIBLE is set (CI).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { shouldRunAnsible } from '../helpers/ansible.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PLAYBOOKS = join(ROOT, 'playbooks');
const runSuite = shouldRunAnsible('default playbooks: lint and syntax check');

/** An inventory as H-CMP writes it, with a host in every group a catalog role maps to. */
const INVENTORY = `all:
  children:
    hcmp_hosts:
      hosts:
        WKLD-1: {ansible_host: !unsafe "192.0.2.1", hcmp_role: !unsafe "LB", hcmp_index: 0}
        WKLD-2: {ansible_host: !unsafe "192.0.2.2", hcmp_role: !unsafe "WEB+WAS+DB", hcmp_index: 1}
        WKLD-3: {ansible_host: !unsafe "192.0.2.3", hcmp_role: !unsafe "MASTER", hcmp_index: 2}
        WKLD-4: {ansible_host: !unsafe "192.0.2.4", hcmp_role: !unsafe "WORKER", hcmp_index: 3}
        WKLD-5: {ansible_host: !unsafe "192.0.2.5", hcmp_role: !unsafe "WEB+CACHE", hcmp_index: 4}
    lb: {hosts: {WKLD-1: {}}}
    web: {hosts: {WKLD-2: {}, WKLD-5: {}}}
    was: {hosts: {WKLD-2: {}}}
    db: {hosts: {WKLD-2: {}}}
    k8s_master: {hosts: {WKLD-3: {}}}
    k8s_worker: {hosts: {WKLD-4: {}}}
    cache: {hosts: {WKLD-5: {}}}
`;

const HOSTS = [
  ['WKLD-1', '192.0.2.1', 'LB', ['lb']],
  ['WKLD-2', '192.0.2.2', 'WEB+WAS+DB', ['web', 'was', 'db']],
  ['WKLD-3', '192.0.2.3', 'MASTER', ['k8s_master']],
  ['WKLD-4', '192.0.2.4', 'WORKER', ['k8s_worker']],
  ['WKLD-5', '192.0.2.5', 'WEB+CACHE', ['web', 'cache']],
] as const;

const u = (text: string) => `!unsafe ${JSON.stringify(text)}`;

const HCMP_VARS = `hcmp: {${[
  'project_id: 1',
  `service_name: ${u("shop {{ lookup('pipe', 'id') }} <script>")}`,
  `owner: ${u('alice')}`,
  `infra: ${u('vsphere')}`,
  `template: ${u('standard')}`,
  'design: null',
  `packages: [${['postgresql', 'redis', 'docker', 'python'].map(u).join(', ')}]`,
  `environment: ${u('dev')}`,
  `traffic: ${u('low')}`,
  `config: {${u('{{ key }}')}: ${u('{{ value }}')}}`,
  `hosts: [${HOSTS.map(([name, address, role, groups]) => `{name: ${u(name)}, address: ${u(address)}, role: ${u(role)}, groups: [${groups.map(u).join(', ')}]}`).join(', ')}]`,
].join(', ')}}
`;

const VCENTER_VARS = `hcmp_vcenter: {hostname: ${u('vcenter.example.test')}, username: ${u('administrator@vsphere.local')}, password: ${u('not-a-secret')}, esxi: ${u('')}}\n`;

function run(program: string, args: string[], env: Record<string, string>) {
  const result = spawnSync(program, args, {
    cwd: PLAYBOOKS,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ANSIBLE_NOCOLOR: 'True', ANSIBLE_FORCE_COLOR: 'False', ...env },
    timeout: 170_000,
  });
  const output = `$ ${program} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`;
  return { status: result.status, output };
}

describe.skipIf(!runSuite)('the default playbooks pass ansible-lint and a syntax check', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hcmp-playbooks-lint-'));
    writeFileSync(join(dir, 'inventory.yml'), INVENTORY);
    writeFileSync(join(dir, 'hcmp.yml'), HCMP_VARS);
    writeFileSync(join(dir, 'vcenter.yml'), VCENTER_VARS);
    // Ansible's own temporary files and caches stay in the test's directory.
    env = { ANSIBLE_HOME: join(dir, 'ansible-home'), ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp') };
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ansible-lint finds nothing with the default rule set', { timeout: 180_000 }, () => {
    const { status, output } = run('ansible-lint', [], env);
    expect(status, output).toBe(0);
  });

  for (const playbook of ['provision.yml', 'teardown.yml']) {
    it(`${playbook} passes ansible-playbook --syntax-check with H-CMP's inventory and variables`, { timeout: 180_000 }, () => {
      const { status, output } = run(
        'ansible-playbook',
        ['--syntax-check', '-i', join(dir, 'inventory.yml'), '-e', `@${join(dir, 'hcmp.yml')}`, '-e', `@${join(dir, 'vcenter.yml')}`, playbook],
        env,
      );
      expect(status, output).toBe(0);
    });
  }
});

describe("the default playbooks' package table", () => {
  it('has an entry for every package the catalog offers: its distribution packages, or why none ships it', () => {
    const catalog = JSON.parse(readFileSync(join(ROOT, 'server', 'config', 'catalog.json'), 'utf8')) as { packages: string[] };
    const defaults = parse(readFileSync(join(PLAYBOOKS, 'roles', 'hcmp_packages', 'defaults', 'main.yml'), 'utf8')) as {
      hcmp_packages_table: Record<string, Record<string, unknown>>;
    };
    const table = defaults.hcmp_packages_table;
    const uncovered = catalog.packages.filter((p) => {
      const entry = table[p];
      if (!entry) return true;
      if (typeof entry.unavailable === 'string') return false;
      const debian = entry.Debian as { name?: string } | undefined;
      return !debian?.name;
    });
    expect(uncovered, 'catalog packages with neither a Debian package nor an "unavailable" reason').toEqual([]);
  });
});
