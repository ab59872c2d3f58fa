/**
 * `npm run fleet -- up N [--name hcmp] [--dir DIR] [--subnet 10.77.0]` builds N test hosts on
 * this machine (network namespaces with their own sshd; see lib.ts) and prints how to start
 * H-CMP on them; `npm run fleet -- down [--name hcmp] [--dir DIR]` removes them. Needs root.
 */
import { defaultFleetDir, fleetDown, fleetUp, readFleet, waitForSsh } from './lib.js';

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const name = option(rest, 'name') ?? 'hcmp';
  const dir = option(rest, 'dir') ?? defaultFleetDir(name);
  if (command === 'up') {
    const count = Number(rest.find((a, i) => /^\d+$/.test(a) && !rest[i - 1]?.startsWith('--')) ?? '3');
    const fleet = fleetUp(count, { name, dir, subnet: option(rest, 'subnet') });
    await waitForSsh(fleet);
    console.log(`fleet "${fleet.name}": ${fleet.hosts.length} hosts up on bridge ${fleet.bridge} (${fleet.gateway}/24)`);
    for (const h of fleet.hosts) console.log(`  ${h.name}  ${h.address}  /srv = ${h.srv}`);
    console.log('\nStart H-CMP on them:');
    console.log(`  RUNNER=ansible WORKLOAD_POOL_FILE=${fleet.poolFile} SSH_USER=root SSH_PRIVATE_KEY_FILE=${fleet.keyFile} npm start`);
    console.log(`\nA shell on the first host: ssh -i ${fleet.keyFile} -o StrictHostKeyChecking=accept-new root@${fleet.hosts[0].address}`);
    return;
  }
  if (command === 'down') {
    const known = readFleet(dir);
    fleetDown(dir);
    console.log(known ? `fleet "${known.name}" removed (${known.hosts.length} hosts)` : `no fleet in ${dir}; cleaned up what was there`);
    return;
  }
  console.error('usage: npm run fleet -- up N [--name NAME] [--dir DIR] [--subnet A.B.C] | down [--name NAME] [--dir DIR]');
  process.exit(2);
}

main().catch((err) => {
  console.error(`fleet: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
