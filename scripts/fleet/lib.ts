/**
 * A test fleet on this machine: N hosts, each a network namespace with its own address on a
 * private bridge, its own sshd (key authentication, root) and a private /srv (a directory of the
 * fleet's, bind-mounted over /srv in a mount namespace of the host's own, so what a playbook
 * deploys there stays on that host and can be read from outside), and a home of its own for root
 * (an empty directory over /root: a host's login shell does not run this machine's ~/.bashrc,
 * which on a developer's machine may take seconds, and what Ansible keeps in ~/.ansible stays on
 * the host). The hosts share everything else with this machine: its programs (python3 for
 * Ansible, nginx, haproxy, the node exporter where installed) and its file system outside /srv
 * and /root.
 *
 * Needs root (network namespaces, mounts). Used by `npm run fleet` and by the tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface FleetHost {
  /** The pool's vm_name and the inventory_hostname. */
  name: string;
  address: string;
  /** The network namespace the host lives in. */
  netns: string;
  /** What the host sees as /srv. */
  srv: string;
}

export interface Fleet {
  name: string;
  dir: string;
  bridge: string;
  /** The bridge's own address: how the hosts reach this machine. */
  gateway: string;
  hosts: FleetHost[];
  /** Private key (ed25519, OpenSSH format) that every host accepts for root. */
  keyFile: string;
  /** The hosts as WORKLOAD_POOL_FILE wants them. */
  poolFile: string;
}

export interface FleetOptions {
  /** Names the bridge, namespaces and links (letters and digits, at most 6). */
  name?: string;
  /** Where the fleet keeps its keys, configuration and the hosts' /srv. */
  dir?: string;
  /** The first three octets of the /24 the hosts get addresses in; the bridge is .1, hosts .11 on. */
  subnet?: string;
  /** The pool's infra for these hosts. */
  infra?: 'aws' | 'vsphere';
}

const STATE = 'fleet.json';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command, ignoring failure (cleaning up what may not exist). */
function attempt(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: 'ignore' });
}

export function defaultFleetDir(name: string): string {
  return resolve(process.env.FLEET_DIR ?? join('data', 'fleet', name));
}

function checkName(name: string): void {
  if (!/^[a-z][a-z0-9]{0,5}$/.test(name)) throw new Error(`fleet name must be a lower-case letter then at most 5 letters or digits: ${JSON.stringify(name)}`);
}

function hostNames(name: string, i: number): { netns: string; hostLink: string } {
  return { netns: `${name}-h${i}`, hostLink: `${name}h${i}` };
}

function sshdConfig(host: FleetHost, dir: string): string {
  const hostDir = join(dir, 'hosts', host.name);
  return [
    `ListenAddress ${host.address}`,
    'Port 22',
    `HostKey ${join(hostDir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(hostDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

/** Starts a host's sshd in its namespace, with its /srv and /root bind-mounted in a mount namespace of its own. */
export function startHostSshd(host: FleetHost, dir: string): void {
  const hostDir = join(dir, 'hosts', host.name);
  const home = join(hostDir, 'root-home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  // sshd forks into the background; its mount namespace lives as long as it does.
  run('ip', [
    'netns',
    'exec',
    host.netns,
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    'mount --bind "$1" /srv && mount --bind "$3" /root && exec /usr/sbin/sshd -f "$2"',
    'sh',
    host.srv,
    join(hostDir, 'sshd_config'),
    home,
  ]);
}

/** Stops a host's sshd (and with it every session on the host). */
export function stopHostSshd(host: FleetHost, dir: string): void {
  const pidFile = join(dir, 'hosts', host.name, 'sshd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(pidFile, { force: true });
}

/** Every process still running inside a host's network namespace (its sshd, its sessions, what they started). */
export function processesOf(host: FleetHost): number[] {
  const out = spawnSync('ip', ['netns', 'pids', host.netns], { encoding: 'utf8' });
  return (out.stdout ?? '')
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Cuts a host off (its link down) or brings it back: a host that does not answer. */
export function setHostLink(fleet: Fleet, host: FleetHost, up: boolean): void {
  const i = fleet.hosts.indexOf(host) + 1;
  run('ip', ['link', 'set', hostNames(fleet.name, i).hostLink, up ? 'up' : 'down']);
}

export function fleetUp(count: number, options: FleetOptions = {}): Fleet {
  const name = options.name ?? 'hcmp';
  checkName(name);
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`a fleet has 1 to 200 hosts, not ${count}`);
  if (process.getuid?.() !== 0) throw new Error('the fleet needs root (network namespaces, mounts)');
  const subnet = options.subnet ?? '10.77.0';
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`subnet must be three octets, like 10.77.0: ${subnet}`);
  const dir = resolve(options.dir ?? defaultFleetDir(name));
  if (existsSync(join(dir, STATE))) fleetDown(dir);
  mkdirSync(join(dir, 'hosts'), { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'id_ed25519');
  if (!existsSync(keyFile)) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `hcmp-fleet-${name}`, '-f', keyFile]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`));

  const bridge = `${name}br`;
  const gateway = `${subnet}.1`;
  const fleet: Fleet = { name, dir, bridge, gateway, hosts: [], keyFile, poolFile: join(dir, 'pool.json') };
  // Saved first, so that `down` can clean up after a start that failed half-way.
  const save = () => writeFileSync(join(dir, STATE), JSON.stringify(fleet, null, 2));
  save();
  attempt('ip', ['link', 'del', bridge]);
  run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
  run('ip', ['link', 'set', bridge, 'up']);
  for (let i = 1; i <= count; i++) {
    const { netns, hostLink } = hostNames(name, i);
    const host: FleetHost = { name: `${name}-host${i}`, address: `${subnet}.${10 + i}`, netns, srv: join(dir, 'hosts', `${name}-host${i}`, 'srv') };
    const hostDir = join(dir, 'hosts', host.name);
    mkdirSync(host.srv, { recursive: true });
    fleet.hosts.push(host);
    save();
    attempt('ip', ['netns', 'del', netns]);
    run('ip', ['netns', 'add', netns]);
    run('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', `${hostLink}n`]);
    run('ip', ['link', 'set', hostLink, 'master', bridge, 'up']);
    run('ip', ['link', 'set', `${hostLink}n`, 'netns', netns]);
    run('ip', ['-n', netns, 'link', 'set', `${hostLink}n`, 'name', 'eth0']);
    run('ip', ['-n', netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const hostKey = join(hostDir, 'ssh_host_ed25519_key');
    if (!existsSync(hostKey)) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', hostKey]);
    writeFileSync(join(hostDir, 'sshd_config'), sshdConfig(host, dir));
    startHostSshd(host, dir);
  }
  writeFileSync(fleet.poolFile, JSON.stringify(fleet.hosts.map((h) => ({ vm_name: h.name, ip_address: h.address, infra: options.infra ?? 'vsphere' })), null, 2));
  return fleet;
}

export function readFleet(dir: string): Fleet | null {
  const file = join(resolve(dir), STATE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Fleet) : null;
}

/** Stops every host (its processes included), removes the namespaces, the bridge and the directory. */
export function fleetDown(dir: string, options: { keepDir?: boolean } = {}): void {
  const fleet = readFleet(dir);
  if (fleet) {
    fleet.hosts.forEach((host, index) => {
      stopHostSshd(host, fleet.dir);
      // Whatever the playbooks started there (web servers, exporters) goes too.
      for (const pid of processesOf(host)) attempt('kill', ['-9', String(pid)]);
      attempt('ip', ['netns', 'del', host.netns]);
      attempt('ip', ['link', 'del', hostNames(fleet.name, index + 1).hostLink]);
    });
    attempt('ip', ['link', 'del', fleet.bridge]);
  }
  if (!options.keepDir) rmSync(resolve(dir), { recursive: true, force: true });
}

/** Waits until every host answers on port 22 (sshd is up). */
export async function waitForSsh(fleet: Fleet, timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  const started = Date.now();
  for (const host of fleet.hosts) {
    for (;;) {
      const open = await new Promise<boolean>((resolveOpen) => {
        const socket = connect({ host: host.address, port: 22, timeout: 1000 });
        socket.once('connect', () => {
          socket.destroy();
          resolveOpen(true);
        });
        socket.once('error', () => resolveOpen(false));
        socket.once('timeout', () => {
          socket.destroy();
          resolveOpen(false);
        });
      });
      if (open) break;
      if (Date.now() - started > timeoutMs) throw new Error(`fleet host ${host.name} (${host.address}) did not open port 22 within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
