import { Migration } from '@mikro-orm/migrations';

export class Migration20261206143553 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "workload_pool" drop constraint if exists "workload_pool_status_check";`);

    this.addSql(`alter table "settings" add column "ssh_user" varchar(64) null, add column "ssh_private_key" text null;`);

    this.addSql(`alter table "workload_pool" add column "drain_requested" boolean not null default false, add column "host_key" text null, add column "checked_at" timestamptz null, add column "check_ok" boolean null, add column "check_message" varchar(500) null;`);
    this.addSql(`alter table "workload_pool" add constraint "workload_pool_status_check" check("status" in ('available', 'provisioning', 'assigned', 'drained'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "workload_pool" drop constraint if exists "workload_pool_status_check";`);

    this.addSql(`alter table "settings" drop column "ssh_user", drop column "ssh_private_key";`);

    this.addSql(`alter table "workload_pool" drop column "drain_requested", drop column "host_key", drop column "checked_at", drop column "check_ok", drop column "check_message";`);

    this.addSql(`alter table "workload_pool" add constraint "workload_pool_status_check" check("status" in ('available', 'provisioning', 'assigned'));`);
  }

}
