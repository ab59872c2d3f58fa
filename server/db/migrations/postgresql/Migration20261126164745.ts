import { Migration } from '@mikro-orm/migrations';

export class Migration20261126164745 extends Migration {

  override async up(): Promise<void> {
    // Only projects a runner holds are in it: an order or a finished run writes no entry.
    this.addSql(`drop index "projects_claimed_by_idx";`);
    this.addSql(`create index projects_claimed_by_idx on projects (claimed_by) where claimed_by is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "projects_claimed_by_idx";`);
    this.addSql(`create index "projects_claimed_by_idx" on "projects" ("claimed_by");`);
  }

}
