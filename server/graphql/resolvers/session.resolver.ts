import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { CreateUserInput } from '../types/inputs.js';
import { LoginPayloadType, toUserType, UserType } from '../types/user.type.js';

@Resolver()
export class SessionResolver {
  @Mutation(() => LoginPayloadType, { description: 'Signs in; the token goes in `Authorization: Bearer …` or graphql-ws connectionParams' })
  async login(
    @Arg('username', () => String) username: string,
    @Arg('password', () => String) password: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<LoginPayloadType> {
    const result = await services.users.login(em, username, password);
    return { accessToken: result.token, tokenType: 'bearer', expiresAt: result.expiresAt, user: toUserType(result.user) };
  }

  @Query(() => UserType, { description: 'The signed-in account' })
  async me(@Ctx() { em, caller, services }: GraphQLContext): Promise<UserType> {
    return toUserType(await services.users.me(em, caller));
  }

  @Mutation(() => UserType, { description: 'Admin only: creates an approved account' })
  async createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() { em, caller, services }: GraphQLContext): Promise<UserType> {
    return toUserType(await services.users.createUser(em, caller, input));
  }
}
