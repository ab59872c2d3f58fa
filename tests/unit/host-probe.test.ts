/**
 * The SSH probe of pool hosts without a network: a stand-in `ssh` program records what it was
 * given. The key reaches it only as a 0600 file in a private directory that is gone afterwards,
 * never as text in its arguments; the options pin the known_hosts file (pre-filled with the
 * recorded key); what ssh says is turned into short messages; a hung ssh is killed at the
 * timeout; and overlapping checks share one limit.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpret, KEY_CHANGED, probeHosts, ProbeSlots, type ProbeOptions } from '../../server/services/host-probe.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
const RECORDED = '10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const LEARNED = '10.0.0.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAruHdRR3gz6gvGC+Ljqykgs8/yruHcXu1nsxQojSwaM';

let dir: string;
let fakeSsh: string;
const options = (over: Partial<ProbeOptions> = {}): ProbeOptions => ({ program: fakeSsh, connectTimeoutSeconds: 5, timeoutMs: 5_000, parallel: 8, ...over });
const runs = () =>
  readFileSync(join(dir, 'log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hcmp-probe-test-'));
  fakeSsh = join(dir, 'ssh');
  // Records argv, the key file's mode and its directory's, and the known_hosts it was given;
  // then behaves by the address: .1 ok, .2 ok and learns a key, .3 changed key, .4 refused, .5 hangs.
  writeFileSync(
    fakeSsh,
    `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const opt = (name) => args.filter((a, i) => args[i - 1] === '-o').find((a) => a.startsWith(name + '='))?.slice(name.length + 1);
const key = args[args.indexOf('-i') + 1];
const known = opt('UserKnownHostsFile');
const address = args[args.length - 2];
fs.appendFileSync(${JSON.stringify(join(dir, 'log'))}, JSON.stringify({
  args, keyMode: (fs.statSync(key).mode & 0o777).toString(8), dirMode: (fs.statSync(path.dirname(key)).mode & 0o777).toString(8),
  keyText: fs.readFileSync(key, 'utf8'), known: fs.readFileSync(known, 'utf8'), env: Object.keys(process.env).filter((k) => !k.startsWith('npm_')),
}) + '\\n');
if (address === '10.0.0.1') { console.log('ok'); process.exit(0); }
if (address === '10.0.0.2') { fs.appendFileSync(known, ${JSON.stringify(`${LEARNED}\n`)}); console.log('ok'); process.exit(0); }
if (address === '10.0.0.3') { console.error('@@@@@@@\\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\\nHost key verification failed.'); process.exit(255); }
if (address === '10.0.0.4') { console.error('root@10.0.0.4: Permission denied (publickey).'); process.exit(255); }
setTimeout(() => {}, 60_000);
`,
  );
  chmodSync(fakeSsh, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeHosts', () => {
  it('gives ssh the key only as a 0600 file in a private directory, removed afterwards, with the recorded key as its known_hosts', async () => {
    const results = await probeHosts(
      [
        { id: 1, address: '10.0.0.1', hostKey: RECORDED },
        { id: 2, address: '10.0.0.2', hostKey: null },
      ],
      { user: 'deploy', privateKey: KEY, source: 'settings' },
      options(),
    );
    expect(results).toEqual([
      { id: 1, ok: true, message: 'ok', learnedKeys: null },
      { id: 2, ok: true, message: 'ok', learnedKeys: LEARNED },
    ]);
    const byAddress = (address: string) => runs().find((r) => r.args.at(-2) === address);
    const [first, second] = [byAddress('10.0.0.1'), byAddress('10.0.0.2')];
    expect([first.keyMode, first.dirMode, first.keyText]).toEqual(['600', '700', KEY]);
    expect(first.known).toBe(`${RECORDED}\n`);
    expect(second.known).toBe('');
    for (const run of [first, second]) {
      expect(run.args.join(' ')).not.toContain('PRIVATE KEY');
      expect(run.args).toEqual(expect.arrayContaining(['BatchMode=yes', 'ConnectTimeout=5', 'StrictHostKeyChecking=accept-new', 'HashKnownHosts=no', 'GlobalKnownHostsFile=/dev/null', 'IdentitiesOnly=yes']));
      expect(run.args.slice(-2)[1]).toBe('echo ok');
      expect(run.args[run.args.indexOf('-l') + 1]).toBe('deploy');
      // nothing of the server's environment (secrets included) reaches ssh
      expect(run.env.filter((k: string) => k !== 'LANG')).toEqual([]);
    }
    const keyFile = first.args[first.args.indexOf('-i') + 1];
    expect(existsSync(keyFile)).toBe(false);
    expect(existsSync(join(keyFile, '..'))).toBe(false);
  });

  it('reports a changed host key, a refused login and a host that does not answer in time, each in a short message', async () => {
    const started = Date.now();
    const results = await probeHosts(
      [
        { id: 3, address: '10.0.0.3', hostKey: RECORDED },
        { id: 4, address: '10.0.0.4', hostKey: null },
        { id: 5, address: '10.0.0.5', hostKey: null },
      ],
      { user: 'root', privateKey: KEY, source: 'SSH_PRIVATE_KEY_FILE' },
      options({ timeoutMs: 1_500 }),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(results.map((r) => [r.id, r.ok, r.message])).toEqual([
      [3, false, KEY_CHANGED],
      [4, false, 'login refused (publickey): check the SSH user and key'],
      [5, false, 'no answer within 2 s'],
    ]);
  });

  it('says so when the ssh program is missing', async () => {
    const [result] = await probeHosts([{ id: 1, address: '10.0.0.1', hostKey: null }], { user: 'root', privateKey: KEY, source: 'settings' }, options({ program: join(dir, 'no-such-ssh') }));
    expect(result).toMatchObject({ ok: false, message: 'the ssh program is not installed on the server' });
  });
});

describe('interpret', () => {
  const run = (over: Partial<Parameters<typeof interpret>[0]>) => interpret({ code: 255, stdout: '', stderr: '', timedOut: false, ...over }, 10_000);
  it('tells apart a login that worked, a failed command, an unreachable host and an unusable key', () => {
    expect(run({ code: 0, stdout: 'ok\n' })).toEqual({ ok: true, message: 'ok' });
    expect(run({ code: 1 })).toEqual({ ok: false, message: 'logged in, but the test command failed (exit code 1)' });
    expect(run({ stderr: 'ssh: connect to host 10.0.0.9 port 22: No route to host\r\n' })).toEqual({ ok: false, message: 'connect to host 10.0.0.9 port 22: No route to host' });
    expect(run({ stderr: 'Load key "/tmp/hcmp-probe-x/id": invalid format\nroot@h: Permission denied (publickey).' }).message).toBe('login refused (publickey): check the SSH user and key');
    expect(run({ stderr: 'Load key "/tmp/hcmp-probe-x/id": invalid format\n' }).message).toBe('the configured private key cannot be used: invalid format');
    expect(run({ timedOut: true })).toEqual({ ok: false, message: 'no answer within 10 s' });
  });
});

describe('ProbeSlots', () => {
  it('never runs more than its size at once, however many callers overlap', async () => {
    const slots = new ProbeSlots(3);
    let running = 0;
    let most = 0;
    const job = () =>
      slots.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      });
    await Promise.all([...Array.from({ length: 10 }, job), ...Array.from({ length: 10 }, job)]);
    expect([most, running]).toEqual([3, 0]);
  });
});
