import { Migration } from '@mikro-orm/migrations';

// Hand-trimmed: MikroORM 6.6.16's SQLite generator also proposed rebuilding projects,
// provision_events and users (tables with enum checks) although nothing in them changed; only
// the index change below is real (see Migration20261126100439).
export class Migration20261126131829 extends Migration {

  override async up(): Promise<void> {
    // Free hosts of one infrastructure in id order: the allocation reads only what it takes.
    this.addSql(`drop index \`workload_pool_infra_status_idx\`;`);
    this.addSql(`create index \`workload_pool_free_idx\` on \`workload_pool\` (\`infra\`, \`status\`, \`id\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index \`workload_pool_free_idx\`;`);
    this.addSql(`create index \`workload_pool_infra_status_idx\` on \`workload_pool\` (\`infra\`, \`status\`);`);
  }

}
