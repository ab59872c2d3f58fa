import { Entity, Enum, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { PROJECT_STATUSES, type ProjectStatus } from './project.entity.js';

export const EVENT_KINDS = ['status', 'log', 'resources', 'error'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One step of a project's history; replayed in `seq` order to any client that asks. */
@Entity({ tableName: 'provision_events' })
// The unique (project_id, seq) index also serves every lookup by project (its first column);
// a second index on project_id alone only cost a write per event (migration …20261126164209).
@Unique({ name: 'provision_events_project_seq_uq', properties: ['projectId', 'seq'] })
export class ProvisionEvent {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'integer' })
  projectId!: number;

  @Property({ type: 'integer' })
  seq!: number;

  @Property({ type: 'datetime' })
  at: Date = new Date();

  @Enum({ items: () => [...EVENT_KINDS], type: 'string', length: 16 })
  kind!: EventKind;

  /** The project's status once this event applied. */
  @Enum({ items: () => [...PROJECT_STATUSES], type: 'string', length: 16 })
  status!: ProjectStatus;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  @Property({ type: 'json', nullable: true })
  data?: Record<string, unknown> | null;
}
