/**
 * The pool page's pure parts: a pasted host list turned into `PoolHostInput`s (the server checks
 * them, all problems at once), and the server's issues told by their `type` and field — never by
 * the server's message text.
 */
import type { InfraType, PoolHostInput, PoolHostStatus } from '../graphql/generated/operations';

export const INFRAS: InfraType[] = ['aws', 'vsphere'];
export const POOL_STATUSES: PoolHostStatus[] = ['available', 'provisioning', 'assigned', 'drained'];

export interface ParsedList {
  hosts: PoolHostInput[];
  /** The line (from 1) each host came from, so an issue about hosts[i] can name its line. */
  lines: number[];
}

const isInfra = (value: string): value is InfraType => (INFRAS as string[]).includes(value);

/**
 * One host a line: `vm_name ip_address [infra]`, separated by spaces, tabs, commas or semicolons;
 * blank lines and `#` comments are skipped. An infrastructure that is not aws / vsphere is sent
 * as written (lower-cased), for the server to refuse with the rest.
 */
export function parseHostList(text: string, defaultInfra: InfraType): ParsedList {
  const hosts: PoolHostInput[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [vmName = '', ipAddress = '', infra] = line.split(/[\s,;]+/).filter(Boolean);
    const wanted = infra?.toLowerCase();
    hosts.push({ vmName, ipAddress, infra: wanted === undefined ? defaultInfra : isInfra(wanted) ? wanted : (wanted as InfraType) });
    lines.push(index + 1);
  });
  return { hosts, lines };
}

export type PoolIssueKey =
  | 'adminPool.issues.vmName'
  | 'adminPool.issues.ipAddress'
  | 'adminPool.issues.duplicate'
  | 'adminPool.issues.exists'
  | 'adminPool.issues.infra'
  | 'adminPool.issues.invalid';

/** The field an issue of `addPoolHosts` is about (`vmName`, `ipAddress`, `infra`), or null for the whole entry. */
export function issueFieldOf(loc: (string | number)[]): 'vmName' | 'ipAddress' | 'infra' | null {
  const field = loc[3];
  if (field === 'vm_name') return 'vmName';
  if (field === 'ip_address') return 'ipAddress';
  if (field === 'infra') return 'infra';
  return null;
}

/** The message key for one issue, chosen by its type and field. */
export function issueKey(issue: { loc: (string | number)[]; type: string }): PoolIssueKey {
  if (issue.type === 'value_error.duplicate') return 'adminPool.issues.duplicate';
  if (issue.type === 'value_error.exists') return 'adminPool.issues.exists';
  switch (issueFieldOf(issue.loc)) {
    case 'vmName':
      return 'adminPool.issues.vmName';
    case 'ipAddress':
      return 'adminPool.issues.ipAddress';
    case 'infra':
      return 'adminPool.issues.infra';
    default:
      return 'adminPool.issues.invalid';
  }
}

/** How many problems the server left out of a long list (its last, `too_many_errors` entry), or null. */
export function moreIssuesOf(issue: { type: string; ctx?: { more?: number } }): number | null {
  return issue.type === 'too_many_errors' ? (issue.ctx?.more ?? 0) : null;
}

/** Which host of the batch an issue is about (`loc` = body, hosts, index, field), or null. */
export function issueIndexOf(loc: (string | number)[]): number | null {
  return loc[1] === 'hosts' && typeof loc[2] === 'number' ? loc[2] : null;
}
