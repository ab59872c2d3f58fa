import { Ctx, Query, Resolver } from 'type-graphql';
import { loadSettings } from '../../services/settings.js';
import type { GraphQLContext } from '../context.js';
import { CatalogType, PublicSettingsType, TemplateType } from '../types/settings.type.js';
import type { Catalog } from '../../config/catalog.js';
import type { Setting } from '../../entities/setting.entity.js';
import type { Services } from '../../services/index.js';

function templatesOf(catalog: Catalog): TemplateType[] {
  return Object.entries(catalog.templates).map(([name, t]) => ({ name, label: t.label, hostCount: t.roles.length, roles: t.roles }));
}

function toPublicSettings(s: Setting, services: Services): PublicSettingsType {
  return {
    systemNotice: s.systemNotice,
    maintenanceMode: s.maintenanceMode,
    siteName: 'H-CMP',
    infrastructures: ['aws', 'vsphere'],
    database: { backend: services.database.backend, fellBack: services.database.fellBack },
  };
}

@Resolver()
export class SettingsResolver {
  @Query(() => PublicSettingsType, { description: 'No login needed: notice, maintenance mode, active database' })
  async publicSettings(@Ctx() { em, services }: GraphQLContext): Promise<PublicSettingsType> {
    return toPublicSettings(await loadSettings(em), services);
  }

  @Query(() => [TemplateType], { description: 'vSphere service templates with host counts and roles' })
  templates(@Ctx() { services }: GraphQLContext): TemplateType[] {
    return templatesOf(services.catalog);
  }

  @Query(() => CatalogType, { description: 'Templates, packages, environments, traffic, tiers, engines, regions' })
  catalog(@Ctx() { services }: GraphQLContext): CatalogType {
    const c = services.catalog;
    return {
      templates: templatesOf(c),
      packages: c.packages,
      environments: c.environments,
      traffic: c.traffic,
      instanceTiers: c.instanceTiers,
      dbEngines: c.dbEngines,
      regions: c.regions,
      mockSteps: c.mockSteps.map((s) => s.id),
    };
  }

}
