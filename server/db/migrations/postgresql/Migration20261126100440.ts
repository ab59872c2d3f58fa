import { Migration } from '@mikro-orm/migrations';

export class Migration20261126100440 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "idempotency_keys" ("id" serial primary key, "owner" varchar(64) not null, "key" varchar(255) not null, "request_hash" varchar(64) not null, "project_id" int not null, "created_at" timestamptz not null);`);
    this.addSql(`create index "idempotency_keys_project_idx" on "idempotency_keys" ("project_id");`);
    this.addSql(`create index "idempotency_keys_created_idx" on "idempotency_keys" ("created_at");`);
    this.addSql(`alter table "idempotency_keys" add constraint "idempotency_keys_owner_key_uq" unique ("owner", "key");`);

    this.addSql(`create table "runner_instances" ("id" varchar(64) not null, "hostname" varchar(255) not null, "pid" int not null, "started_at" timestamptz not null, "heartbeat_at" timestamptz not null, constraint "runner_instances_pkey" primary key ("id"));`);

    this.addSql(`alter table "projects" drop constraint if exists "projects_status_check";`);

    this.addSql(`alter table "provision_events" drop constraint if exists "provision_events_status_check";`);

    this.addSql(`alter table "projects" add column "completed_steps" jsonb null, add column "claimed_by" varchar(64) null, add column "pending_action" text check ("pending_action" in ('cancel', 'delete')) null, add column "attempt" int not null default 1;`);
    this.addSql(`alter table "projects" add constraint "projects_status_check" check("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETING'));`);
    this.addSql(`create index "projects_claimed_by_idx" on "projects" ("claimed_by");`);

    this.addSql(`alter table "provision_events" add constraint "provision_events_status_check" check("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'DELETING'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);

    this.addSql(`drop table if exists "runner_instances" cascade;`);

    this.addSql(`alter table "projects" drop constraint if exists "projects_status_check";`);

    this.addSql(`alter table "provision_events" drop constraint if exists "provision_events_status_check";`);

    this.addSql(`drop index "projects_claimed_by_idx";`);
    this.addSql(`alter table "projects" drop column "completed_steps", drop column "claimed_by", drop column "pending_action", drop column "attempt";`);

    this.addSql(`alter table "projects" add constraint "projects_status_check" check("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED'));`);

    this.addSql(`alter table "provision_events" add constraint "provision_events_status_check" check("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED'));`);
  }

}
