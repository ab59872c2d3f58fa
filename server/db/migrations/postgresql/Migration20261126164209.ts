import { Migration } from '@mikro-orm/migrations';

export class Migration20261126164209 extends Migration {

  override async up(): Promise<void> {
    // Lookups by project use the unique (project_id, seq) index; this one only cost a write per event.
    this.addSql(`drop index "provision_events_project_idx";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index "provision_events_project_idx" on "provision_events" ("project_id");`);
  }

}
