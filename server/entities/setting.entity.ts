import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** The single row of portal-wide settings (id 1), as the original `settings` table. */
@Entity({ tableName: 'settings' })
export class Setting {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id: number = 1;

  @Property({ type: 'text' })
  systemNotice: string = '';

  @Property({ type: 'boolean' })
  maintenanceMode: boolean = false;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
