/**
 * What the Ansible runner hands to ansible-playbook, and what it makes of its output
 * (server/runners/ansible/inventory.ts, events.ts): the `!unsafe` YAML holds any JSON value
 * exactly (checked with a YAML parser over arbitrary values), the role groups, the derived
 * resources, and the translation of a recorded run's JSON lines into log lines.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCatalog } from '../../server/config/catalog.js';
import { resourcesOf } from '../../server/runners/ansible/ansible-runner.js';
import { countListedTasks, PlaybookTranslator } from '../../server/runners/ansible/events.js';
import { groupsOfRole, hcmpVars, hcmpVarsYaml, inventoryHosts, inventoryYaml, rolesOf, unsafeYaml } from '../../server/runners/ansible/inventory.js';

/** Parses YAML as Ansible would, turning `!unsafe` scalars into plain strings and counting them. */
function parseUnsafe(text: string): { value: unknown; unsafe: string[] } {
  const unsafe: string[] = [];
  const value = parse(text, {
    customTags: [
      {
        tag: '!unsafe',
        resolve: (str: string) => {
          unsafe.push(str);
          return str;
        },
      },
    ],
  });
  return { value, unsafe };
}

const catalog = loadCatalog(undefined);

describe('!unsafe YAML', () => {
  it('holds any JSON value exactly, every string and key tagged unsafe', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: 'grapheme' }), (value, text) => {
        const doc = { value, text };
        const { value: back, unsafe } = parseUnsafe(`x: ${unsafeYaml(doc)}\n`);
        expect(back).toEqual({ x: JSON.parse(JSON.stringify(doc)) });
        const strings: string[] = [];
        const walk = (v: unknown) => {
          if (typeof v === 'string') strings.push(v);
          else if (Array.isArray(v)) v.forEach(walk);
          else if (v && typeof v === 'object') for (const [k, inner] of Object.entries(v)) strings.push(k), walk(inner);
        };
        walk(JSON.parse(JSON.stringify(doc)));
        expect(unsafe.length).toBe(strings.length);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no Jinja, quote or line break outside a quoted scalar', () => {
    const text = unsafeYaml({ "{{ lookup('pipe', 'id') }}": `{% raw %}"\n\\'{{ x }}`, n: 1, b: true, z: null });
    expect(text).not.toMatch(/\n/);
    expect(parseUnsafe(`v: ${text}`).value).toEqual({ v: { "{{ lookup('pipe', 'id') }}": `{% raw %}"\n\\'{{ x }}`, n: 1, b: true, z: null } });
  });
});

describe('inventory', () => {
  it('derives groups from catalog roles', () => {
    expect(groupsOfRole('WEB+WAS+DB')).toEqual(['web', 'was', 'db']);
    expect(groupsOfRole('LB')).toEqual(['lb']);
    expect(groupsOfRole('MASTER')).toEqual(['k8s_master']);
    expect(groupsOfRole('WORKER')).toEqual(['k8s_worker']);
  });

  it('gives each host its template role, and WEB (the first also CACHE with Redis) to an AWS design', () => {
    expect(rolesOf({ kind: 'template', templateType: 'standard', config: {} }, catalog, 3)).toEqual(['LB', 'WEB', 'DB']);
    expect(rolesOf({ kind: 'template', templateType: 'k8s_small', config: {} }, catalog, 3)).toEqual(['MASTER', 'WORKER', 'WORKER']);
    expect(rolesOf({ kind: 'aws-design', templateType: 'aws', config: { redis: true } }, catalog, 3)).toEqual(['WEB+CACHE', 'WEB', 'WEB']);
  });

  it('writes hosts, addresses and role groups, and refuses a host name Ansible would misread', () => {
    const hosts = inventoryHosts(
      [
        { vmName: 'WKLD-1', ipAddress: '10.0.0.1' },
        { vmName: 'WKLD-2', ipAddress: '10.0.0.2' },
      ],
      ['LB', 'WEB'],
    );
    const { value } = parseUnsafe(inventoryYaml(hosts));
    expect(value).toEqual({
      all: {
        children: {
          hcmp_hosts: { hosts: { 'WKLD-1': { ansible_host: '10.0.0.1', hcmp_role: 'LB', hcmp_index: 0 }, 'WKLD-2': { ansible_host: '10.0.0.2', hcmp_role: 'WEB', hcmp_index: 1 } } },
          lb: { hosts: { 'WKLD-1': {} } },
          web: { hosts: { 'WKLD-2': {} } },
        },
      },
    });
    expect(() => inventoryYaml(inventoryHosts([{ vmName: '{{ x }}', ipAddress: '10.0.0.3' }], ['WEB']))).toThrow(/cannot be an inventory name/);
    expect(() => inventoryYaml(inventoryHosts([{ vmName: 'ok', ipAddress: 'not-an-address' }], ['WEB']))).toThrow(/no IPv4 address/);
  });

  it('passes the order as the hcmp variable, config as sent', () => {
    const hosts = inventoryHosts([{ vmName: 'h1', ipAddress: '10.0.0.1' }], ['WEB+WAS+DB']);
    const spec = {
      serviceName: 'svc',
      userName: 'alice',
      kind: 'template' as const,
      templateType: 'single',
      hostCount: 1,
      config: { template: 'single', packages: ['nginx'], environment: 'dev', traffic: 'low' },
      infra: { type: 'vsphere' as const },
      input: { serviceName: 'svc', userName: 'alice', config: { template: 'single', packages: ['nginx'], odd: { '{{ k }}': 1 } }, targetInfra: { type: 'vsphere' } },
    };
    const { value } = parseUnsafe(hcmpVarsYaml(hcmpVars(7, spec, hosts)));
    expect(value).toEqual({
      hcmp: {
        project_id: 7,
        service_name: 'svc',
        owner: 'alice',
        infra: 'vsphere',
        template: 'single',
        design: null,
        packages: ['nginx'],
        environment: 'dev',
        traffic: 'low',
        config: { template: 'single', packages: ['nginx'], odd: { '{{ k }}': 1 } },
        hosts: [{ name: 'h1', address: '10.0.0.1', role: 'WEB+WAS+DB', groups: ['web', 'was', 'db'] }],
      },
    });
  });
});

describe('resources', () => {
  const hosts = inventoryHosts(
    [
      { vmName: 'a', ipAddress: '10.0.0.1' },
      { vmName: 'b', ipAddress: '10.0.0.2' },
      { vmName: 'c', ipAddress: '10.0.0.3' },
    ],
    ['LB', 'WEB', 'DB'],
  );
  it('derives what the playbook did not report', () => {
    expect(resourcesOf(hosts, undefined, 'deploy')).toEqual({
      alb_ip: '10.0.0.1',
      web_url: 'http://10.0.0.1/',
      db_vip: '10.0.0.3',
      ssh_targets: [1, 2, 3].map((i) => ({ host: `10.0.0.${i}`, port: 22, user: 'deploy' })),
    });
  });
  it('keeps what it reported, unknown keys included; ssh_targets are always the hosts', () => {
    const r = resourcesOf(hosts, { web_url: 'https://svc.example/', extra: 5, ssh_targets: [] }, 'root');
    expect(r).toMatchObject({ web_url: 'https://svc.example/', extra: 5, alb_ip: '10.0.0.1' });
    expect(r.ssh_targets).toHaveLength(3);
  });
});

describe('playbook output', () => {
  const lines = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'ansible', 'sample-run.jsonl'), 'utf8').split('\n');

  it('turns a recorded run into play, task, result and recap lines', () => {
    const t = new PlaybookTranslator(new Map([['run-host1', '10.83.0.11'], ['run-host2', '10.83.0.12'], ['ghost', '10.83.0.99']]));
    t.total = 6;
    const out = lines.flatMap((l) => t.translate(l));
    const logs = out.flatMap((o) => (o.kind === 'recap' ? o.logs : [o.log]));
    expect(logs[0]).toBe('PLAY [Sample play]');
    expect(logs[1]).toBe('[1/6] TASK [Ping]');
    expect(logs).toContain('ok: [run-host1]');
    expect(logs).toContain('unreachable: [ghost (10.83.0.99)]: Data could not be sent to remote host "10.83.0.99". Make sure this host can be reached over ssh: ssh: connect to host 10.83.0.99 port 22: No route to host');
    expect(logs).toContain('changed: [run-host2]');
    expect(logs).toContain('skipping: [run-host2]');
    expect(logs).toContain('ok: [run-host1]: hi');
    expect(logs).toContain('failed: [run-host2]: non-zero return code: rc=1');
    expect(logs.filter((l) => l.startsWith('RECAP '))).toHaveLength(3);
    // The no_log task's output is never shown.
    expect(JSON.stringify(logs)).not.toContain('secret');
    const recap = out.find((o) => o.kind === 'recap');
    expect(recap && recap.kind === 'recap' && recap.customStats).toEqual({ hcmp_resources: { web_url: 'http://x/' } });
    expect(t.started).toBe(6);
    expect(t.failureSummary()).toBe(
      'host ghost (10.83.0.99) is unreachable: Data could not be sent to remote host "10.83.0.99". Make sure this host can be reached over ssh: ssh: connect to host 10.83.0.99 port 22: No route to host; host run-host2 failed at task "Fail on host2": non-zero return code: rc=1',
    );
  });

  it('ignores lines that are not callback events, and counts --list-tasks output', () => {
    const t = new PlaybookTranslator(new Map());
    expect(t.translate('[WARNING]: something')).toEqual([]);
    expect(t.translate('{not json')).toEqual([]);
    const listed = '\nplaybook: pb.yml\n\n  play #1 (hcmp_hosts): Sample play\tTAGS: []\n    tasks:\n      Ping\tTAGS: []\n      web : Install\tTAGS: [web]\n\n  play #2 (lb): LB\tTAGS: []\n    tasks:\n      Configure\tTAGS: []\n';
    expect(countListedTasks(listed)).toBe(3);
  });
});
