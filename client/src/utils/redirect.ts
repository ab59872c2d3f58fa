/** Where to go after signing in: a path of this console only, never another origin. */
export const DEFAULT_AFTER_SIGN_IN = '/main_ui';

export function safeRedirect(value: unknown, fallback = DEFAULT_AFTER_SIGN_IN): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return fallback;
  if (value === '/configure' || value.startsWith('/configure?')) return fallback;
  return value;
}
