import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One row of "my resources" derived from a project's `details.resources`: its ALB, Web, DB and
 * SSH-1..n, exactly as the original derived them, kept as rows so the monitoring lists can
 * page, filter and count them with indexes instead of parsing every project's details (which
 * holds every log line of its runs). Written by the journal in the same transaction as the
 * resources themselves (services/project-journal.ts); there are rows only while the project has
 * an `assigned_ip`, as the original listed them. Owner, name and status are read from the
 * project (joined), which is where they change.
 */
@Entity({ tableName: 'project_resources' })
export class ProjectResource {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  projectId!: number;

  /** Order within the project: 0 ALB, 1 Web, 2 DB, 3 + i SSH-(i + 1). */
  @PrimaryKey({ type: 'integer', autoincrement: false })
  ord!: number;

  /** `alb`, `web`, `db` or `ssh` (no check constraint: see the migration). */
  @Property({ type: 'string', length: 8 })
  kind!: string;

  /** `ALB`, `Web`, `DB`, `SSH-n`. */
  @Property({ type: 'string', length: 16 })
  vmName!: string;

  /** The address or URL the row shows (alb_ip, web_url, db_vip, ssh target host). */
  @Property({ type: 'text' })
  address!: string;
}
