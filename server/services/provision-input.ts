/**
 * Validates a provision request exactly as the original console sends it and turns it into
 * a plain, normalised spec. Both `config` shapes of SPEC §4 are understood; unknown keys are kept.
 */
import type { Catalog } from '../config/catalog.js';
import type { InfraType } from '../entities/index.js';
import { invalidInput, type ValidationIssue } from './errors.js';

export const SERVICE_NAME_RULE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const AWS_DESIGN_TEMPLATE_TYPE = 'aws-design';

export type OrderKind = 'template' | 'aws-design';

/** What a runner gets: plain data, no entities. */
export interface ProvisionSpec {
  serviceName: string;
  userName: string;
  kind: OrderKind;
  templateType: string;
  hostCount: number;
  /** Normalised config, unknown keys kept. */
  config: Record<string, unknown>;
  infra: Record<string, unknown> & { type: InfraType };
  /** The request as received (the original's `details.input`). */
  input: { serviceName: string; userName: string; config: Record<string, unknown>; targetInfra: Record<string, unknown> };
  /** Mock runner failure injection: the id of the step that should fail. */
  mockFailAt?: string;
}

const AWS_DESIGN_KEYS = ['instanceType', 'nodeCount', 'dbEngine', 'dbMultiAZ', 'dbSize', 'redis', 'waf', 'cdn'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Issues {
  readonly list: ValidationIssue[] = [];
  add(loc: (string | number)[], msg: string, type: string): void {
    this.list.push({ loc: ['body', ...loc], msg, type });
  }
  missing(loc: (string | number)[]): void {
    this.add(loc, 'Field required', 'missing');
  }
  oneOf(loc: (string | number)[], value: unknown, allowed: string[]): value is string {
    if (typeof value === 'string' && allowed.includes(value)) return true;
    this.add(loc, `Input should be ${allowed.map((a) => `'${a}'`).join(', ')}`, 'enum');
    return false;
  }
  integer(loc: (string | number)[], value: unknown, [min, max]: [number, number]): value is number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return true;
    this.add(loc, `Input should be a whole number from ${min} to ${max}`, 'int_range');
    return false;
  }
  boolean(loc: (string | number)[], value: unknown): void {
    if (value !== undefined && typeof value !== 'boolean') this.add(loc, 'Input should be a valid boolean', 'bool_type');
  }
}

function validateServiceName(value: unknown, issues: Issues): value is string {
  if (value === undefined || value === null) {
    issues.missing(['serviceName']);
    return false;
  }
  if (typeof value !== 'string') {
    issues.add(['serviceName'], 'Input should be a valid string', 'string_type');
    return false;
  }
  if (value.length < 1 || value.length > 63) {
    issues.add(['serviceName'], 'Service name must be 1-63 characters', 'string_length');
    return false;
  }
  if (!SERVICE_NAME_RULE.test(value)) {
    issues.add(
      ['serviceName'],
      'Service name may only contain lowercase letters, digits and hyphens, and may not start or end with a hyphen',
      'string_pattern_mismatch',
    );
    return false;
  }
  return true;
}

function normaliseInfra(value: unknown, issues: Issues): (Record<string, unknown> & { type: InfraType }) | undefined {
  if (value === undefined || value === null) return { type: 'aws' };
  if (typeof value === 'string') value = { type: value };
  if (!isObject(value)) {
    issues.add(['targetInfra'], 'targetInfra must be an object such as {"type": "aws"} or the string "aws"', 'dict_type');
    return undefined;
  }
  const type = value.type ?? 'aws';
  if (!issues.oneOf(['targetInfra', 'type'], type, ['aws', 'vsphere'])) return undefined;
  return { ...value, type: type as InfraType };
}

function validateTemplateOrder(config: Record<string, unknown>, catalog: Catalog, issues: Issues): Record<string, unknown> {
  const template = config.template ?? catalog.defaultTemplate;
  issues.oneOf(['config', 'template'], template, Object.keys(catalog.templates));
  if (config.packages !== undefined) {
    if (!Array.isArray(config.packages)) {
      issues.add(['config', 'packages'], 'Input should be a valid list', 'list_type');
    } else {
      const seen = new Set<unknown>();
      config.packages.forEach((pkg, i) => {
        if (issues.oneOf(['config', 'packages', i], pkg, catalog.packages) && seen.has(pkg)) {
          issues.add(['config', 'packages', i], `Package '${pkg}' is listed twice`, 'value_error');
        }
        seen.add(pkg);
      });
    }
  }
  if (config.environment !== undefined) issues.oneOf(['config', 'environment'], config.environment, Object.keys(catalog.environments));
  if (config.traffic !== undefined) issues.oneOf(['config', 'traffic'], config.traffic, Object.keys(catalog.traffic));
  return { ...config, template };
}

/** The design environment may be a catalog key (`dev`) or its label (`Development`). */
function normaliseEnvironment(value: unknown, catalog: Catalog): unknown {
  if (typeof value !== 'string') return value;
  const byLabel = Object.entries(catalog.environments).find(([, label]) => label.toLowerCase() === value.toLowerCase());
  return byLabel ? byLabel[0] : value;
}

function validateAwsDesign(config: Record<string, unknown>, catalog: Catalog, issues: Issues): Record<string, unknown> {
  const limits = catalog.awsDesignLimits;
  const design: Record<string, unknown> = { ...config };
  if (config.instanceType === undefined) issues.missing(['config', 'instanceType']);
  else issues.oneOf(['config', 'instanceType'], config.instanceType, Object.keys(catalog.instanceTiers));
  design.nodeCount = config.nodeCount ?? 1;
  issues.integer(['config', 'nodeCount'], design.nodeCount, limits.nodeCount);
  if (config.dbEngine !== undefined) issues.oneOf(['config', 'dbEngine'], config.dbEngine, Object.keys(catalog.dbEngines));
  if (config.dbSize !== undefined) issues.integer(['config', 'dbSize'], config.dbSize, limits.dbSize);
  for (const flag of ['dbMultiAZ', 'redis', 'waf', 'cdn']) issues.boolean(['config', flag], config[flag]);
  if (config.region !== undefined) issues.oneOf(['config', 'region'], config.region, Object.keys(catalog.regions));
  if (config.environment !== undefined) {
    design.environment = normaliseEnvironment(config.environment, catalog);
    issues.oneOf(['config', 'environment'], design.environment, Object.keys(catalog.environments));
  }
  return design;
}

export function orderKind(config: Record<string, unknown>): OrderKind {
  if (config.template === undefined && AWS_DESIGN_KEYS.some((k) => config[k] !== undefined)) return 'aws-design';
  return 'template';
}

/** Host count of a normalised config: the template's hosts, or the design's nodes. */
export function hostCountOf(config: Record<string, unknown>, catalog: Catalog): number {
  if (orderKind(config) === 'aws-design') return Number(config.nodeCount ?? 1);
  return catalog.templates[String(config.template ?? catalog.defaultTemplate)]?.roles.length ?? 1;
}

/**
 * Validates a raw provision body. `owner` is the account the project will belong to
 * (the caller, or for an admin the named user); the caller's rule is checked by the service.
 */
export function parseProvisionInput(raw: unknown, catalog: Catalog, owner: string): ProvisionSpec {
  const issues = new Issues();
  if (!isObject(raw)) {
    issues.add([], 'Input should be a valid JSON object', 'model_type');
    throw invalidInput(issues.list);
  }
  const nameOk = validateServiceName(raw.serviceName, issues);
  if (raw.userName !== undefined && raw.userName !== null && typeof raw.userName !== 'string') {
    issues.add(['userName'], 'Input should be a valid string', 'string_type');
  }
  const rawConfig = raw.config ?? {};
  let config: Record<string, unknown> = {};
  let kind: OrderKind = 'template';
  if (!isObject(rawConfig)) {
    issues.add(['config'], 'Input should be a valid dictionary', 'dict_type');
  } else {
    kind = orderKind(rawConfig);
    config = kind === 'aws-design' ? validateAwsDesign(rawConfig, catalog, issues) : validateTemplateOrder(rawConfig, catalog, issues);
    if (rawConfig.mockFailAt !== undefined) {
      issues.oneOf(['config', 'mockFailAt'], rawConfig.mockFailAt, catalog.mockSteps.map((s) => s.id));
    }
  }
  const infra = normaliseInfra(raw.targetInfra, issues);
  if (issues.list.length || !nameOk || !infra) throw invalidInput(issues.list);

  const serviceName = raw.serviceName as string;
  return {
    serviceName,
    userName: owner,
    kind,
    templateType: kind === 'aws-design' ? AWS_DESIGN_TEMPLATE_TYPE : String(config.template),
    hostCount: hostCountOf(config, catalog),
    config,
    infra,
    input: {
      serviceName,
      userName: owner,
      config: rawConfig as Record<string, unknown>,
      targetInfra: isObject(raw.targetInfra) ? raw.targetInfra : typeof raw.targetInfra === 'string' ? { type: raw.targetInfra } : {},
    },
    mockFailAt: typeof config.mockFailAt === 'string' ? config.mockFailAt : undefined,
  };
}

/** Rebuilds the runner's spec from a stored project (after a restart, or when a job is picked up). */
export function specFromDetails(
  details: { input: ProvisionSpec['input']; config: Record<string, unknown>; infra: Record<string, unknown> },
  owner: string,
  catalog: Catalog,
): ProvisionSpec {
  const kind = orderKind(details.config);
  return {
    serviceName: details.input.serviceName,
    userName: owner,
    kind,
    templateType: kind === 'aws-design' ? AWS_DESIGN_TEMPLATE_TYPE : String(details.config.template),
    hostCount: hostCountOf(details.config, catalog),
    config: details.config,
    infra: details.infra as ProvisionSpec['infra'],
    input: details.input,
    mockFailAt: typeof details.config.mockFailAt === 'string' ? details.config.mockFailAt : undefined,
  };
}
