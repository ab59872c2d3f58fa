import { Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { ProjectChangeRecord } from '../../services/event-bus.js';
import type { GraphQLContext } from '../context.js';
import { ProjectChangeType, toProjectChangeType } from '../types/project-change.type.js';

@Resolver()
export class ProjectChangesResolver {
  @Subscription(() => ProjectChangeType, {
    description:
      "Live list updates: a summary each time one of the caller's projects (admin: any project) is created, changes or is deleted. Never completes by itself.",
    subscribe: ({ context }: SubscribeResolverData<unknown, Record<string, never>, GraphQLContext>) => context.services.projects.changes(context.caller),
  })
  projectChanges(@Root() change: ProjectChangeRecord): ProjectChangeType {
    return toProjectChangeType(change);
  }
}
