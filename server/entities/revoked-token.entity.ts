import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** An access token ended by logout before its expiry; kept until it would have expired. */
@Entity({ tableName: 'revoked_tokens' })
export class RevokedToken {
  @PrimaryKey({ type: 'string', length: 64 })
  jti!: string;

  @Index({ name: 'revoked_tokens_expires_idx' })
  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
