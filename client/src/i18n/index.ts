/**
 * vue-i18n in Composition mode. Korean is bundled and the default; English is loaded on first
 * use (it is not part of the first load of `/`). The choice is remembered in localStorage.
 */
import { createI18n } from 'vue-i18n';
import { readStored, writeStored } from '../utils/storage';
import ko, { type MessageSchema } from './ko';

export const LOCALES = ['ko', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'ko';
export const LOCALE_STORAGE_KEY = 'hcmp.locale';

export const i18n = createI18n<[MessageSchema], Locale, false>({
  legacy: false,
  locale: DEFAULT_LOCALE,
  fallbackLocale: DEFAULT_LOCALE,
  messages: { ko } as Record<Locale, MessageSchema>,
});

const loaders: Record<Locale, () => Promise<MessageSchema>> = {
  ko: async () => ko,
  en: async () => (await import('./en')).default,
};

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The remembered locale, or the default. */
export function rememberedLocale(): Locale {
  const stored = readStored(LOCALE_STORAGE_KEY);
  return isLocale(stored) ? stored : DEFAULT_LOCALE;
}

/** Loads the messages if needed, switches, remembers the choice and sets `<html lang>`. */
export async function setLocale(locale: Locale): Promise<void> {
  const global = i18n.global;
  if (!global.availableLocales.includes(locale)) global.setLocaleMessage(locale, await loaders[locale]());
  global.locale.value = locale;
  writeStored(LOCALE_STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}
