import { Field, Float, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { HostAlert, HostSeries } from '../../services/monitoring.js';
import { MetricsWindowEnum } from './enums.js';

@ObjectType('MonitoringStatus', { simpleResolvers: true, description: 'Whether host metrics (Prometheus) are configured and answering' })
export class MonitoringStatusType {
  @Field(() => Boolean, { description: 'PROMETHEUS_URL is set' })
  metricsConfigured!: boolean;

  @Field(() => Boolean, { nullable: true, description: 'The metrics source answered just now (null when not configured)' })
  metricsReachable!: boolean | null;

  @Field(() => String, { nullable: true, description: 'Why the last query failed, when it did' })
  lastError!: string | null;
}

@ObjectType('SeriesPoint', { simpleResolvers: true, description: 'One point of a metric series; value is null where Prometheus had none (a gap)' })
export class SeriesPointType {
  @Field(() => GraphQLISODateTime) at!: Date;
  @Field(() => Float, { nullable: true }) value!: number | null;
}

@ObjectType('HostSeries', { simpleResolvers: true, description: "A pool host's metrics over a window, from Prometheus (node exporter)" })
export class HostSeriesType {
  @Field(() => Int) hostId!: number;
  @Field(() => String) vmName!: string;
  @Field(() => String) ipAddress!: string;
  @Field(() => Int, { nullable: true }) projectId!: number | null;
  @Field(() => MetricsWindowEnum) window!: MetricsWindowEnum;
  @Field(() => Int) stepSeconds!: number;
  @Field(() => Boolean, { description: 'False when Prometheus could not be asked (not configured, down, slow): every series is then empty' })
  available!: boolean;
  @Field(() => String, { nullable: true, description: 'Why there is no data, when there is none' }) reason!: string | null;
  @Field(() => [SeriesPointType], { description: 'CPU use, %' }) cpu!: SeriesPointType[];
  @Field(() => [SeriesPointType], { description: 'Memory use, %' }) memory!: SeriesPointType[];
  @Field(() => [SeriesPointType], { description: 'Use of the root file system, %' }) disk!: SeriesPointType[];
  @Field(() => [SeriesPointType], { description: 'Bytes per second received' }) networkIn!: SeriesPointType[];
  @Field(() => [SeriesPointType], { description: 'Bytes per second sent' }) networkOut!: SeriesPointType[];
  @Field(() => [SeriesPointType], { description: '1-minute load average' }) load1!: SeriesPointType[];
}

@ObjectType('HostAlert', { simpleResolvers: true, description: 'An alert Prometheus reports as firing on one of the caller’s hosts' })
export class HostAlertType {
  @Field(() => String) name!: string;
  @Field(() => String) severity!: string;
  @Field(() => Int) hostId!: number;
  @Field(() => String) vmName!: string;
  @Field(() => String) ipAddress!: string;
  @Field(() => Int, { nullable: true }) projectId!: number | null;
  @Field(() => GraphQLISODateTime, { nullable: true }) activeAt!: Date | null;
  @Field(() => String) summary!: string;
}

export function toHostSeriesType(s: HostSeries): HostSeriesType {
  return { ...s, ...s.series, window: s.window as MetricsWindowEnum };
}

export function toHostAlertType(a: HostAlert): HostAlertType {
  return { name: a.name, severity: a.severity, hostId: a.host.hostId, vmName: a.host.vmName, ipAddress: a.host.ipAddress, projectId: a.host.projectId, activeAt: a.activeAt, summary: a.summary };
}
