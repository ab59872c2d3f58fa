import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { adminStats, changeAdminSettings, readAdminSettings } from '../../services/admin-settings.js';
import type { User } from '../../entities/index.js';
import type { GraphQLContext } from '../context.js';
import { AdminSettingsInput, AdminSettingsType, AuditPageType, toAuditEntryType, UsageType } from '../types/admin.type.js';
import { pagedComplexity } from '../limits.js';
import { UserRoleEnum, UserStatusEnum } from '../types/enums.js';
import { QuotaInput, toUserType, UserType } from '../types/user.type.js';

/** Admin only: accounts, settings, usage and the audit trail. */
@Resolver()
export class AdminResolver {
  private user(ctx: GraphQLContext, user: User): UserType {
    return toUserType(user, ctx.services.quotas.limitOf(user));
  }

  @Query(() => [UserType], { description: 'Accounts, optionally of one status' })
  async users(@Ctx() ctx: GraphQLContext, @Arg('status', () => UserStatusEnum, { nullable: true }) status?: UserStatusEnum | null): Promise<UserType[]> {
    return (await ctx.services.userAdmin.list(ctx.em, ctx.caller, status)).map((u) => this.user(ctx, u));
  }

  @Query(() => [UserType], { description: 'Accounts waiting for approval' })
  async pendingUsers(@Ctx() ctx: GraphQLContext): Promise<UserType[]> {
    return (await ctx.services.userAdmin.list(ctx.em, ctx.caller, 'pending')).map((u) => this.user(ctx, u));
  }

  @Mutation(() => UserType, { description: 'Approves an account and gives it the default quota' })
  async approveUser(@Arg('username', () => String) username: string, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.user(ctx, await ctx.services.userAdmin.approve(ctx.em, ctx.caller, username));
  }

  @Mutation(() => UserType)
  async rejectUser(@Arg('username', () => String) username: string, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.user(ctx, await ctx.services.userAdmin.reject(ctx.em, ctx.caller, username));
  }

  @Mutation(() => UserType, { description: 'Disables an account: it can no longer sign in, and its tokens stop working' })
  async disableUser(@Arg('username', () => String) username: string, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.user(ctx, await ctx.services.userAdmin.disable(ctx.em, ctx.caller, username));
  }

  @Mutation(() => UserType)
  async setUserRole(@Arg('username', () => String) username: string, @Arg('role', () => UserRoleEnum) role: UserRoleEnum, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.user(ctx, await ctx.services.userAdmin.setRole(ctx.em, ctx.caller, username, role));
  }

  @Mutation(() => UserType)
  async resetUserPassword(@Arg('username', () => String) username: string, @Arg('newPassword', () => String) newPassword: string, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.user(ctx, await ctx.services.userAdmin.resetPassword(ctx.em, ctx.caller, username, newPassword));
  }

  @Mutation(() => UserType)
  async setUserQuota(@Arg('username', () => String) username: string, @Arg('quota', () => QuotaInput) quota: QuotaInput, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.user(ctx, await ctx.services.userAdmin.setQuota(ctx.em, ctx.caller, username, { ...quota }));
  }

  @Query(() => AdminSettingsType)
  async adminSettings(@Ctx() { em, caller }: GraphQLContext): Promise<AdminSettingsType> {
    return readAdminSettings(em, caller);
  }

  @Mutation(() => AdminSettingsType, { description: "Changes settings; needs the admin's own password again" })
  async updateAdminSettings(
    @Arg('input', () => AdminSettingsInput) input: AdminSettingsInput,
    @Arg('adminPassword', () => String) adminPassword: string,
    @Ctx() { em, caller, services }: GraphQLContext,
  ): Promise<AdminSettingsType> {
    return changeAdminSettings(services, em, caller, { ...input }, adminPassword);
  }

  @Query(() => UsageType, { description: 'Portal usage (the original /api/admin/stats)' })
  async adminStats(@Ctx() { em, caller }: GraphQLContext): Promise<UsageType> {
    return adminStats(em, caller);
  }

  @Query(() => AuditPageType, { complexity: pagedComplexity('first') })
  async auditLog(
    @Ctx() { em, caller, services }: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg('before', () => Int, { nullable: true }) before?: number | null,
    @Arg('actor', () => String, { nullable: true }) actor?: string | null,
    @Arg('action', () => String, { nullable: true }) action?: string | null,
    @Arg('result', () => String, { nullable: true }) result?: string | null,
  ): Promise<AuditPageType> {
    const page = await services.audit.list(em, caller, { first, before, actor, action, result: result as 'success' | 'failure' | null });
    const entries = page.items.map(toAuditEntryType);
    return { entries, hasMore: page.hasMore, nextBefore: page.hasMore ? entries[entries.length - 1].id : null };
  }
}
