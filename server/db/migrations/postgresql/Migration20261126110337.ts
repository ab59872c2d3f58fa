import { Migration } from '@mikro-orm/migrations';

export class Migration20261126110337 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "usage_totals" ("owner" varchar(64) not null, "live_projects" int not null default 0, "hosts" int not null default 0, "vcpu" int not null default 0, "memory_gb" int not null default 0, "disk_gb" int not null default 0, constraint "usage_totals_pkey" primary key ("owner"));`);
    // Backfill from the projects as they are: one row per owner with live projects, and the portal row.
    this.addSql(`insert into "usage_totals" ("owner", "live_projects", "hosts", "vcpu", "memory_gb", "disk_gb")
      select "owner", count(*), coalesce(sum("host_count"), 0), coalesce(sum("vcpu"), 0), coalesce(sum("memory_gb"), 0), coalesce(sum("disk_gb"), 0)
        from "projects" where "status" in ('PENDING', 'RUNNING', 'COMPLETED', 'DELETING') group by "owner";`);
    this.addSql(`insert into "usage_totals" ("owner", "live_projects", "hosts", "vcpu", "memory_gb", "disk_gb")
      select '*', count(*), coalesce(sum("host_count"), 0), coalesce(sum("vcpu"), 0), coalesce(sum("memory_gb"), 0), coalesce(sum("disk_gb"), 0)
        from "projects" where "status" in ('PENDING', 'RUNNING', 'COMPLETED', 'DELETING');`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "usage_totals" cascade;`);
  }

}
