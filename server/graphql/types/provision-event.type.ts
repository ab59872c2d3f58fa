import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { ProjectEventRecord } from '../../services/event-bus.js';
import { BOOKKEEPING, ITEMS } from '../limits.js';
import { EventKindEnum, ProjectStatusEnum } from './enums.js';

@ObjectType('ProvisionEvent', { simpleResolvers: true, description: 'One status change, log line, resource report or error of a project' })
export class ProvisionEventType {
  @Field(() => Int) projectId!: number;
  @Field(() => Int, { description: '1, 2, 3… per project; resume with afterSeq' }) seq!: number;
  @Field(() => GraphQLISODateTime) at!: Date;
  @Field(() => EventKindEnum) kind!: EventKindEnum;
  @Field(() => ProjectStatusEnum, { description: 'The project status once this event applied' }) status!: ProjectStatusEnum;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Resources, for kind = resources' })
  data!: Record<string, unknown> | null;
}

export function toEventType(e: ProjectEventRecord): ProvisionEventType {
  return { ...e, at: e.at instanceof Date ? e.at : new Date(e.at), kind: e.kind as EventKindEnum, status: e.status as ProjectStatusEnum };
}

@ObjectType('ProvisionEventPage', { simpleResolvers: true })
export class ProvisionEventPageType {
  @Field(() => [ProvisionEventType], { complexity: ITEMS }) events!: ProvisionEventType[];
  @Field(() => Int, { description: 'Pass as afterSeq to read on', complexity: BOOKKEEPING }) lastSeq!: number;
  @Field(() => Boolean, { complexity: BOOKKEEPING }) hasMore!: boolean;
}
