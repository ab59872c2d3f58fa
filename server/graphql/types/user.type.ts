import { Field, GraphQLISODateTime, InputType, Int, ObjectType } from 'type-graphql';
import type { User } from '../../entities/index.js';
import { UserRoleEnum, UserStatusEnum } from './enums.js';

@ObjectType('Quota', { simpleResolvers: true, description: 'Most an account may hold in live projects' })
export class QuotaType {
  @Field(() => Int) hosts!: number;
  @Field(() => Int) vcpu!: number;
  @Field(() => Int, { description: 'GB' }) memoryGb!: number;
  @Field(() => Int, { description: 'GB' }) diskGb!: number;
}

@InputType('QuotaInput', { description: 'Fields left out stay as they are' })
export class QuotaInput {
  @Field(() => Int, { nullable: true }) hosts?: number | null;
  @Field(() => Int, { nullable: true }) vcpu?: number | null;
  @Field(() => Int, { nullable: true }) memoryGb?: number | null;
  @Field(() => Int, { nullable: true }) diskGb?: number | null;
}

@ObjectType('User', { simpleResolvers: true })
export class UserType {
  @Field(() => Int) id!: number;
  @Field(() => String) username!: string;
  @Field(() => UserRoleEnum) role!: UserRoleEnum;
  @Field(() => UserStatusEnum) status!: UserStatusEnum;
  @Field(() => String, { nullable: true }) fullName!: string | null;
  @Field(() => GraphQLISODateTime) createdAt!: Date;
  @Field(() => QuotaType, { nullable: true, description: 'Null for admins (not limited) ; the default applies until set' })
  quota!: QuotaType | null;
}

export function toUserType(u: User, quota: QuotaType | null = null): UserType {
  return {
    id: u.id,
    username: u.username,
    role: u.role as UserRoleEnum,
    status: u.status as UserStatusEnum,
    fullName: u.fullName ?? null,
    createdAt: u.createdAt,
    quota,
  };
}
@ObjectType('LoginPayload', { simpleResolvers: true })
export class LoginPayloadType {
  @Field(() => String) accessToken!: string;
  @Field(() => String) tokenType!: string;
  @Field(() => GraphQLISODateTime) expiresAt!: Date;
  @Field(() => UserType) user!: UserType;
}
