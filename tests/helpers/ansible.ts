/**
 * Suites that run Ansible skip with a plain message where ansible-playbook or ansible-lint is not
 * installed, unless REQUIRE_ANSIBLE is set (CI), where a missing Ansible fails the run.
 */
import { spawnSync } from 'node:child_process';

export const ANSIBLE_REQUIRED = /^(1|true|yes)$/i.test(process.env.REQUIRE_ANSIBLE ?? '');

function installed(program: string): boolean {
  return spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function shouldRunAnsible(suite: string): boolean {
  const missing = ['ansible-playbook', 'ansible-lint'].filter((p) => !installed(p));
  if (!missing.length) return true;
  if (ANSIBLE_REQUIRED) throw new Error(`REQUIRE_ANSIBLE is set but ${missing.join(' and ')} is not installed (apt-get install ansible ansible-lint)`);
  console.warn(`SKIPPING suite "${suite}": ${missing.join(' and ')} not installed (apt-get install ansible ansible-lint).`);
  return false;
}
