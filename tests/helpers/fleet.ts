/**
 * Test fleets (scripts/fleet/lib.ts) with names and subnets of their own, so suites running at
 * the same time do not meet, and removed in afterAll whatever happened.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetDown, fleetUp, waitForSsh, type Fleet } from '../../scripts/fleet/lib.js';
import { ROOT } from './process.js';

export async function testFleet(count: number): Promise<Fleet> {
  const name = `t${randomBytes(2).toString('hex')}`;
  const subnet = `10.${randomInt(120, 250)}.${randomInt(0, 255)}`;
  const dir = mkdtempSync(join(tmpdir(), `hcmp-fleet-${name}-`));
  const fleet = fleetUp(count, { name, subnet, dir });
  try {
    await waitForSsh(fleet);
  } catch (err) {
    fleetDown(fleet.dir);
    throw err;
  }
  return fleet;
}

export function removeFleet(fleet: Fleet | undefined): void {
  if (fleet) fleetDown(fleet.dir);
}

/** The environment a server needs to run `playbookDir` against a fleet with the Ansible runner. */
export function ansibleEnv(fleet: Fleet, playbookDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    RUNNER: 'ansible',
    ANSIBLE_PLAYBOOK_DIR: playbookDir,
    WORKLOAD_POOL_FILE: fleet.poolFile,
    SSH_USER: 'root',
    SSH_PRIVATE_KEY_FILE: fleet.keyFile,
    ...extra,
  };
}

export const CUSTOM_PLAYBOOKS = join(ROOT, 'tests', 'fixtures', 'playbooks-custom');
export const DEFAULT_PLAYBOOKS = join(ROOT, 'playbooks');
