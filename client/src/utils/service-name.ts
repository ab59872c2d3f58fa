/**
 * The server's service-name rule (server/services/provision-input.ts): 1-63 lowercase letters,
 * digits and hyphens, not starting or ending with a hyphen. Checked as the user types; the
 * server checks it again.
 */
export const SERVICE_NAME_RULE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const SERVICE_NAME_MAX = 63;

export type ServiceNameProblem = 'required' | 'tooLong' | 'pattern';

/** What is wrong with a name, or null when the server will accept it. */
export function serviceNameProblem(name: string): ServiceNameProblem | null {
  if (name.length === 0) return 'required';
  if (name.length > SERVICE_NAME_MAX) return 'tooLong';
  return SERVICE_NAME_RULE.test(name) ? null : 'pattern';
}
