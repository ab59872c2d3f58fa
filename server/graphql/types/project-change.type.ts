import { Field, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { ProjectChangeRecord } from '../../services/event-bus.js';
import { InfraTypeEnum, ProjectStatusEnum } from './enums.js';

@ObjectType('ProjectChange', { simpleResolvers: true, description: 'A project as a list shows it, sent when it is created, changes or is deleted' })
export class ProjectChangeType {
  @Field(() => Int) id!: number;
  @Field(() => String) serviceName!: string;
  @Field(() => ProjectStatusEnum) status!: ProjectStatusEnum;
  @Field(() => String, { nullable: true }) assignedIp!: string | null;
  @Field(() => String) owner!: string;
  @Field(() => InfraTypeEnum) infra!: InfraTypeEnum;
  @Field(() => Int, { description: 'Sequence number of the newest event' }) lastSeq!: number;
  @Field(() => GraphQLISODateTime) updatedAt!: Date;
  @Field(() => Boolean, { description: 'The project was deleted; the other fields are its last state' }) deleted!: boolean;
}

export function toProjectChangeType(c: ProjectChangeRecord): ProjectChangeType {
  return {
    ...c,
    status: c.status as ProjectStatusEnum,
    infra: c.infra as InfraTypeEnum,
    updatedAt: c.updatedAt instanceof Date ? c.updatedAt : new Date(c.updatedAt),
  };
}
