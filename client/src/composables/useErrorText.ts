/** Localised texts for API errors, chosen by code (never by the server's message). */
import { useI18n } from 'vue-i18n';
import type { ApiError } from '../graphql/client';
import { splitSeconds } from '../utils/duration';
import { hostShortage } from '../utils/project-status';

export function useErrorText() {
  const { t } = useI18n();

  /** "1분 30초" / "1 min 30 s" */
  function duration(seconds: number): string {
    const { m, s } = splitSeconds(seconds);
    if (m === 0) return t('time.seconds', { s });
    return s === 0 ? t('time.minutes', { m }) : t('time.minutesSeconds', { m, s });
  }

  /** The generic text for an error's code. */
  function errorText(error: ApiError): string {
    return t(`errors.${error.code}`);
  }

  /** Orders and retries: an exhausted workload pool says how many hosts were needed and are free. */
  function provisionErrorText(error: ApiError): string {
    const shortage = hostShortage(error);
    return shortage ? t('provision.notEnoughHosts', { needed: shortage.needed, available: shortage.available }) : errorText(error);
  }

  /** Sign-in answers: bad credentials, an account not approved (or rejected / disabled), lock-out. */
  function signInErrorText(error: ApiError): string {
    switch (error.code) {
      case 'UNAUTHENTICATED':
        return t('signIn.errors.badCredentials');
      case 'FORBIDDEN':
        return t('signIn.errors.notApproved');
      case 'TOO_MANY_REQUESTS':
        return error.retryAfter != null ? t('signIn.errors.tooMany', { time: duration(error.retryAfter) }) : t('errors.TOO_MANY_REQUESTS');
      default:
        return errorText(error);
    }
  }

  return { duration, errorText, provisionErrorText, signInErrorText };
}
