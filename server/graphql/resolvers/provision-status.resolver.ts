import { Arg, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { ProjectEventRecord } from '../../services/event-bus.js';
import type { GraphQLContext } from '../context.js';
import { ProvisionEventType, toEventType } from '../types/provision-event.type.js';

interface ProvisionStatusArgs {
  projectId: number;
  afterSeq?: number | null;
}

@Resolver()
export class ProvisionStatusResolver {
  @Subscription(() => ProvisionEventType, {
    description:
      'Every event of one project in order: the stored ones after afterSeq, then live ones, with no gap and no duplicate. Completes after the final status.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ProvisionStatusArgs, GraphQLContext>) =>
      context.services.projects.follow(context.em, context.caller, args.projectId, args.afterSeq ?? 0),
  })
  provisionStatus(
    @Root() event: ProjectEventRecord,
    @Arg('projectId', () => Int) _projectId: number,
    @Arg('afterSeq', () => Int, { nullable: true, defaultValue: 0 }) _afterSeq: number,
  ): ProvisionEventType {
    return toEventType(event);
  }
}
