import { GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import { Field, InputType } from 'type-graphql';
import { UserRoleEnum } from './enums.js';

@InputType('ProvisionInput', { description: 'The same body as POST /api/provision' })
export class ProvisionInput {
  @Field(() => String) serviceName!: string;
  @Field(() => String, { nullable: true, description: 'Defaults to the caller' }) userName?: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'An AWS design or a template order (SPEC §4)' })
  config?: Record<string, unknown> | null;
  @Field(() => GraphQLJSON, { nullable: true, description: '{"type": "aws" | "vsphere", ...}, or the bare string; empty means AWS' })
  targetInfra?: unknown;
}

@InputType('CreateUserInput')
export class CreateUserInput {
  @Field(() => String) username!: string;
  @Field(() => String) password!: string;
  @Field(() => UserRoleEnum, { nullable: true, defaultValue: UserRoleEnum.user }) role?: UserRoleEnum;
  @Field(() => String, { nullable: true }) fullName?: string | null;
}

@InputType('SignupInput')
export class SignupInput {
  @Field(() => String) username!: string;
  @Field(() => String) password!: string;
  @Field(() => String, { nullable: true }) fullName?: string | null;
}
