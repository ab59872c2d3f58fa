/**
 * Texts for the admin page's errors, chosen by `extensions.code` (never by the server's message):
 * FORBIDDEN, CONFLICT (a taken name, or the last administrator), BAD_USER_INPUT with its issues
 * mapped to the form's fields.
 */
import { useI18n } from 'vue-i18n';
import type { ApiError } from '../graphql/client';

/** What the failed call was: the same code means different things to a person. */
export type AdminAction = 'account' | 'create' | 'settings';

/** The field an issue names: the last part of its `loc`, with snake_case turned into camelCase. */
export function issueField(loc: (string | number)[]): string {
  return String(loc[loc.length - 1] ?? '').replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export function useAdminErrorText() {
  const { t } = useI18n();

  function adminErrorText(error: ApiError, action: AdminAction = 'account'): string {
    switch (error.code) {
      case 'FORBIDDEN':
        return action === 'settings' ? t('adminUsers.errors.wrongPassword') : t('adminUsers.errors.forbidden');
      case 'CONFLICT':
        return action === 'create' ? t('adminUsers.errors.usernameTaken') : t('adminUsers.errors.lastAdmin');
      case 'BAD_USER_INPUT':
        return t('adminUsers.errors.badInput');
      case 'NOT_FOUND':
        return t('adminUsers.errors.notFound');
      default:
        return t(`errors.${error.code}`);
    }
  }

  /** BAD_USER_INPUT issues by field (only the `fields` the form has); empty for other codes. */
  function fieldErrorsOf<F extends string>(error: ApiError | null, fields: readonly F[]): Partial<Record<F, string>> {
    const out: Partial<Record<F, string>> = {};
    if (!error || error.code !== 'BAD_USER_INPUT') return out;
    for (const issue of error.issues) {
      const field = issueField(issue.loc) as F;
      if (fields.includes(field)) out[field] = t('adminUsers.errors.invalidField');
    }
    return out;
  }

  return { adminErrorText, fieldErrorsOf };
}
