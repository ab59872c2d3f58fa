import { Migration } from '@mikro-orm/migrations';

export class Migration20261126072348 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "audit_log" ("id" serial primary key, "at" timestamptz not null, "actor" varchar(64) null, "action" varchar(48) not null, "target" varchar(128) null, "ip" varchar(64) null, "result" varchar(16) not null, "detail" jsonb null);`);
    this.addSql(`create index "audit_log_actor_id_idx" on "audit_log" ("actor", "id");`);
    this.addSql(`create index "audit_log_action_id_idx" on "audit_log" ("action", "id");`);

    this.addSql(`create table "revoked_tokens" ("jti" varchar(64) not null, "expires_at" timestamptz not null, constraint "revoked_tokens_pkey" primary key ("jti"));`);
    this.addSql(`create index "revoked_tokens_expires_idx" on "revoked_tokens" ("expires_at");`);

    this.addSql(`alter table "projects" add column "host_count" int not null default 0, add column "vcpu" int not null default 0, add column "memory_gb" int not null default 0, add column "disk_gb" int not null default 0;`);

    this.addSql(`alter table "settings" add column "vcenter_ip" varchar(255) null, add column "esxi_ip" varchar(255) null, add column "vcenter_user" varchar(255) null, add column "vcenter_password" text null, add column "max_vcpu" int not null default 100, add column "max_memory" int not null default 256, add column "aws_access_key" text null, add column "aws_secret_key" text null, add column "aws_region" varchar(32) null;`);

    this.addSql(`alter table "users" add column "updated_at" timestamptz null, add column "max_vms" int null, add column "max_cpu" int null, add column "max_ram" int null, add column "max_disk" int null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_log" cascade;`);

    this.addSql(`drop table if exists "revoked_tokens" cascade;`);

    this.addSql(`alter table "projects" drop column "host_count", drop column "vcpu", drop column "memory_gb", drop column "disk_gb";`);

    this.addSql(`alter table "settings" drop column "vcenter_ip", drop column "esxi_ip", drop column "vcenter_user", drop column "vcenter_password", drop column "max_vcpu", drop column "max_memory", drop column "aws_access_key", drop column "aws_secret_key", drop column "aws_region";`);

    this.addSql(`alter table "users" drop column "updated_at", drop column "max_vms", drop column "max_cpu", drop column "max_ram", drop column "max_disk";`);
  }

}
