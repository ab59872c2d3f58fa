import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import { ProjectResolver } from './resolvers/project.resolver.js';
import { ResourcesResolver } from './resolvers/resources.resolver.js';
import { ProvisionStatusResolver } from './resolvers/provision-status.resolver.js';
import { ProjectChangesResolver } from './resolvers/project-changes.resolver.js';
import { AccountResolver } from './resolvers/account.resolver.js';
import { AdminResolver } from './resolvers/admin.resolver.js';
import { DesignResolver } from './resolvers/design.resolver.js';
import { MonitoringResolver } from './resolvers/monitoring.resolver.js';
import { PoolAdminResolver } from './resolvers/pool-admin.resolver.js';
import { SettingsResolver } from './resolvers/settings.resolver.js';
import { WorkloadPoolResolver } from './resolvers/workload-pool.resolver.js';

/**
 * Builds the executable schema. type-graphql insists on a `pubSub` whenever there are
 * subscriptions; ours bring their own replay-then-live streams (`subscribe` option, fed by
 * the per-project event bus), so this one carries no topics.
 */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [AccountResolver, AdminResolver, DesignResolver, MonitoringResolver, PoolAdminResolver, ProjectResolver, ProjectChangesResolver, ProvisionStatusResolver, ResourcesResolver, SettingsResolver, WorkloadPoolResolver],
    pubSub: createPubSub(),
    validate: false,
    emitSchemaFile: false,
  });
}

/** The committed `schema.graphql` text: sorted, so it only changes when the API does. */
export async function printGraphQLSchema(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await buildGraphQLSchema()))}\n`;
}
