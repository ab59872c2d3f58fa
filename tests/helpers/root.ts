/**
 * Suites that change the machine itself (mount a small file system, build network namespaces)
 * need root. They skip with a plain message elsewhere, unless REQUIRE_ROOT is set (CI runs as
 * root and sets it), where running without root fails the run.
 */
import { userInfo } from 'node:os';

export const ROOT_REQUIRED = /^(1|true|yes)$/i.test(process.env.REQUIRE_ROOT ?? '');

export function shouldRunAsRoot(suite: string): boolean {
  if (userInfo().uid === 0) return true;
  if (ROOT_REQUIRED) throw new Error(`REQUIRE_ROOT is set but suite "${suite}" runs as uid ${userInfo().uid}, not root`);
  console.warn(`SKIPPING suite "${suite}": it needs root (mounts and network namespaces); run the tests as root to include it.`);
  return false;
}
