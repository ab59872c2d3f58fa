import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import type { ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { designPreview } from '../../services/design/index.js';
import type { GraphQLContext } from '../context.js';
import { DesignPreviewType } from '../types/design.type.js';

/** Building the model and both texts is more work than reading a field: a fixed 20 on top of what is selected. */
export const DESIGN_PREVIEW_COMPLEXITY = 20;

@Resolver()
export class DesignResolver {
  @Query(() => DesignPreviewType, {
    description:
      'No login needed (reads no data): cost lines, topology, Terraform and CloudFormation of an AWS design. ' +
      'Validates the design as provision does (BAD_USER_INPUT with issues); serviceName may be left out before one is typed.',
    complexity: ({ childComplexity }: ComplexityEstimatorArgs) => DESIGN_PREVIEW_COMPLEXITY + childComplexity,
  })
  designPreview(
    @Arg('config', () => GraphQLJSONObject) config: Record<string, unknown>,
    @Ctx() { services }: GraphQLContext,
    @Arg('serviceName', () => String, { nullable: true }) serviceName?: string | null,
  ): DesignPreviewType {
    return designPreview(config, serviceName, services.catalog);
  }
}
