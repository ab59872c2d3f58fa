import { Migration } from '@mikro-orm/migrations';

// Hand-trimmed: the generated version also rebuilt projects, provision_events, users and
// workload_pool, because MikroORM 6.6.16 misreads SQLite enum checks of 3+ values as drift (see
// Migration20261126110336); only the new table is real. `kind` has no check constraint for the
// same reason. The backfill is added by hand.
export class Migration20261206153638 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`project_resources\` (\`project_id\` integer not null, \`ord\` integer not null, \`kind\` text not null, \`vm_name\` text not null, \`address\` text not null, primary key (\`project_id\`, \`ord\`));`);

    // Backfill: the rows services/resources.ts derives from each project that has an assigned_ip
    // (ALB, Web, DB when set; SSH-1..n per ssh target), as the journal writes them from now on.
    for (const [ord, kind, vmName, key] of [[0, 'alb', 'ALB', 'alb_ip'], [1, 'web', 'Web', 'web_url'], [2, 'db', 'DB', 'db_vip']] as const) {
      this.addSql(`insert into \`project_resources\` (\`project_id\`, \`ord\`, \`kind\`, \`vm_name\`, \`address\`)
        select \`id\`, ${ord}, '${kind}', '${vmName}', json_extract(\`details\`, '$.resources.${key}') from \`projects\`
         where \`assigned_ip\` is not null and json_type(\`details\`, '$.resources.${key}') = 'text' and json_extract(\`details\`, '$.resources.${key}') <> '';`);
    }
    this.addSql(`insert into \`project_resources\` (\`project_id\`, \`ord\`, \`kind\`, \`vm_name\`, \`address\`)
      select p.\`id\`, 3 + t.\`key\`, 'ssh', 'SSH-' || (t.\`key\` + 1), coalesce(json_extract(t.\`value\`, '$.host'), '')
        from \`projects\` p, json_each(p.\`details\`, '$.resources.ssh_targets') t
       where p.\`assigned_ip\` is not null and json_type(p.\`details\`, '$.resources.ssh_targets') = 'array';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`project_resources\`;`);
  }

}
