import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { Project } from '../../entities/index.js';
import type { HistoryPage } from '../../services/projects.js';
import { encodeCursor } from '../../services/projects.js';
import { BOOKKEEPING, ITEMS } from '../limits.js';
import { InfraTypeEnum, ProjectStatusEnum } from './enums.js';

@ObjectType('SshTarget', { simpleResolvers: true })
export class SshTargetType {
  @Field(() => String) host!: string;
  @Field(() => Int) port!: number;
  @Field(() => String) user!: string;
}

@ObjectType('ProjectResources', { simpleResolvers: true, description: 'What a run produced (details.resources)' })
export class ProjectResourcesType {
  @Field(() => String) albIp!: string;
  @Field(() => String) webUrl!: string;
  @Field(() => String) dbVip!: string;
  @Field(() => [SshTargetType]) sshTargets!: SshTargetType[];
}

@ObjectType('Project', { simpleResolvers: true, description: 'One provisioning order and its outcome' })
export class ProjectType {
  @Field(() => Int) id!: number;
  @Field(() => String) serviceName!: string;
  @Field(() => ProjectStatusEnum) status!: ProjectStatusEnum;
  @Field(() => String, { nullable: true, description: 'Primary address (the ALB / first host) once known' })
  assignedIp!: string | null;
  @Field(() => String, { description: 'Template name, or "aws-design" for an AWS design' })
  templateType!: string;
  @Field(() => String) owner!: string;
  @Field(() => InfraTypeEnum) infra!: InfraTypeEnum;
  @Field(() => GraphQLJSONObject, { description: 'The normalised order (details.config)' })
  config!: Record<string, unknown>;
  @Field(() => [String], { description: 'Every log line, in order' })
  logs!: string[];
  @Field(() => ProjectResourcesType, { nullable: true })
  resources!: ProjectResourcesType | null;
  @Field(() => String, { nullable: true, description: 'Why the run failed' })
  errorMessage!: string | null;
  @Field(() => Int, { description: 'Sequence number of the newest event; subscribe with afterSeq to continue from here' })
  lastSeq!: number;
  @Field(() => Int, { description: '1 for the first run, +1 for each retry' })
  attempt!: number;
  @Field(() => String, { nullable: true, description: '"cancel" or "delete" while a running job has been asked to stop and has not reached its next safe point yet' })
  pendingAction!: string | null;
  @Field(() => GraphQLJSONObject, { description: 'The original details JSON, as REST clients read it' })
  details!: Record<string, unknown>;
  @Field(() => GraphQLISODateTime) createdAt!: Date;
  @Field(() => GraphQLISODateTime) updatedAt!: Date;
}

@ObjectType('PageInfo', { simpleResolvers: true })
export class PageInfoType {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('ProjectEdge', { simpleResolvers: true })
export class ProjectEdgeType {
  @Field(() => String) cursor!: string;
  @Field(() => ProjectType) node!: ProjectType;
}

@ObjectType('ProjectConnection', { simpleResolvers: true, description: 'A page of projects, newest first' })
export class ProjectConnectionType {
  @Field(() => [ProjectEdgeType], { complexity: ITEMS }) edges!: ProjectEdgeType[];
  @Field(() => [ProjectType], { complexity: ITEMS }) nodes!: ProjectType[];
  @Field(() => PageInfoType, { complexity: BOOKKEEPING }) pageInfo!: PageInfoType;
}

export function toProjectType(p: Project): ProjectType {
  const r = p.details.resources;
  return {
    id: p.id,
    serviceName: p.serviceName,
    status: p.status as ProjectStatusEnum,
    assignedIp: p.assignedIp ?? null,
    templateType: p.templateType,
    owner: p.owner,
    infra: p.infra as InfraTypeEnum,
    config: p.details.config,
    attempt: p.attempt,
    pendingAction: p.pendingAction ?? null,
    logs: p.details.logs,
    resources: r
      ? { albIp: r.alb_ip, webUrl: r.web_url, dbVip: r.db_vip, sshTargets: r.ssh_targets.map((t) => ({ ...t })) }
      : null,
    errorMessage: p.details.error?.message ?? null,
    lastSeq: p.lastSeq,
    details: p.details as unknown as Record<string, unknown>,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export function toProjectConnection(page: HistoryPage): ProjectConnectionType {
  const nodes = page.items.map(toProjectType);
  return {
    nodes,
    edges: nodes.map((node) => ({ cursor: encodeCursor(node.id), node })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
  };
}
