/**
 * What a run hands to ansible-playbook as data (docs/PLAYBOOKS.md): the inventory (hosts, role
 * groups) and the `hcmp` variable. Both are written as YAML in which every string is tagged
 * `!unsafe`: Ansible renders Jinja in variables, and an order's text (`{{ lookup('pipe', …) }}`)
 * must arrive as that text, never run. Mapping keys are tagged too (a user's config may bring its
 * own keys), and every character outside printable ASCII is escaped, so no user text can break
 * out of its scalar.
 */
import type { Catalog } from '../../config/catalog.js';
import type { ProvisionSpec } from '../../services/provision-input.js';
import type { RunnerHost } from '../runner.js';

export interface InventoryHost extends RunnerHost {
  /** The role as the catalog names it (`LB`, `WEB+WAS+DB`, …). */
  role: string;
  groups: string[];
  index: number;
}

/** A YAML double-quoted scalar holding exactly `text`, with only printable ASCII left as it is. */
export function yamlQuoted(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\uFFFD'; // a lone surrogate is no character
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/**
 * `value` as a YAML flow node: strings (and mapping keys) `!unsafe`, numbers, booleans and null
 * as themselves, lists and mappings in flow style. Non-finite numbers become null.
 */
export function unsafeYaml(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `!unsafe ${yamlQuoted(value)}`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(unsafeYaml).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `!unsafe ${yamlQuoted(k)}: ${unsafeYaml(v)}`).join(', ')}}`;
  }
  return `!unsafe ${yamlQuoted(String(value))}`;
}

/** Inventory groups of a catalog role: split at `+`, lower-cased; MASTER / WORKER are Kubernetes'. */
export function groupsOfRole(role: string): string[] {
  const groups = role
    .split('+')
    .map((part) => part.trim().toLowerCase().replace(/[^a-z0-9_]/g, '_'))
    .filter(Boolean)
    .map((g) => (g === 'master' ? 'k8s_master' : g === 'worker' ? 'k8s_worker' : g));
  return [...new Set(groups)];
}

/** The role of each host, in the project's host order: the template's roles, or WEB per node of an AWS design. */
export function rolesOf(spec: Pick<ProvisionSpec, 'kind' | 'config' | 'templateType'>, catalog: Catalog, count: number): string[] {
  if (spec.kind === 'aws-design') {
    const cache = Boolean(spec.config.redis);
    return Array.from({ length: count }, (_, i) => (i === 0 && cache ? 'WEB+CACHE' : 'WEB'));
  }
  const roles = catalog.templates[spec.templateType]?.roles ?? [];
  return Array.from({ length: count }, (_, i) => roles[i] ?? roles.at(-1) ?? 'HOST');
}

export function inventoryHosts(hosts: RunnerHost[], roles: string[]): InventoryHost[] {
  return hosts.map((h, index) => ({ ...h, role: roles[index], groups: groupsOfRole(roles[index]), index }));
}

/** Pool names become inventory names; one that YAML or Ansible would misread is refused (an admin's data, but checked). */
function checkHostName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new Error(`pool host name ${JSON.stringify(name)} cannot be an inventory name`);
}

/** The inventory file: every host in `hcmp_hosts` with its address, role and index, and in its role groups. */
export function inventoryYaml(hosts: InventoryHost[]): string {
  const lines = ['all:', '  children:', '    hcmp_hosts:', '      hosts:'];
  for (const h of hosts) {
    checkHostName(h.vmName);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(h.ipAddress)) throw new Error(`pool host ${h.vmName} has no IPv4 address (${JSON.stringify(h.ipAddress)})`);
    lines.push(`        ${h.vmName}: {ansible_host: ${unsafeYaml(h.ipAddress)}, hcmp_role: ${unsafeYaml(h.role)}, hcmp_index: ${h.index}}`);
  }
  const groups = new Map<string, string[]>();
  for (const h of hosts) for (const g of h.groups) groups.set(g, [...(groups.get(g) ?? []), h.vmName]);
  for (const [group, members] of groups) {
    if (group === 'hcmp_hosts' || group === 'all' || group === 'ungrouped') continue;
    lines.push(`    ${group}:`, '      hosts:', ...members.map((m) => `        ${m}: {}`));
  }
  return `${lines.join('\n')}\n`;
}

export interface HcmpVars {
  project_id: number;
  service_name: string;
  owner: string;
  infra: string;
  template: string | null;
  design: Record<string, unknown> | null;
  packages: unknown[];
  environment: unknown;
  traffic: unknown;
  config: Record<string, unknown>;
  hosts: { name: string; address: string; role: string; groups: string[] }[];
}

const DESIGN_KEYS = ['instanceType', 'nodeCount', 'dbEngine', 'dbMultiAZ', 'dbSize', 'redis', 'waf', 'cdn'];

export function hcmpVars(projectId: number, spec: ProvisionSpec, hosts: InventoryHost[]): HcmpVars {
  const config = spec.config;
  const design = spec.kind === 'aws-design' ? Object.fromEntries(DESIGN_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]])) : null;
  return {
    project_id: projectId,
    service_name: spec.serviceName,
    owner: spec.userName,
    infra: spec.infra.type,
    template: spec.kind === 'aws-design' ? null : spec.templateType,
    design,
    packages: Array.isArray(config.packages) ? config.packages : [],
    environment: spec.kind === 'aws-design' ? null : (config.environment ?? null),
    traffic: spec.kind === 'aws-design' ? null : (config.traffic ?? null),
    // The order's whole config as the user sent it, unknown keys included.
    config: spec.input.config,
    hosts: hosts.map((h) => ({ name: h.vmName, address: h.ipAddress, role: h.role, groups: h.groups })),
  };
}

/** The variables file: `hcmp`, every string in it unsafe. */
export function hcmpVarsYaml(vars: HcmpVars): string {
  return `hcmp: ${unsafeYaml(vars)}\n`;
}

export interface VcenterAccess {
  hostname: string;
  username: string;
  password: string;
  esxi: string;
}

export function vcenterVarsYaml(vcenter: VcenterAccess): string {
  return `hcmp_vcenter: ${unsafeYaml(vcenter)}\n`;
}
