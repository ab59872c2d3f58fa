import { Migration } from '@mikro-orm/migrations';

export class Migration20261126131829 extends Migration {

  override async up(): Promise<void> {
    // Free hosts of one infrastructure in id order: the allocation reads only what it takes.
    this.addSql(`drop index "workload_pool_infra_status_idx";`);
    this.addSql(`create index "workload_pool_free_idx" on "workload_pool" ("infra", "status", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "workload_pool_free_idx";`);

    this.addSql(`create index "workload_pool_infra_status_idx" on "workload_pool" ("infra", "status");`);
  }

}
