import { Field, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { User } from '../../entities/index.js';
import { UserRoleEnum, UserStatusEnum } from './enums.js';

@ObjectType('User')
export class UserType {
  @Field(() => Int) id!: number;
  @Field(() => String) username!: string;
  @Field(() => UserRoleEnum) role!: UserRoleEnum;
  @Field(() => UserStatusEnum) status!: UserStatusEnum;
  @Field(() => String, { nullable: true }) fullName!: string | null;
  @Field(() => GraphQLISODateTime) createdAt!: Date;
}

export function toUserType(u: User): UserType {
  return {
    id: u.id,
    username: u.username,
    role: u.role as UserRoleEnum,
    status: u.status as UserStatusEnum,
    fullName: u.fullName ?? null,
    createdAt: u.createdAt,
  };
}

@ObjectType('LoginPayload')
export class LoginPayloadType {
  @Field(() => String) accessToken!: string;
  @Field(() => String) tokenType!: string;
  @Field(() => GraphQLISODateTime) expiresAt!: Date;
  @Field(() => UserType) user!: UserType;
}
