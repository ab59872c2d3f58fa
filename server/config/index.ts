/**
 * The only reader of `process.env`. `loadConfig` validates every variable once and throws a
 * single {@link ConfigError} that names each bad one, so an operator fixes them all in one go.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadCatalog, type Catalog } from './catalog.js';

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  nodeEnv: NodeEnv;
  isProduction: boolean;
  host: string;
  port: number;
  logLevel: string;
  databaseUrl: string | undefined;
  sqlitePath: string;
  dataDir: string;
  dbFallback: boolean;
  dbConnectTimeoutMs: number;
  dbPool: { max: number; acquireTimeoutMs: number };
  /** PostgreSQL: prepared and named statements on the pool's connections (server/db/sql.ts). */
  dbPreparedStatements: boolean;
  adminUsername: string;
  adminPassword: string | undefined;
  tokenSecret: string | undefined;
  encryptKey: string;
  /** Earlier ENCRYPT_KEY values, still accepted for decryption during a key rotation. */
  previousEncryptKeys: string[];
  sessionTtlMinutes: number;
  runner: 'mock' | 'ansible';
  runnerConcurrency: number;
  /** RUNNER=ansible: where the playbooks are, how runs are made and limited, how hosts are reached. */
  ansible: AnsibleConfig;
  /** Worker instances: heartbeat, takeover and shutdown timing (see runners/dispatcher.ts). */
  runnerTiming: { heartbeatMs: number; deadAfterMs: number; pollMs: number; shutdownGraceMs: number; outageGraceMs: number };
  /** How long an Idempotency-Key is remembered (at least 24 hours). */
  idempotencyTtlHours: number;
  mockStepDelayMs: number;
  ipPools: { aws: string; vsphere: string };
  workloadPoolFile: string | undefined;
  workloadPool: WorkloadHostSeed[] | undefined;
  prometheusUrl: string | undefined;
  /** Where to keep Prometheus' file_sd list of the hosts to scrape (unset: none is kept). */
  prometheusSdFile: string | undefined;
  /** The node exporter's port on every pool host. */
  nodeExporterPort: number;
  bodyLimitBytes: number;
  historyMaxPageSize: number;
  /** Quota an account gets at approval (the original: 5 VMs, 10 vCPU, 20 GB RAM, 100 GB disk). */
  defaultQuota: { hosts: number; vcpu: number; memoryGb: number; diskGb: number };
  /** Initial portal-wide limits written to the settings row on first start. */
  initialPortalLimits: { vcpu: number; memoryGb: number };
  login: { maxFailuresPerAccount: number; maxFailuresPerAddress: number; windowMinutes: number };
  graphql: { maxDepth: number; maxAliases: number; maxComplexity: number; maxTokens: number; compileAfter: number };
  /** Origins allowed by CORS besides the server's own; empty = same-origin only. */
  corsOrigins: string[];
  /**
   * The platform's own `GET /metrics`: open without a token in development and test, off in
   * production unless METRICS_TOKEN is set; with a token, only `Authorization: Bearer <token>`.
   */
  metrics: { enabled: boolean; token: string | undefined };
  /** The console's SSH terminal to project hosts (`/ws/terminal`): its limits. */
  terminal: TerminalConfig;
  clientDist: string;
  catalog: Catalog;
}

export interface AnsibleConfig {
  /** The ansible-playbook program (a path, or a name looked up in PATH). */
  playbookCommand: string;
  /** PATH as runs see it (the server's own; nothing else of its environment reaches a run). */
  searchPath: string;
  /** Holds provision.yml and teardown.yml (ANSIBLE_PLAYBOOK_DIR). */
  playbookDir: string;
  /** Where each run gets its private directory (ANSIBLE_RUN_DIR). */
  runDir: string;
  runTimeoutMs: number;
  /** Playbooks run at once by this instance; further jobs wait (ANSIBLE_MAX_PARALLEL). */
  maxParallel: number;
  /** Between SIGINT, SIGTERM and SIGKILL when a run is stopped (ANSIBLE_STOP_GRACE_SECONDS). */
  stopGraceMs: number;
  /** Used when the admin settings hold no SSH user / key (SSH_USER, SSH_PRIVATE_KEY_FILE). */
  sshUser: string | undefined;
  sshPrivateKeyFile: string | undefined;
}

export interface TerminalConfig {
  /** A session with no input from its user for this long is closed (TERMINAL_IDLE_MINUTES). */
  idleMs: number;
  /** No session lasts longer (TERMINAL_MAX_SESSION_MINUTES). */
  maxSessionMs: number;
  /** Open sessions per account on one instance (TERMINAL_MAX_SESSIONS). */
  maxSessionsPerUser: number;
}

export interface WorkloadHostSeed {
  vmName: string;
  ipAddress: string;
  infra: 'aws' | 'vsphere';
}

export const DEV_ENCRYPT_KEY = 'h-cmp-development-key-do-not-use-in-production';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback: string): string;
  str(name: string): string | undefined;
  str(name: string, fallback?: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? fallback : value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  /** A number that may have decimals (minutes, say). */
  num(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
    return fallback;
  }
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function isValidCidr(value: string): boolean {
  const m = CIDR.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  return octets.every((o) => o <= 255) && bits >= 16 && bits <= 30;
}

function readPoolFile(path: string, problems: string[]): WorkloadHostSeed[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    problems.push(`WORKLOAD_POOL_FILE cannot be read as JSON (${(err as Error).message})`);
    return undefined;
  }
  if (!Array.isArray(parsed)) {
    problems.push('WORKLOAD_POOL_FILE must hold a JSON list of {"vm_name", "ip_address", "infra"}');
    return undefined;
  }
  const hosts: WorkloadHostSeed[] = [];
  parsed.forEach((entry: Record<string, unknown>, index) => {
    const vmName = entry?.vm_name ?? entry?.vmName;
    const ipAddress = entry?.ip_address ?? entry?.ipAddress;
    const infra = entry?.infra ?? 'vsphere';
    if (typeof vmName !== 'string' || typeof ipAddress !== 'string' || (infra !== 'aws' && infra !== 'vsphere')) {
      problems.push(`WORKLOAD_POOL_FILE entry ${index} needs vm_name, ip_address and infra "aws" or "vsphere"`);
      return;
    }
    hosts.push({ vmName, ipAddress, infra });
  });
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host.ipAddress)) problems.push(`WORKLOAD_POOL_FILE lists ${host.ipAddress} twice`);
    seen.add(host.ipAddress);
  }
  return hosts;
}

function readAnsibleConfig(r: Reader, dataDir: string, path: string | undefined): AnsibleConfig {
  const keyFile = r.str('SSH_PRIVATE_KEY_FILE');
  return {
    playbookCommand: r.str('ANSIBLE_PLAYBOOK', 'ansible-playbook')!,
    // The system's PATH (not an H-CMP setting): where ansible-playbook and ssh are found.
    searchPath: path ?? '/usr/local/bin:/usr/bin:/bin',
    playbookDir: resolve(r.str('ANSIBLE_PLAYBOOK_DIR', './playbooks')!),
    runDir: resolve(r.str('ANSIBLE_RUN_DIR') ?? join(dataDir, 'runs')),
    runTimeoutMs: Math.round(r.num('ANSIBLE_RUN_TIMEOUT_MINUTES', 60, 0.05, 24 * 60) * 60_000),
    maxParallel: r.int('ANSIBLE_MAX_PARALLEL', 4, 1, 1000),
    stopGraceMs: r.int('ANSIBLE_STOP_GRACE_SECONDS', 4, 1, 600) * 1000,
    sshUser: r.str('SSH_USER'),
    sshPrivateKeyFile: keyFile === undefined ? undefined : resolve(keyFile),
  };
}

/** The program found in PATH (or at its path), or null. */
function findProgram(command: string, path: string | undefined): string | null {
  const candidates = command.includes('/') ? [resolve(command)] : (path ?? '').split(':').filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** RUNNER=ansible: the program, both playbooks and a readable key file (when one is named) must be there. */
function checkAnsible(ansible: AnsibleConfig, problems: string[], path: string | undefined): void {
  if (!findProgram(ansible.playbookCommand, path)) {
    problems.push(`RUNNER=ansible needs ${ansible.playbookCommand}, which is not installed or not in PATH (Debian: apt-get install ansible)`);
  }
  const missing = ['provision.yml', 'teardown.yml'].filter((f) => !existsSync(join(ansible.playbookDir, f)));
  if (missing.length) problems.push(`RUNNER=ansible needs ${missing.join(' and ')} in ANSIBLE_PLAYBOOK_DIR (${ansible.playbookDir})`);
  if (ansible.sshPrivateKeyFile !== undefined) {
    try {
      accessSync(ansible.sshPrivateKeyFile, constants.R_OK);
    } catch {
      problems.push(`SSH_PRIVATE_KEY_FILE cannot be read: ${ansible.sshPrivateKeyFile}`);
    }
  }
  if (ansible.sshUser !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(ansible.sshUser)) problems.push('SSH_USER must be an account name (letters, digits, _ . -; at most 32)');
}

/** Reads and validates the environment. Pure apart from reading the files it names. */
export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const nodeEnv = r.oneOf<NodeEnv>('NODE_ENV', ['development', 'production', 'test'], 'development');
  const isProduction = nodeEnv === 'production';

  const databaseUrl = r.str('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    r.problems.push('DATABASE_URL must start with postgres:// or postgresql:// (unset it for embedded SQLite)');
  }
  const sqlitePath = resolve(r.str('SQLITE_PATH', './data/hcmp.db'));

  const tokenSecret = r.str('TOKEN_SECRET');
  const encryptKey = r.str('ENCRYPT_KEY');
  if (isProduction) {
    if (!tokenSecret || tokenSecret.length < 32) {
      r.problems.push('TOKEN_SECRET is required in production and must be at least 32 characters');
    }
    if (!encryptKey || encryptKey.length < 32 || encryptKey === DEV_ENCRYPT_KEY) {
      r.problems.push('ENCRYPT_KEY is required in production, at least 32 characters, and not the development key');
    }
  } else if (tokenSecret !== undefined && tokenSecret.length < 16) {
    r.problems.push('TOKEN_SECRET must be at least 16 characters');
  }

  const ipPools = {
    aws: r.str('IP_POOL_AWS', '10.99.0.0/24'),
    vsphere: r.str('IP_POOL_VSPHERE', '192.168.40.0/24'),
  };
  for (const [name, value] of [['IP_POOL_AWS', ipPools.aws], ['IP_POOL_VSPHERE', ipPools.vsphere]] as const) {
    if (!isValidCidr(value)) r.problems.push(`${name} must be an IPv4 CIDR from /16 to /30 (got "${value}")`);
  }
  const workloadPoolFile = r.str('WORKLOAD_POOL_FILE');
  const workloadPool = workloadPoolFile ? readPoolFile(resolve(workloadPoolFile), r.problems) : undefined;

  const prometheusUrl = r.str('PROMETHEUS_URL');
  if (prometheusUrl !== undefined && !/^https?:\/\//.test(prometheusUrl)) {
    r.problems.push('PROMETHEUS_URL must be an http(s) URL');
  }

  let catalog: Catalog | undefined;
  try {
    catalog = loadCatalog(r.str('CATALOG_FILE'));
  } catch (err) {
    r.problems.push(`CATALOG_FILE: ${(err as Error).message}`);
  }

  const config: Config = {
    nodeEnv,
    isProduction,
    host: r.str('HOST', '0.0.0.0'),
    port: r.int('PORT', 8000, 0, 65535),
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], nodeEnv === 'test' ? 'warn' : 'info'),
    databaseUrl,
    sqlitePath,
    dataDir: dirname(sqlitePath),
    dbFallback: r.bool('DB_FALLBACK', true),
    dbConnectTimeoutMs: r.int('DB_CONNECT_TIMEOUT_MS', 3000, 100, 60000),
    dbPool: {
      max: r.int('DB_POOL_MAX', 20, 2, 1000),
      acquireTimeoutMs: r.int('DB_POOL_ACQUIRE_TIMEOUT_MS', 30000, 100, 600000),
    },
    dbPreparedStatements: r.bool('DB_PREPARED_STATEMENTS', true),
    adminUsername: r.str('ADMIN_USERNAME', 'admin'),
    adminPassword: r.str('ADMIN_PASSWORD'),
    tokenSecret,
    encryptKey: encryptKey ?? DEV_ENCRYPT_KEY,
    previousEncryptKeys: (r.str('ENCRYPT_KEYS_PREVIOUS') ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    sessionTtlMinutes: r.int('SESSION_TTL_MINUTES', 30, 1, 7 * 24 * 60),
    runner: r.oneOf('RUNNER', ['mock', 'ansible'] as const, 'mock'),
    runnerConcurrency: r.int('RUNNER_CONCURRENCY', 64, 1, 10000),
    runnerTiming: {
      heartbeatMs: r.int('RUNNER_HEARTBEAT_MS', 2000, 50, 600000),
      deadAfterMs: r.int('RUNNER_DEAD_AFTER_MS', 10000, 200, 3600000),
      pollMs: r.int('RUNNER_POLL_MS', 2000, 50, 600000),
      shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 10000, 0, 600000),
      outageGraceMs: r.int('DB_OUTAGE_GRACE_SECONDS', 300, 0, 86400) * 1000,
    },
    ansible: readAnsibleConfig(r, dirname(sqlitePath), env.PATH),
    idempotencyTtlHours: r.int('IDEMPOTENCY_TTL_HOURS', 24, 24, 24 * 365),
    mockStepDelayMs: r.int('MOCK_STEP_DELAY_MS', 800, 0, 600000),
    ipPools,
    workloadPoolFile,
    workloadPool,
    prometheusUrl,
    prometheusSdFile: r.str('PROMETHEUS_SD_FILE') === undefined ? undefined : resolve(r.str('PROMETHEUS_SD_FILE')!),
    nodeExporterPort: r.int('NODE_EXPORTER_PORT', 9100, 1, 65535),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 256 * 1024, 1024, 50 * 1024 * 1024),
    historyMaxPageSize: r.int('HISTORY_MAX_PAGE_SIZE', 500, 1, 10000),
    defaultQuota: {
      hosts: r.int('DEFAULT_QUOTA_HOSTS', 5, 0, 1_000_000),
      vcpu: r.int('DEFAULT_QUOTA_VCPU', 10, 0, 1_000_000),
      memoryGb: r.int('DEFAULT_QUOTA_MEMORY_GB', 20, 0, 1_000_000),
      diskGb: r.int('DEFAULT_QUOTA_DISK_GB', 100, 0, 100_000_000),
    },
    initialPortalLimits: {
      vcpu: r.int('PORTAL_MAX_VCPU', 100, 0, 10_000_000),
      memoryGb: r.int('PORTAL_MAX_MEMORY_GB', 256, 0, 100_000_000),
    },
    login: {
      maxFailuresPerAccount: r.int('LOGIN_MAX_FAILURES', 10, 1, 1000),
      maxFailuresPerAddress: r.int('LOGIN_MAX_FAILURES_PER_ADDRESS', 50, 1, 100000),
      windowMinutes: r.int('LOGIN_WINDOW_MINUTES', 15, 1, 1440),
    },
    graphql: {
      maxDepth: r.int('GRAPHQL_MAX_DEPTH', 10, 2, 100),
      maxAliases: r.int('GRAPHQL_MAX_ALIASES', 15, 1, 1000),
      maxComplexity: r.int('GRAPHQL_MAX_COMPLEXITY', 5000, 10, 10_000_000),
      maxTokens: r.int('GRAPHQL_MAX_TOKENS', 2000, 50, 100000),
      compileAfter: r.int('GRAPHQL_COMPILE_AFTER', 2, 0, 1_000_000),
    },
    corsOrigins: (r.str('CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    metrics: { enabled: r.str('METRICS_TOKEN') !== undefined || !isProduction, token: r.str('METRICS_TOKEN') },
    terminal: {
      // Decimals allowed (a test closes an idle session after 3 s with 0.05).
      idleMs: Math.round(r.num('TERMINAL_IDLE_MINUTES', 15, 0.01, 24 * 60) * 60_000),
      maxSessionMs: Math.round(r.num('TERMINAL_MAX_SESSION_MINUTES', 480, 0.01, 7 * 24 * 60) * 60_000),
      maxSessionsPerUser: r.int('TERMINAL_MAX_SESSIONS', 5, 1, 10_000),
    },
    clientDist: resolve(r.str('CLIENT_DIST', './dist/client')),
    catalog: catalog as Catalog,
  };
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(config.adminUsername)) {
    r.problems.push('ADMIN_USERNAME must be 1-64 letters, digits, dots, hyphens or underscores');
  }
  for (const origin of config.corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) r.problems.push(`CORS_ORIGINS entries must be origins like https://console.example.com (got "${origin}")`);
  }
  if (config.metrics.token !== undefined && !/^[A-Za-z0-9._~+/-]{16,512}=*$/.test(config.metrics.token)) {
    r.problems.push('METRICS_TOKEN must be 16-512 characters of letters, digits and - . _ ~ + / (a bearer token)');
  }
  if (isProduction && config.previousEncryptKeys.includes(DEV_ENCRYPT_KEY)) {
    r.problems.push('ENCRYPT_KEYS_PREVIOUS may not hold the development key in production');
  }
  if (config.adminPassword !== undefined && config.adminPassword.length < 8) {
    r.problems.push('ADMIN_PASSWORD must be at least 8 characters');
  }
  if (config.runner === 'ansible') checkAnsible(config.ansible, r.problems, env.PATH);
  if (config.runnerTiming.deadAfterMs < 3 * config.runnerTiming.heartbeatMs) {
    r.problems.push('RUNNER_DEAD_AFTER_MS must be at least 3 × RUNNER_HEARTBEAT_MS, or live instances would be taken for dead');
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
