import { Migration } from '@mikro-orm/migrations';

// Hand-edited: MikroORM 6.6.16 rebuilt users and workload_pool for no reason (it misreads
// SQLite enum checks of 3+ values as drift) and missed the rebuild that projects' new status
// check needs; tests/integration/migrations.test.ts checks the result against the entities.
export class Migration20261126100439 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`idempotency_keys\` (\`id\` integer not null primary key autoincrement, \`owner\` text not null, \`key\` text not null, \`request_hash\` text not null, \`project_id\` integer not null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`idempotency_keys_project_idx\` on \`idempotency_keys\` (\`project_id\`);`);
    this.addSql(`create index \`idempotency_keys_created_idx\` on \`idempotency_keys\` (\`created_at\`);`);
    this.addSql(`create unique index \`idempotency_keys_owner_key_uq\` on \`idempotency_keys\` (\`owner\`, \`key\`);`);

    this.addSql(`create table \`runner_instances\` (\`id\` text not null, \`hostname\` text not null, \`pid\` integer not null, \`started_at\` datetime not null, \`heartbeat_at\` datetime not null, primary key (\`id\`));`);

    this.addSql(`alter table \`projects\` add column \`completed_steps\` json null;`);
    this.addSql(`alter table \`projects\` add column \`claimed_by\` text null;`);
    this.addSql(`alter table \`projects\` add column \`pending_action\` text check (\`pending_action\` in ('cancel', 'delete')) null;`);
    this.addSql(`alter table \`projects\` add column \`attempt\` integer not null default 1;`);

    this.addSql(`pragma foreign_keys = off;`);
    this.addSql(`create table \`provision_events__temp_alter\` (\`id\` integer not null primary key autoincrement, \`project_id\` integer not null, \`seq\` integer not null, \`at\` datetime not null, \`kind\` text check (\`kind\` in ('status', 'log', 'resources', 'error')) not null, \`status\` text check (\`status\` in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETING')) not null, \`message\` text null, \`data\` json null);`);
    this.addSql(`insert into \`provision_events__temp_alter\` select \`id\`, \`project_id\`, \`seq\`, \`at\`, \`kind\`, \`status\`, \`message\`, \`data\` from \`provision_events\`;`);
    this.addSql(`drop table \`provision_events\`;`);
    this.addSql(`alter table \`provision_events__temp_alter\` rename to \`provision_events\`;`);
    this.addSql(`create index \`provision_events_project_idx\` on \`provision_events\` (\`project_id\`);`);
    this.addSql(`create unique index \`provision_events_project_seq_uq\` on \`provision_events\` (\`project_id\`, \`seq\`);`);
    this.addSql(`pragma foreign_keys = on;`);
    this.addSql(`pragma foreign_keys = off;`);
    this.addSql(`create table \`projects__temp_alter\` (\`id\` integer not null primary key autoincrement, \`service_name\` text not null, \`status\` text check (\`status\` in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETING')) not null default 'PENDING', \`assigned_ip\` text null, \`template_type\` text not null, \`owner\` text not null, \`infra\` text check (\`infra\` in ('aws', 'vsphere')) not null, \`details\` json not null, \`last_seq\` integer not null default 0, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`host_count\` integer not null default 0, \`vcpu\` integer not null default 0, \`memory_gb\` integer not null default 0, \`disk_gb\` integer not null default 0, \`completed_steps\` json null, \`claimed_by\` text null, \`pending_action\` text check (\`pending_action\` in ('cancel', 'delete')) null, \`attempt\` integer not null default 1);`);
    this.addSql(`insert into \`projects__temp_alter\` (\`id\`, \`service_name\`, \`status\`, \`assigned_ip\`, \`template_type\`, \`owner\`, \`infra\`, \`details\`, \`last_seq\`, \`created_at\`, \`updated_at\`, \`host_count\`, \`vcpu\`, \`memory_gb\`, \`disk_gb\`, \`completed_steps\`, \`claimed_by\`, \`pending_action\`, \`attempt\`) select \`id\`, \`service_name\`, \`status\`, \`assigned_ip\`, \`template_type\`, \`owner\`, \`infra\`, \`details\`, \`last_seq\`, \`created_at\`, \`updated_at\`, \`host_count\`, \`vcpu\`, \`memory_gb\`, \`disk_gb\`, \`completed_steps\`, \`claimed_by\`, \`pending_action\`, \`attempt\` from \`projects\`;`);
    this.addSql(`drop table \`projects\`;`);
    this.addSql(`alter table \`projects__temp_alter\` rename to \`projects\`;`);
    this.addSql(`create index \`projects_owner_id_idx\` on \`projects\` (\`owner\`, \`id\`);`);
    this.addSql(`create index \`projects_status_id_idx\` on \`projects\` (\`status\`, \`id\`);`);
    this.addSql(`create index \`projects_infra_id_idx\` on \`projects\` (\`infra\`, \`id\`);`);
    this.addSql(`create index \`projects_claimed_by_idx\` on \`projects\` (\`claimed_by\`);`);
    this.addSql(`pragma foreign_keys = on;`);
  }

}
