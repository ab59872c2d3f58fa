import { Field, Float, Int, ObjectType } from 'type-graphql';
import { ResourceKindEnum } from './enums.js';

@ObjectType('ResourceRow', { simpleResolvers: true, description: 'A row of "my resources" (REST: /api/monitoring/my-resources)' })
export class ResourceRowType {
  @Field(() => ResourceKindEnum) kind!: ResourceKindEnum;
  @Field(() => String) vmName!: string;
  @Field(() => String) ipAddress!: string;
  @Field(() => Int, { nullable: true }) projectId!: number | null;
  @Field(() => String) projectName!: string;
  @Field(() => String) owner!: string;
  @Field(() => Float) cpuUsage!: number;
  @Field(() => Float) memoryUsage!: number;
  @Field(() => Float) diskUsage!: number;
  @Field(() => String) status!: string;
  @Field(() => Boolean, { description: 'The metrics source answered for this host (cpu/memory/disk are real, not 0 for lack of data)' })
  hasMetrics!: boolean;
}
