import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One live server process that runs jobs. It refreshes `heartbeatAt` while it lives; another
 * instance that sees the heartbeat go stale takes over the projects it had claimed.
 */
@Entity({ tableName: 'runner_instances' })
export class RunnerInstance {
  @PrimaryKey({ type: 'string', length: 64 })
  id!: string;

  @Property({ type: 'string', length: 255 })
  hostname!: string;

  @Property({ type: 'integer' })
  pid!: number;

  @Property({ type: 'datetime' })
  startedAt: Date = new Date();

  @Property({ type: 'datetime' })
  heartbeatAt: Date = new Date();
}
