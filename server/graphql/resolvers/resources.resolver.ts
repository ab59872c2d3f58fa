import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { listResourcePage } from '../../services/resource-page.js';
import { resourceSummary } from '../../services/resource-summary.js';
import type { GraphQLContext } from '../context.js';
import { pagedComplexity } from '../limits.js';
import { InfraTypeEnum, ResourceKindEnum } from '../types/enums.js';
import { ResourceConnectionType, ResourceSummaryType, toResourceConnection, toResourceSummaryType } from '../types/resource.type.js';

/** "My resources" for the monitoring page: the rows keyset-paginated, and their counts. */
@Resolver()
export class ResourcesResolver {
  @Query(() => ResourceConnectionType, {
    description:
      "My resources, keyset-paginated: the pool hosts the caller's projects hold (admin: every host) by pool id, then the ALB/Web/DB/SSH rows of each project by project id. " +
      'Host rows carry the metrics of the moment. search matches a substring of the address or the vm name; status is a row status as shown (Available, Provisioning, Running, Drained, PENDING, RUNNING, FAILED, CANCELLED, DELETING); ' +
      "owner narrows an admin's rows (a user's rows are always their own)",
    complexity: pagedComplexity('first'),
  })
  async resources(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('infra', () => InfraTypeEnum, { nullable: true }) infra?: InfraTypeEnum | null,
    @Arg('status', () => String, { nullable: true }) status?: string | null,
    @Arg('projectId', () => Int, { nullable: true }) projectId?: number | null,
    @Arg('owner', () => String, { nullable: true }) owner?: string | null,
    @Arg('search', () => String, { nullable: true }) search?: string | null,
    @Arg('kind', () => [ResourceKindEnum], { nullable: true, description: 'Only rows of these kinds (one or a list)' }) kind?: ResourceKindEnum[] | null,
  ): Promise<ResourceConnectionType> {
    const page = await listResourcePage(services.sqlDb, caller, { first, after, infra, status, projectId, owner, search, kinds: kind }, services.metrics);
    return toResourceConnection(page);
  }

  @Query(() => ResourceSummaryType, { description: "Counts of the caller's resource rows (an admin: all): hosts by infrastructure and state, projects with resources, and the hosts' current figures" })
  async resourceSummary(@Ctx() { caller, services }: GraphQLContext): Promise<ResourceSummaryType> {
    return toResourceSummaryType(await resourceSummary(services.sqlDb, caller, services.metrics));
  }
}
