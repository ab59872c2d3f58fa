import { Migration } from '@mikro-orm/migrations';

export class Migration20261206153638 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "project_resources" ("project_id" int not null, "ord" int not null, "kind" varchar(8) not null, "vm_name" varchar(16) not null, "address" text not null, constraint "project_resources_pkey" primary key ("project_id", "ord"));`);

    // Backfill: the rows services/resources.ts derives from each project that has an assigned_ip
    // (ALB, Web, DB when set; SSH-1..n per ssh target), as the journal writes them from now on.
    for (const [ord, kind, vmName, key] of [[0, 'alb', 'ALB', 'alb_ip'], [1, 'web', 'Web', 'web_url'], [2, 'db', 'DB', 'db_vip']] as const) {
      this.addSql(`insert into "project_resources" ("project_id", "ord", "kind", "vm_name", "address")
        select "id", ${ord}, '${kind}', '${vmName}', "details"->'resources'->>'${key}' from "projects"
         where "assigned_ip" is not null and jsonb_typeof("details"->'resources'->'${key}') = 'string' and "details"->'resources'->>'${key}' <> '';`);
    }
    this.addSql(`insert into "project_resources" ("project_id", "ord", "kind", "vm_name", "address")
      select p."id", 2 + t.n, 'ssh', 'SSH-' || t.n, coalesce(t.value->>'host', '')
        from "projects" p, jsonb_array_elements(case when jsonb_typeof(p."details"->'resources'->'ssh_targets') = 'array' then p."details"->'resources'->'ssh_targets' else '[]'::jsonb end) with ordinality t(value, n)
       where p."assigned_ip" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "project_resources" cascade;`);
  }

}
