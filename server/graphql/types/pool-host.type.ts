import { Field, GraphQLISODateTime, InputType, Int, ObjectType } from 'type-graphql';
import type { PoolHostPage } from '../../services/pool-admin.js';
import { encodeHostCursor, type PoolHostView } from '../../services/pool-hosts.js';
import { BOOKKEEPING, ITEMS } from '../limits.js';
import { InfraTypeEnum, PoolHostStatusEnum } from './enums.js';
import { PageInfoType } from './project.type.js';

@ObjectType('PoolHost', { simpleResolvers: true, description: 'A machine of the workload pool (admin only)' })
export class PoolHostType {
  @Field(() => Int) id!: number;
  @Field(() => String) vmName!: string;
  @Field(() => String) ipAddress!: string;
  @Field(() => InfraTypeEnum) infra!: InfraTypeEnum;
  @Field(() => PoolHostStatusEnum) status!: PoolHostStatusEnum;
  @Field(() => Int, { nullable: true, description: 'The project holding the host' }) projectId!: number | null;
  @Field(() => String, { nullable: true }) owner!: string | null;
  @Field(() => Boolean, { description: 'Drained while held: it becomes drained when its project gives it back' }) drainRequested!: boolean;
  @Field(() => Boolean, { description: 'Whether an SSH host key is recorded (trusted on first contact)' }) hostKeySet!: boolean;
  @Field(() => [String], { description: 'The recorded keys as "<type> SHA256:<fingerprint>"' }) hostKeyFingerprints!: string[];
  @Field(() => GraphQLISODateTime, { nullable: true, description: 'When reachability was last checked' }) checkedAt!: Date | null;
  @Field(() => Boolean, { nullable: true, description: 'Whether the last check logged in and ran a command' }) checkOk!: boolean | null;
  @Field(() => String, { nullable: true, description: "What the last check said (short; 'ok' when it worked)" }) checkMessage!: string | null;
  @Field(() => GraphQLISODateTime) updatedAt!: Date;
}

@ObjectType('PoolHostEdge', { simpleResolvers: true })
export class PoolHostEdgeType {
  @Field(() => String) cursor!: string;
  @Field(() => PoolHostType) node!: PoolHostType;
}

@ObjectType('PoolHostConnection', { simpleResolvers: true, description: 'A page of pool hosts, lowest id first' })
export class PoolHostConnectionType {
  @Field(() => [PoolHostEdgeType], { complexity: ITEMS }) edges!: PoolHostEdgeType[];
  @Field(() => [PoolHostType], { complexity: ITEMS }) nodes!: PoolHostType[];
  @Field(() => PageInfoType, { complexity: BOOKKEEPING }) pageInfo!: PageInfoType;
  @Field(() => Int, { complexity: BOOKKEEPING, description: 'Hosts matching the filters, all pages together' }) totalCount!: number;
}

@InputType('PoolHostInput', { description: 'A host to add to the workload pool' })
export class PoolHostInput {
  @Field(() => String, { description: '1-64 letters, digits, ".", "_" or "-"' }) vmName!: string;
  @Field(() => String, { description: 'IPv4 address, not in the pool yet' }) ipAddress!: string;
  @Field(() => InfraTypeEnum) infra!: InfraTypeEnum;
}

export function toPoolHostType(h: PoolHostView): PoolHostType {
  return { ...h, infra: h.infra as InfraTypeEnum, status: h.status as PoolHostStatusEnum };
}

export function toPoolHostConnection(page: PoolHostPage): PoolHostConnectionType {
  const nodes = page.items.map(toPoolHostType);
  return {
    nodes,
    edges: nodes.map((node) => ({ cursor: encodeHostCursor(node.id), node })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    totalCount: page.totalCount,
  };
}
