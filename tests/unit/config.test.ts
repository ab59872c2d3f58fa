import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_ENCRYPT_KEY, loadConfig } from '../../server/config/index.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('has working development defaults with nothing set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.sqlitePath.endsWith(join('data', 'hcmp.db'))).toBe(true);
    expect(c.dbFallback).toBe(true);
    expect(c.adminUsername).toBe('admin');
    expect(c.sessionTtlMinutes).toBe(30);
    expect(c.runner).toBe('mock');
    expect(c.mockStepDelayMs).toBe(800);
    expect(c.ipPools).toEqual({ aws: '10.99.0.0/24', vsphere: '192.168.40.0/24' });
    expect(c.encryptKey).toBe(DEV_ENCRYPT_KEY);
    expect(Object.keys(c.catalog.templates)).toEqual(['single', 'standard', 'enterprise', 'k8s_small']);
    expect(c.graphql).toEqual({ maxDepth: 10, maxAliases: 15, maxComplexity: 5000, maxTokens: 2000, compileAfter: 2 });
  });

  it('RUNNER=ansible refuses to start without ansible-playbook, either playbook or a readable key file, naming each in one message', () => {
    const empty = mkdtempSync(join(tmpdir(), 'hcmp-playbooks-'));
    const problems = problemsOf({ RUNNER: 'ansible', PATH: empty, ANSIBLE_PLAYBOOK_DIR: empty, SSH_PRIVATE_KEY_FILE: join(empty, 'no-such-key'), SSH_USER: 'bad user' });
    expect(problems.join('\n')).toContain('needs ansible-playbook, which is not installed or not in PATH');
    expect(problems.join('\n')).toContain(`needs provision.yml and teardown.yml in ANSIBLE_PLAYBOOK_DIR (${empty})`);
    expect(problems.join('\n')).toContain('SSH_PRIVATE_KEY_FILE cannot be read');
    expect(problems.join('\n')).toContain('SSH_USER must be an account name');

    const bin = mkdtempSync(join(tmpdir(), 'hcmp-bin-'));
    writeFileSync(join(bin, 'ansible-playbook'), '#!/bin/sh\n', { mode: 0o755 });
    for (const f of ['provision.yml', 'teardown.yml']) writeFileSync(join(empty, f), '---\n');
    const config = loadConfig({ RUNNER: 'ansible', PATH: bin, ANSIBLE_PLAYBOOK_DIR: empty, ANSIBLE_MAX_PARALLEL: '2', ANSIBLE_RUN_TIMEOUT_MINUTES: '5' });
    expect(config.runner).toBe('ansible');
    expect(config.ansible).toMatchObject({ playbookDir: empty, maxParallel: 2, runTimeoutMs: 300_000, searchPath: bin });
    // The mock runner needs none of it.
    expect(problemsOf({ RUNNER: 'mock', PATH: empty, ANSIBLE_PLAYBOOK_DIR: empty })).toEqual([]);
  });

  it('reads GRAPHQL_COMPILE_AFTER: 0 turns compiling off; negative or fractional counts are refused', () => {
    expect(loadConfig({ GRAPHQL_COMPILE_AFTER: '0' }).graphql.compileAfter).toBe(0);
    expect(loadConfig({ GRAPHQL_COMPILE_AFTER: '1' }).graphql.compileAfter).toBe(1);
    for (const bad of ['-1', '1.5', 'often']) expect(problemsOf({ GRAPHQL_COMPILE_AFTER: bad }).join('\n')).toContain('GRAPHQL_COMPILE_AFTER');
  });

  it('reads DB_PREPARED_STATEMENTS: on unless switched off; anything but a boolean is refused', () => {
    expect(loadConfig({}).dbPreparedStatements).toBe(true);
    expect(loadConfig({ DB_PREPARED_STATEMENTS: 'false' }).dbPreparedStatements).toBe(false);
    expect(loadConfig({ DB_PREPARED_STATEMENTS: 'true' }).dbPreparedStatements).toBe(true);
    expect(problemsOf({ DB_PREPARED_STATEMENTS: 'sometimes' }).join('\n')).toContain('DB_PREPARED_STATEMENTS');
  });

  it('reads the terminal limits: minutes with decimals, sessions as a whole number', () => {
    expect(loadConfig({}).terminal).toEqual({ idleMs: 15 * 60_000, maxSessionMs: 480 * 60_000, maxSessionsPerUser: 5 });
    expect(loadConfig({ TERMINAL_IDLE_MINUTES: '0.05', TERMINAL_MAX_SESSION_MINUTES: '1.5', TERMINAL_MAX_SESSIONS: '2' }).terminal).toEqual({ idleMs: 3000, maxSessionMs: 90_000, maxSessionsPerUser: 2 });
    const text = problemsOf({ TERMINAL_IDLE_MINUTES: '0', TERMINAL_MAX_SESSION_MINUTES: 'forever', TERMINAL_MAX_SESSIONS: '1.5' }).join('\n');
    for (const name of ['TERMINAL_IDLE_MINUTES', 'TERMINAL_MAX_SESSION_MINUTES', 'TERMINAL_MAX_SESSIONS']) expect(text).toContain(name);
  });

  it('names every bad variable in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DB_FALLBACK: 'maybe',
      DATABASE_URL: 'mysql://x',
      MOCK_STEP_DELAY_MS: '-5',
      IP_POOL_AWS: '10.0.0.0/33',
      RUNNER: 'terraform',
      SESSION_TTL_MINUTES: '0',
    });
    const text = problems.join('\n');
    for (const name of ['PORT', 'DB_FALLBACK', 'DATABASE_URL', 'MOCK_STEP_DELAY_MS', 'IP_POOL_AWS', 'RUNNER', 'SESSION_TTL_MINUTES']) {
      expect(text).toContain(name);
    }
    expect(problems).toHaveLength(7);
  });

  it('refuses to start in production without real secrets', () => {
    const text = problemsOf({ NODE_ENV: 'production' }).join('\n');
    expect(text).toContain('TOKEN_SECRET');
    expect(text).toContain('ENCRYPT_KEY');
    const withDevKey = problemsOf({ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(40), ENCRYPT_KEY: DEV_ENCRYPT_KEY });
    expect(withDevKey.join('\n')).toContain('ENCRYPT_KEY');
    expect(problemsOf({ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(40), ENCRYPT_KEY: 'k'.repeat(40) })).toEqual([]);
  });

  it('reads an explicit workload pool file and rejects a broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcmp-pool-'));
    const good = join(dir, 'pool.json');
    writeFileSync(good, JSON.stringify([{ vm_name: 'WKLD-20', ip_address: '192.168.40.20', infra: 'vsphere' }]));
    expect(loadConfig({ WORKLOAD_POOL_FILE: good }).workloadPool).toEqual([{ vmName: 'WKLD-20', ipAddress: '192.168.40.20', infra: 'vsphere' }]);
    const dup = join(dir, 'dup.json');
    writeFileSync(dup, JSON.stringify([{ vm_name: 'a', ip_address: '1.1.1.1' }, { vm_name: 'b', ip_address: '1.1.1.1' }]));
    expect(problemsOf({ WORKLOAD_POOL_FILE: dup }).join()).toContain('twice');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{not json');
    expect(problemsOf({ WORKLOAD_POOL_FILE: broken }).join()).toContain('WORKLOAD_POOL_FILE');
  });

  it('takes a catalog file and validates it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcmp-cat-'));
    const file = join(dir, 'catalog.json');
    writeFileSync(file, JSON.stringify({ templates: {} }));
    expect(problemsOf({ CATALOG_FILE: file }).join()).toContain('catalog.templates');
  });
});

describe('documentation of the configuration', () => {
  it('lists every variable the config module reads in .env.example and the README', async () => {
    const { readFileSync } = await import('node:fs');
    const source = readFileSync(new URL('../../server/config/index.ts', import.meta.url), 'utf8');
    const names = [...source.matchAll(/r\.(?:str|int|num|bool|oneOf)(?:<[^>]+>)?\('([A-Z_]+)'/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(15);
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of new Set(names)) {
      expect(example, `.env.example lacks ${name}`).toMatch(new RegExp(`^${name}=`, 'm'));
      expect(readme, `README lacks ${name}`).toContain(`\`${name}\``);
    }
  });
});
