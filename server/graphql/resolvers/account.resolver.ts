import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { QuotaStatusType } from '../types/admin.type.js';
import { CreateUserInput, SignupInput } from '../types/inputs.js';
import { LoginPayloadType, toUserType, UserType } from '../types/user.type.js';
import { requireCaller } from '../../services/principal.js';

/** Sign-in, sign-up, the caller's own account. */
@Resolver()
export class AccountResolver {
  @Mutation(() => LoginPayloadType, { description: 'Signs in; the token goes in `Authorization: Bearer …` or graphql-ws connectionParams' })
  async login(
    @Arg('username', () => String) username: string,
    @Arg('password', () => String) password: string,
    @Ctx() { em, services, clientIp }: GraphQLContext,
  ): Promise<LoginPayloadType> {
    const result = await services.users.login(em, username, password, clientIp);
    return {
      accessToken: result.token,
      tokenType: 'bearer',
      expiresAt: result.expiresAt,
      user: toUserType(result.user, services.quotas.limitOf(result.user)),
    };
  }

  @Mutation(() => Boolean, { description: 'Ends the current token on the server; open sockets using it are closed' })
  async logout(@Ctx() { caller, services }: GraphQLContext): Promise<boolean> {
    const who = requireCaller(caller);
    await services.sessions.logout(who);
    await services.audit.record({ actor: who.username, action: 'logout', target: who.username, ip: who.ip, result: 'success' });
    return true;
  }

  @Mutation(() => UserType, { description: 'Asks for an account; it can sign in once an admin approves it' })
  async signup(@Arg('input', () => SignupInput) input: SignupInput, @Ctx() { em, services, clientIp }: GraphQLContext): Promise<UserType> {
    return toUserType(await services.users.signup(em, input, clientIp));
  }

  @Query(() => UserType, { description: 'The signed-in account' })
  async me(@Ctx() { em, caller, services }: GraphQLContext): Promise<UserType> {
    const user = await services.users.me(em, caller);
    return toUserType(user, services.quotas.limitOf(user));
  }

  @Query(() => QuotaStatusType, { description: "The caller's quota and what their live projects use" })
  async myQuota(@Ctx() { em, caller, services }: GraphQLContext): Promise<QuotaStatusType> {
    return services.quotas.status(em, requireCaller(caller).username);
  }

  @Mutation(() => Boolean, { description: "Changes the caller's own password" })
  async changePassword(
    @Arg('currentPassword', () => String) currentPassword: string,
    @Arg('newPassword', () => String) newPassword: string,
    @Ctx() { em, caller, services }: GraphQLContext,
  ): Promise<boolean> {
    await services.users.changePassword(em, caller, currentPassword, newPassword);
    return true;
  }

  @Mutation(() => UserType, { description: 'Admin only: creates an approved account' })
  async createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() { em, caller, services }: GraphQLContext): Promise<UserType> {
    const user = await services.users.createUser(em, caller, input);
    return toUserType(user, services.quotas.limitOf(user));
  }
}
