/** The admin settings flow: read (secrets as set/unset), change (password re-entered, audited), stats. */
import type { EntityManager } from '@mikro-orm/core';
import type { Services } from './index.js';
import type { Principal } from './principal.js';
import { applyAdminSettings, loadSettings, requireAdmin, toAdminView, usageOf, type AdminSettingsPatch, type AdminSettingsView, type PortalUsage } from './settings.js';

export async function readAdminSettings(em: EntityManager, caller: Principal | null): Promise<AdminSettingsView> {
  requireAdmin(caller);
  return toAdminView(await loadSettings(em));
}

export async function changeAdminSettings(
  services: Services,
  em: EntityManager,
  caller: Principal | null,
  patch: AdminSettingsPatch,
  adminPassword: unknown,
): Promise<AdminSettingsView> {
  const admin = requireAdmin(caller);
  try {
    await services.users.confirmAdminPassword(em, admin, adminPassword);
    const { settings, changed } = await applyAdminSettings(em, patch, services.secrets, services.catalog);
    await services.audit.record({ actor: admin.username, action: 'settings.update', target: 'settings', ip: admin.ip, result: 'success', detail: { changed } });
    return toAdminView(settings);
  } catch (err) {
    await services.audit.record({ actor: admin.username, action: 'settings.update', target: 'settings', ip: admin.ip, result: 'failure', detail: { reason: (err as Error).message } });
    throw err;
  }
}

export async function adminStats(em: EntityManager, caller: Principal | null): Promise<PortalUsage> {
  requireAdmin(caller);
  return usageOf(em);
}
