import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { requireCaller } from '../../services/principal.js';
import type { GraphQLContext } from '../context.js';
import { MetricsWindowEnum } from '../types/enums.js';
import { HostAlertType, HostSeriesType, MonitoringStatusType, toHostAlertType, toHostSeriesType } from '../types/monitoring.type.js';

@Resolver()
export class MonitoringResolver {
  @Query(() => MonitoringStatusType, { description: 'Login required: is a metrics source configured, and does it answer' })
  async monitoringStatus(@Ctx() { caller, services }: GraphQLContext): Promise<MonitoringStatusType> {
    requireCaller(caller);
    const s = await services.metrics.status();
    return { metricsConfigured: s.configured, metricsReachable: s.reachable, lastError: s.lastError };
  }

  @Query(() => HostSeriesType, {
    description: "A pool host's CPU, memory, disk, network and load over the window; for the owner of the project holding it and admins (NOT_FOUND otherwise). No data (available: false) within 2 s when Prometheus does not answer",
  })
  async hostSeries(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('hostId', () => Int) hostId: number,
    @Arg('window', () => MetricsWindowEnum, { nullable: true, defaultValue: MetricsWindowEnum.H1 }) window: MetricsWindowEnum,
  ): Promise<HostSeriesType> {
    return toHostSeriesType(await services.monitoring.hostSeries(services.sqlDb, caller, hostId, window));
  }

  @Query(() => [HostSeriesType], { description: "The series of every host a project holds; another user's project is NOT_FOUND" })
  async projectSeries(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('projectId', () => Int) projectId: number,
    @Arg('window', () => MetricsWindowEnum, { nullable: true, defaultValue: MetricsWindowEnum.H1 }) window: MetricsWindowEnum,
  ): Promise<HostSeriesType[]> {
    return (await services.monitoring.projectSeries(services.sqlDb, caller, projectId, window)).map(toHostSeriesType);
  }

  @Query(() => [HostAlertType], { description: "Alerts Prometheus reports as firing on the caller's hosts (admins: every held host), newest first" })
  async hostAlerts(@Ctx() { caller, services }: GraphQLContext): Promise<HostAlertType[]> {
    return (await services.monitoring.alerts(services.sqlDb, caller)).map(toHostAlertType);
  }
}
