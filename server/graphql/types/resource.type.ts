import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { ResourcePage } from '../../services/resource-page.js';
import type { ResourceSummary } from '../../services/resource-summary.js';
import type { ResourceRow } from '../../services/resources.js';
import { BOOKKEEPING, ITEMS } from '../limits.js';
import { InfraTypeEnum, ResourceKindEnum } from './enums.js';
import { PoolSummaryType } from './pool-summary.type.js';
import { PageInfoType } from './project.type.js';

@ObjectType('ResourceRow', { simpleResolvers: true, description: 'A row of "my resources" (REST: /api/monitoring/my-resources)' })
export class ResourceRowType {
  @Field(() => ResourceKindEnum) kind!: ResourceKindEnum;
  @Field(() => Int, { nullable: true, description: "The pool host's id, for hostSeries (host rows only)" }) hostId!: number | null;
  @Field(() => String) vmName!: string;
  @Field(() => String) ipAddress!: string;
  @Field(() => InfraTypeEnum, { description: "The host's infrastructure; for derived rows, the project's" }) infra!: InfraTypeEnum;
  @Field(() => Int, { nullable: true }) projectId!: number | null;
  @Field(() => String) projectName!: string;
  @Field(() => String) owner!: string;
  @Field(() => Float) cpuUsage!: number;
  @Field(() => Float) memoryUsage!: number;
  @Field(() => Float) diskUsage!: number;
  @Field(() => String, { description: 'Available, Provisioning, Running or Drained for a host; the project status for a derived row (COMPLETED shown as Running)' })
  status!: string;
  @Field(() => Boolean, { description: 'The metrics source answered for this host (cpu/memory/disk are real, not 0 for lack of data)' })
  hasMetrics!: boolean;
  @Field(() => Float, { nullable: true, description: 'Bytes per second received (null without metrics)' }) networkIn!: number | null;
  @Field(() => Float, { nullable: true, description: 'Bytes per second sent (null without metrics)' }) networkOut!: number | null;
  @Field(() => Float, { nullable: true, description: '1-minute load average (null without metrics)' }) load1!: number | null;
  @Field(() => Float, { nullable: true, description: 'Seconds since the host booted (null without metrics)' }) uptimeSeconds!: number | null;
}

@ObjectType('ResourceEdge', { simpleResolvers: true })
export class ResourceEdgeType {
  @Field(() => String) cursor!: string;
  @Field(() => ResourceRowType) node!: ResourceRowType;
}

@ObjectType('ResourceConnection', { simpleResolvers: true, description: 'A page of resource rows: host rows by pool id, then derived rows by project id and ALB, Web, DB, SSH-n' })
export class ResourceConnectionType {
  @Field(() => [ResourceEdgeType], { complexity: ITEMS }) edges!: ResourceEdgeType[];
  @Field(() => [ResourceRowType], { complexity: ITEMS }) nodes!: ResourceRowType[];
  @Field(() => PageInfoType, { complexity: BOOKKEEPING }) pageInfo!: PageInfoType;
  @Field(() => Int, { complexity: BOOKKEEPING, description: 'Rows matching the filters, all pages together' }) totalCount!: number;
}

@ObjectType('ResourceMetricsSummary', { simpleResolvers: true, description: "Current figures of the caller's hosts from the metrics source" })
export class ResourceMetricsSummaryType {
  @Field(() => Int, { description: 'Hosts the metrics source has figures for' }) measuredHosts!: number;
  @Field(() => Float, { nullable: true, description: 'Average CPU use over the measured hosts, % (null when none)' }) cpu!: number | null;
  @Field(() => Float, { nullable: true }) memory!: number | null;
  @Field(() => Float, { nullable: true }) disk!: number | null;
  @Field(() => Int, { description: 'Hosts in service (Running) the source has no figures for' }) silentHostCount!: number;
  @Field(() => [ResourceRowType], { description: 'The first 20 of them, by pool id' }) silentHosts!: ResourceRowType[];
}

@ObjectType('ResourceSummary', { simpleResolvers: true, description: "Counts of the caller's resource rows (an admin: all), for the monitoring page" })
export class ResourceSummaryType {
  @Field(() => [PoolSummaryType], { description: 'Host rows by infrastructure and state (every infrastructure, zeros included)' }) hostsByInfra!: PoolSummaryType[];
  @Field(() => Int, { description: 'Host rows' }) hosts!: number;
  @Field(() => Int, { description: 'Projects with derived rows (ALB, Web, DB, SSH)' }) projects!: number;
  @Field(() => Int, { description: 'Of those, the COMPLETED ones (shown Running)' }) runningProjects!: number;
  @Field(() => Int) derivedRows!: number;
  @Field(() => Int, { description: "Host and derived rows: resources' totalCount without filters" }) rows!: number;
  @Field(() => ResourceMetricsSummaryType, { nullable: true, description: 'Null when no metrics source is configured' }) metrics!: ResourceMetricsSummaryType | null;
}

export function toResourceRowType(r: ResourceRow): ResourceRowType {
  return { ...r, kind: r.kind as ResourceKindEnum, infra: r.infra as InfraTypeEnum };
}

export function toResourceConnection(page: ResourcePage): ResourceConnectionType {
  const nodes = page.items.map(toResourceRowType);
  return {
    nodes,
    edges: nodes.map((node, i) => ({ cursor: page.cursors[i], node })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    totalCount: page.totalCount,
  };
}

export function toResourceSummaryType(s: ResourceSummary): ResourceSummaryType {
  return {
    ...s,
    hostsByInfra: s.hostsByInfra.map((c) => ({ ...c, infra: c.infra as InfraTypeEnum })),
    metrics: s.metrics ? { ...s.metrics, silentHosts: s.metrics.silentHosts.map(toResourceRowType) } : null,
  };
}
