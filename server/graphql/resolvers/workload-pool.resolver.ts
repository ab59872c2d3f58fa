import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { PoolSummaryType, toPoolSummaryType } from '../types/pool-summary.type.js';

@Resolver()
export class WorkloadPoolResolver {
  @Query(() => [PoolSummaryType], { description: 'Host counts of the workload pool per infrastructure (login required)' })
  async workloadPool(@Ctx() { em, caller, services }: GraphQLContext): Promise<PoolSummaryType[]> {
    return (await services.pool.summary(em, caller)).map(toPoolSummaryType);
  }
}
