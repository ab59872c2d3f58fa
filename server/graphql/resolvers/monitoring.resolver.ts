import { Ctx, Query, Resolver } from 'type-graphql';
import { requireCaller } from '../../services/principal.js';
import type { GraphQLContext } from '../context.js';
import { MonitoringStatusType } from '../types/monitoring.type.js';

@Resolver()
export class MonitoringResolver {
  @Query(() => MonitoringStatusType, { description: 'Login required: is a metrics source configured, and does it answer' })
  async monitoringStatus(@Ctx() { caller, services }: GraphQLContext): Promise<MonitoringStatusType> {
    requireCaller(caller);
    const s = await services.metrics.status();
    return { metricsConfigured: s.configured, metricsReachable: s.reachable, lastError: s.lastError };
  }
}
