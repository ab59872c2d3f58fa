import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { pagedComplexity } from '../limits.js';
import { InfraTypeEnum, PoolHostStatusEnum } from '../types/enums.js';
import { PoolHostConnectionType, PoolHostInput, PoolHostType, toPoolHostConnection, toPoolHostType } from '../types/pool-host.type.js';

/** Admin only: the workload pool's hosts — list, add, remove, drain, host keys, reachability. */
@Resolver()
export class PoolAdminResolver {
  @Query(() => PoolHostConnectionType, {
    description: 'Hosts of the workload pool, lowest id first, keyset-paginated; search matches a substring of the vm name or the address',
    complexity: pagedComplexity('first'),
  })
  async poolHosts(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('infra', () => InfraTypeEnum, { nullable: true }) infra?: InfraTypeEnum | null,
    @Arg('status', () => PoolHostStatusEnum, { nullable: true }) status?: PoolHostStatusEnum | null,
    @Arg('search', () => String, { nullable: true }) search?: string | null,
  ): Promise<PoolHostConnectionType> {
    return toPoolHostConnection(await services.poolAdmin.list(services.sqlDb, caller, { first, after, infra, status, search }));
  }

  @Mutation(() => [PoolHostType], { description: 'Adds hosts, all or none: every problem is answered at once (BAD_USER_INPUT with issues)' })
  async addPoolHosts(@Arg('hosts', () => [PoolHostInput]) hosts: PoolHostInput[], @Ctx() { caller, services }: GraphQLContext): Promise<PoolHostType[]> {
    return (await services.poolAdmin.add(services.sqlDb, caller, hosts.map((h) => ({ ...h })))).map(toPoolHostType);
  }

  @Mutation(() => PoolHostType, { description: 'Removes a host no project holds (available or drained); a held host is CONFLICT with extensions.projectId' })
  async removePoolHost(@Arg('id', () => Int) id: number, @Ctx() { caller, services }: GraphQLContext): Promise<PoolHostType> {
    return toPoolHostType(await services.poolAdmin.remove(services.sqlDb, caller, id));
  }

  @Mutation(() => PoolHostType, { description: 'Takes a host out of service: a free one at once, a held one when its project gives it back' })
  async drainPoolHost(@Arg('id', () => Int) id: number, @Ctx() { caller, services }: GraphQLContext): Promise<PoolHostType> {
    return toPoolHostType(await services.poolAdmin.drain(services.sqlDb, caller, id));
  }

  @Mutation(() => PoolHostType, { description: 'Puts a drained host back into service (or withdraws a requested drain)' })
  async undrainPoolHost(@Arg('id', () => Int) id: number, @Ctx() { caller, services }: GraphQLContext): Promise<PoolHostType> {
    return toPoolHostType(await services.poolAdmin.undrain(services.sqlDb, caller, id));
  }

  @Mutation(() => PoolHostType, { description: "Forgets the host's recorded SSH key; the next contact records the key it answers with" })
  async resetPoolHostKey(@Arg('id', () => Int) id: number, @Ctx() { caller, services }: GraphQLContext): Promise<PoolHostType> {
    return toPoolHostType(await services.poolAdmin.resetHostKey(services.sqlDb, caller, id));
  }

  @Mutation(() => [PoolHostType], { description: 'Logs in to each host over SSH and runs a trivial command (at most 50 hosts); the outcome is stored on the host' })
  async checkPoolHosts(@Arg('ids', () => [Int]) ids: number[], @Ctx() { caller, services }: GraphQLContext): Promise<PoolHostType[]> {
    return (await services.poolAdmin.check(services.sqlDb, caller, ids)).map(toPoolHostType);
  }
}
