import { Field, Int, ObjectType } from 'type-graphql';
import type { PoolSummary } from '../../services/workload-pool.js';
import { InfraTypeEnum } from './enums.js';

@ObjectType('PoolSummary', { simpleResolvers: true, description: 'Workload pool hosts of one infrastructure, by state' })
export class PoolSummaryType {
  @Field(() => InfraTypeEnum) infra!: InfraTypeEnum;
  @Field(() => Int) total!: number;
  @Field(() => Int, { description: 'Free to be taken by a new order' }) available!: number;
  @Field(() => Int, { description: 'Taken by a run that has not finished' }) provisioning!: number;
  @Field(() => Int, { description: 'In service for a completed project' }) assigned!: number;
  @Field(() => Int, { description: 'Taken out of service by an admin; never given to an order' }) drained!: number;
}

export function toPoolSummaryType(s: PoolSummary): PoolSummaryType {
  return { ...s, infra: s.infra as InfraTypeEnum };
}
