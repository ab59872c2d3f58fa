import { Migration } from '@mikro-orm/migrations';

// Hand-written: the generated version rebuilt projects, provision_events and users for no reason
// (MikroORM 6.6.16 misreads SQLite enum checks of 3+ values as drift) and missed the new
// 'drained' status of workload_pool, whose check SQLite can only change by rebuilding the table.
export class Migration20261206143553 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`settings\` add column \`ssh_user\` text null;`);
    this.addSql(`alter table \`settings\` add column \`ssh_private_key\` text null;`);

    this.addSql(`pragma foreign_keys = off;`);
    this.addSql(`create table \`workload_pool__temp_alter\` (\`id\` integer not null primary key autoincrement, \`vm_name\` text not null, \`ip_address\` text not null, \`infra\` text check (\`infra\` in ('aws', 'vsphere')) not null, \`status\` text check (\`status\` in ('available', 'provisioning', 'assigned', 'drained')) not null default 'available', \`project_id\` integer null, \`owner\` text null, \`drain_requested\` integer not null default false, \`host_key\` text null, \`checked_at\` datetime null, \`check_ok\` integer null, \`check_message\` text null, \`updated_at\` datetime not null);`);
    this.addSql(`insert into \`workload_pool__temp_alter\` (\`id\`, \`vm_name\`, \`ip_address\`, \`infra\`, \`status\`, \`project_id\`, \`owner\`, \`updated_at\`) select \`id\`, \`vm_name\`, \`ip_address\`, \`infra\`, \`status\`, \`project_id\`, \`owner\`, \`updated_at\` from \`workload_pool\`;`);
    this.addSql(`drop table \`workload_pool\`;`);
    this.addSql(`alter table \`workload_pool__temp_alter\` rename to \`workload_pool\`;`);
    this.addSql(`create unique index \`workload_pool_ip_address_unique\` on \`workload_pool\` (\`ip_address\`);`);
    this.addSql(`create index \`workload_pool_project_idx\` on \`workload_pool\` (\`project_id\`);`);
    this.addSql(`create index \`workload_pool_free_idx\` on \`workload_pool\` (\`infra\`, \`status\`, \`id\`);`);
    this.addSql(`pragma foreign_keys = on;`);
  }

}
