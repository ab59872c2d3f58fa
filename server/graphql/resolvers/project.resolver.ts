import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { MAX_EVENTS_PAGE } from '../../services/projects.js';
import { pagedComplexity } from '../limits.js';
import type { GraphQLContext } from '../context.js';
import { InfraTypeEnum, ProjectStatusEnum } from '../types/enums.js';
import { ProvisionInput } from '../types/inputs.js';
import { ProjectConnectionType, ProjectType, toProjectConnection, toProjectType } from '../types/project.type.js';
import { ProvisionEventPageType, toEventType } from '../types/provision-event.type.js';

@Resolver()
export class ProjectResolver {
  @Query(() => ProjectConnectionType, {
    description: "The caller's projects (admin: all), newest first, keyset-paginated",
    complexity: pagedComplexity('first'),
  })
  async history(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('status', () => ProjectStatusEnum, { nullable: true }) status?: ProjectStatusEnum | null,
    @Arg('infra', () => InfraTypeEnum, { nullable: true }) infra?: InfraTypeEnum | null,
  ): Promise<ProjectConnectionType> {
    return toProjectConnection(await services.projects.history(services.sqlDb, caller, { first, after, status, infra }));
  }

  @Query(() => ProjectType, { description: 'One project; another user\'s id answers NOT_FOUND' })
  async project(@Arg('id', () => Int) id: number, @Ctx() { caller, services }: GraphQLContext): Promise<ProjectType> {
    return toProjectType(await services.projects.get(services.sqlDb, caller, id));
  }

  @Query(() => ProvisionEventPageType, {
    description: 'Stored events after afterSeq, in order (log replay)',
    complexity: pagedComplexity('limit', MAX_EVENTS_PAGE),
  })
  async projectEvents(
    @Arg('projectId', () => Int) projectId: number,
    @Ctx() { em, caller, services }: GraphQLContext,
    @Arg('afterSeq', () => Int, { nullable: true, defaultValue: 0 }) afterSeq: number,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 200 }) limit: number,
  ): Promise<ProvisionEventPageType> {
    const events = await services.projects.events(em, caller, projectId, afterSeq, limit + 1);
    const page = events.slice(0, Math.max(1, limit));
    return {
      events: page.map(toEventType),
      lastSeq: page.length ? page[page.length - 1].seq : afterSeq,
      hasMore: events.length > page.length,
    };
  }

  @Mutation(() => ProjectType, {
    description:
      'Takes the hosts and starts provisioning; answers at once with the PENDING project. CONFLICT when too few hosts are free. ' +
      'With idempotencyKey, the same key and input give the same project (kept at least 24 hours); the same key with other input is BAD_USER_INPUT.',
  })
  async provision(
    @Arg('input', () => ProvisionInput) input: ProvisionInput,
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('idempotencyKey', () => String, { nullable: true }) idempotencyKey?: string | null,
  ): Promise<ProjectType> {
    const { project } = await services.projects.provision(services.sqlDb, caller, { ...input }, { idempotencyKey: idempotencyKey ?? null });
    return toProjectType(project);
  }

  @Mutation(() => ProjectType, { description: 'Cancels a PENDING or RUNNING project: it stops at its next safe point, returns its hosts and ends CANCELLED' })
  async cancelProvision(@Arg('id', () => Int) id: number, @Ctx() { em, caller, services }: GraphQLContext): Promise<ProjectType> {
    return toProjectType(await services.projects.cancel(em, caller, id));
  }

  @Mutation(() => ProjectType, { description: 'Runs a FAILED or CANCELLED project again with the same input, keeping its events' })
  async retryProvision(@Arg('id', () => Int) id: number, @Ctx() { em, caller, services }: GraphQLContext): Promise<ProjectType> {
    return toProjectType(await services.projects.retry(em, caller, id));
  }

  @Mutation(() => Boolean, {
    description: 'Starts the teardown and answers at once: the project goes DELETING, its resources are removed, its hosts return to the pool, then it is gone',
  })
  async deleteProject(@Arg('id', () => Int) id: number, @Ctx() { em, caller, services }: GraphQLContext): Promise<boolean> {
    await services.projects.delete(em, caller, id);
    return true;
  }
}
