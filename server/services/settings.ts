/** Portal-wide settings (the original `settings` row): system notice and maintenance mode. */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { Setting } from '../entities/setting.entity.js';
import { DomainError, forbidden } from './errors.js';
import { isAdmin, requireCaller, type Principal } from './principal.js';

export interface SettingsPatch {
  systemNotice?: string | null;
  maintenanceMode?: boolean | null;
}

const MAX_NOTICE = 2000;

export async function loadSettings(em: EntityManager): Promise<Setting> {
  const existing = await em.findOne(Setting, 1);
  if (existing) return existing;
  // The first requests after a fresh start may race to create the row: insert it only if it
  // is still missing (a plain insert failed the losers with a unique-key error), then read it.
  await (em as SqlEntityManager)
    .createQueryBuilder(Setting)
    .insert({ id: 1, systemNotice: '', maintenanceMode: false, updatedAt: new Date() })
    .onConflict('id')
    .ignore()
    .execute();
  return em.findOneOrFail(Setting, 1);
}

export async function assertAcceptingOrders(em: EntityManager): Promise<void> {
  const settings = await loadSettings(em);
  if (settings.maintenanceMode) {
    const notice = settings.systemNotice ? `: ${settings.systemNotice}` : '';
    throw new DomainError('SERVICE_UNAVAILABLE', `Maintenance mode is on; new provisioning is paused${notice}`);
  }
}

export async function updateSettings(em: EntityManager, caller: Principal | null, patch: SettingsPatch): Promise<Setting> {
  if (!isAdmin(requireCaller(caller))) throw forbidden('관리자만 접근 가능합니다.');
  if (patch.systemNotice != null && patch.systemNotice.length > MAX_NOTICE) {
    throw new DomainError('BAD_USER_INPUT', `systemNotice must be at most ${MAX_NOTICE} characters`, [
      { loc: ['body', 'systemNotice'], msg: `at most ${MAX_NOTICE} characters`, type: 'string_too_long' },
    ]);
  }
  const settings = await loadSettings(em);
  if (patch.systemNotice != null) settings.systemNotice = patch.systemNotice;
  if (patch.maintenanceMode != null) settings.maintenanceMode = patch.maintenanceMode;
  settings.updatedAt = new Date();
  await em.flush();
  return settings;
}
