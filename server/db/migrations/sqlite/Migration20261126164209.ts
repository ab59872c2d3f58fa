import { Migration } from '@mikro-orm/migrations';

// Hand-trimmed: MikroORM 6.6.16's SQLite generator also proposed rebuilding projects,
// provision_events, users and workload_pool (tables with enum checks) although nothing in them
// changed; only the index change below is real (see Migration20261126131829).
export class Migration20261126164209 extends Migration {

  override async up(): Promise<void> {
    // Lookups by project use the unique (project_id, seq) index; this one only cost a write per event.
    this.addSql(`drop index \`provision_events_project_idx\`;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index \`provision_events_project_idx\` on \`provision_events\` (\`project_id\`);`);
  }

}
