import { Migration } from '@mikro-orm/migrations';

export class Migration20261126070422 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`projects\` (\`id\` integer not null primary key autoincrement, \`service_name\` text not null, \`status\` text check (\`status\` in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')) not null default 'PENDING', \`assigned_ip\` text null, \`template_type\` text not null, \`owner\` text not null, \`infra\` text check (\`infra\` in ('aws', 'vsphere')) not null, \`details\` json not null, \`last_seq\` integer not null default 0, \`created_at\` datetime not null, \`updated_at\` datetime not null);`);
    this.addSql(`create index \`projects_infra_id_idx\` on \`projects\` (\`infra\`, \`id\`);`);
    this.addSql(`create index \`projects_status_id_idx\` on \`projects\` (\`status\`, \`id\`);`);
    this.addSql(`create index \`projects_owner_id_idx\` on \`projects\` (\`owner\`, \`id\`);`);

    this.addSql(`create table \`provision_events\` (\`id\` integer not null primary key autoincrement, \`project_id\` integer not null, \`seq\` integer not null, \`at\` datetime not null, \`kind\` text check (\`kind\` in ('status', 'log', 'resources', 'error')) not null, \`status\` text check (\`status\` in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')) not null, \`message\` text null, \`data\` json null);`);
    this.addSql(`create index \`provision_events_project_idx\` on \`provision_events\` (\`project_id\`);`);
    this.addSql(`create unique index \`provision_events_project_seq_uq\` on \`provision_events\` (\`project_id\`, \`seq\`);`);

    this.addSql(`create table \`settings\` (\`id\` integer not null default 1, \`system_notice\` text not null default '', \`maintenance_mode\` integer not null default false, \`updated_at\` datetime not null, primary key (\`id\`));`);

    this.addSql(`create table \`users\` (\`id\` integer not null primary key autoincrement, \`username\` text not null, \`password_hash\` text not null, \`role\` text check (\`role\` in ('admin', 'user')) not null default 'user', \`status\` text check (\`status\` in ('approved', 'pending', 'rejected', 'disabled')) not null default 'approved', \`full_name\` text null, \`created_at\` datetime not null);`);
    this.addSql(`create unique index \`users_username_unique\` on \`users\` (\`username\`);`);

    this.addSql(`create table \`workload_pool\` (\`id\` integer not null primary key autoincrement, \`vm_name\` text not null, \`ip_address\` text not null, \`infra\` text check (\`infra\` in ('aws', 'vsphere')) not null, \`status\` text check (\`status\` in ('available', 'provisioning', 'assigned')) not null default 'available', \`project_id\` integer null, \`owner\` text null, \`updated_at\` datetime not null);`);
    this.addSql(`create unique index \`workload_pool_ip_address_unique\` on \`workload_pool\` (\`ip_address\`);`);
    this.addSql(`create index \`workload_pool_project_idx\` on \`workload_pool\` (\`project_id\`);`);
    this.addSql(`create index \`workload_pool_infra_status_idx\` on \`workload_pool\` (\`infra\`, \`status\`);`);
  }

}
