import { Migration } from '@mikro-orm/migrations';

export class Migration20261126070422 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "projects" ("id" serial primary key, "service_name" varchar(63) not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')) not null default 'PENDING', "assigned_ip" varchar(64) null, "template_type" varchar(32) not null, "owner" varchar(64) not null, "infra" text check ("infra" in ('aws', 'vsphere')) not null, "details" jsonb not null, "last_seq" int not null default 0, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`create index "projects_infra_id_idx" on "projects" ("infra", "id");`);
    this.addSql(`create index "projects_status_id_idx" on "projects" ("status", "id");`);
    this.addSql(`create index "projects_owner_id_idx" on "projects" ("owner", "id");`);

    this.addSql(`create table "provision_events" ("id" serial primary key, "project_id" int not null, "seq" int not null, "at" timestamptz not null, "kind" text check ("kind" in ('status', 'log', 'resources', 'error')) not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')) not null, "message" text null, "data" jsonb null);`);
    this.addSql(`create index "provision_events_project_idx" on "provision_events" ("project_id");`);
    this.addSql(`alter table "provision_events" add constraint "provision_events_project_seq_uq" unique ("project_id", "seq");`);

    this.addSql(`create table "settings" ("id" int not null default 1, "system_notice" text not null default '', "maintenance_mode" boolean not null default false, "updated_at" timestamptz not null, constraint "settings_pkey" primary key ("id"));`);

    this.addSql(`create table "users" ("id" serial primary key, "username" varchar(64) not null, "password_hash" varchar(255) not null, "role" text check ("role" in ('admin', 'user')) not null default 'user', "status" text check ("status" in ('approved', 'pending', 'rejected', 'disabled')) not null default 'approved', "full_name" varchar(128) null, "created_at" timestamptz not null);`);
    this.addSql(`alter table "users" add constraint "users_username_unique" unique ("username");`);

    this.addSql(`create table "workload_pool" ("id" serial primary key, "vm_name" varchar(64) not null, "ip_address" varchar(64) not null, "infra" text check ("infra" in ('aws', 'vsphere')) not null, "status" text check ("status" in ('available', 'provisioning', 'assigned')) not null default 'available', "project_id" int null, "owner" varchar(64) null, "updated_at" timestamptz not null);`);
    this.addSql(`alter table "workload_pool" add constraint "workload_pool_ip_address_unique" unique ("ip_address");`);
    this.addSql(`create index "workload_pool_project_idx" on "workload_pool" ("project_id");`);
    this.addSql(`create index "workload_pool_infra_status_idx" on "workload_pool" ("infra", "status");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "projects" cascade;`);

    this.addSql(`drop table if exists "provision_events" cascade;`);

    this.addSql(`drop table if exists "settings" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "workload_pool" cascade;`);
  }

}
