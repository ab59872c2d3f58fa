import { computed } from 'vue';
import { useI18n } from 'vue-i18n';
import { isLocale, LOCALES, setLocale, type Locale } from '../i18n';

/** The active locale and the switch between Korean and English. */
export function useLocale() {
  const { locale } = useI18n();
  return {
    locale: computed<Locale>(() => (isLocale(locale.value) ? locale.value : 'ko')),
    locales: LOCALES,
    setLocale,
  };
}
