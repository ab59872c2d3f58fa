/**
 * The GraphQL operations the benchmarks send: copies of the console's own
 * (client/src/graphql/operations/*.graphql), kept here so the baselines' hand-written answers
 * match them field for field. The harness checks, before measuring, that product and baseline
 * answer with the same JSON.
 */

export const HISTORY_PROJECT = `query HistoryProject($id: Int!) {
  project(id: $id) {
    id
    serviceName
    status
    assignedIp
    templateType
    owner
    infra
    config
    details
    lastSeq
    createdAt
    updatedAt
    logs
    errorMessage
    resources {
      albIp
      webUrl
      dbVip
      sshTargets {
        host
        port
        user
      }
    }
  }
}`;

export const HISTORY_PAGE = `query HistoryPage($first: Int, $after: String, $status: ProjectStatus, $infra: InfraType) {
  history(first: $first, after: $after, status: $status, infra: $infra) {
    nodes {
      id
      serviceName
      status
      assignedIp
      templateType
      owner
      infra
      config
      details
      lastSeq
      createdAt
      updatedAt
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}`;

/** The monitoring page's list (client/src/graphql/operations/monitoring-resources.graphql). */
export const RESOURCES_PAGE = `query MonitoringResources($first: Int, $after: String, $infra: InfraType, $status: String, $projectId: Int, $owner: String, $search: String, $kind: [ResourceKind!]) {
  resources(first: $first, after: $after, infra: $infra, status: $status, projectId: $projectId, owner: $owner, search: $search, kind: $kind) {
    totalCount
    nodes {
      kind
      hostId
      vmName
      ipAddress
      infra
      projectId
      projectName
      owner
      status
      cpuUsage
      memoryUsage
      diskUsage
      hasMetrics
      networkIn
      networkOut
      load1
      uptimeSeconds
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}`;

export const PROVISION = `mutation Provision($input: ProvisionInput!) {
  provision(input: $input) {
    id
    serviceName
    status
    lastSeq
  }
}`;

/** The order every create-path request sends: a one-host vSphere template order. */
export const ORDER = {
  serviceName: 'bench-svc',
  config: { template: 'single', packages: ['nginx'], environment: 'dev', traffic: 'low' },
  targetInfra: 'vsphere',
};

export const cursorOf = (id: number) => Buffer.from(`project:${id}`).toString('base64url');

/** JSON with object keys sorted, to compare two answers regardless of key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Throws when the product's and the baseline's answers differ (the baseline must do the same work). */
export function assertSameJson(what: string, product: string, baseline: string): void {
  const a = canonical(JSON.parse(product));
  const b = canonical(JSON.parse(baseline));
  if (a === b) return;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  throw new Error(`${what}: the baseline does not answer the same JSON as the product (first difference at ${i}):\n  product:  …${a.slice(Math.max(0, i - 80), i + 120)}\n  baseline: …${b.slice(Math.max(0, i - 80), i + 120)}`);
}
