/**
 * The product catalogs (templates, packages, tiers, engines, regions, mock steps) are data:
 * `catalog.json` beside this file, or a file named by `CATALOG_FILE` with the same shape.
 */
import { readFileSync } from 'node:fs';
import defaultCatalog from './catalog.json' with { type: 'json' };

export interface TemplateSpec {
  label: string;
  roles: string[];
}

export interface InstanceTier {
  label: string;
  monthlyUsd: number;
  vcpu: number;
  memoryGb: number;
}

export interface MockStep {
  id: string;
  log: string;
  /** What the teardown of this step logs (default: "Undoing: <log>"). */
  teardownLog?: string;
}

/**
 * Prices the design preview charges (server/services/design/). Estimates in USD per month,
 * not AWS quotes: see `note` in catalog.json.
 */
export interface DesignPricing {
  note: string;
  currency: string;
  /** Availability Zones a design spreads over (app nodes round-robin, one NAT gateway each); at least 2 (an ALB needs two). */
  availabilityZones: number;
  loadBalancerMonthlyUsd: number;
  /** Per NAT gateway, one per Availability Zone. */
  natGatewayMonthlyUsd: number;
  /** Per engine: the database instance and each GB of storage. */
  dbEngines: Record<string, { monthlyUsd: number; storageGbMonthlyUsd: number }>;
  /** Applied to the database instance and storage when the design asks for Multi-AZ. */
  multiAzMultiplier: number;
  redisNodeMonthlyUsd: number;
  wafMonthlyUsd: number;
  cloudFrontMonthlyUsd: number;
}

/** What the generated Terraform / CloudFormation uses besides the design itself. */
export interface DesignIac {
  /** Used in the preview before a service name is typed. */
  placeholderServiceName: string;
  /** Availability Zone letters per region (`default` for the rest), in the order they are used. */
  zoneSuffixes: Record<string, string[]>;
  /** A /16 IPv4 block; subnets are /24s inside it. */
  vpcCidr: string;
  /** SSM parameter naming the app nodes' AMI. */
  amiParameter: string;
  dbEngines: Record<string, { engine: string; version: string; instanceClass: string; minCapacity?: number; maxCapacity?: number }>;
  redisNodeType: string;
}

export interface Catalog {
  templates: Record<string, TemplateSpec>;
  defaultTemplate: string;
  packages: string[];
  environments: Record<string, string>;
  traffic: Record<string, { vcpu: number; memoryGb: number }>;
  instanceTiers: Record<string, InstanceTier>;
  dbEngines: Record<string, { label: string }>;
  regions: Record<string, string>;
  defaultRegion: string;
  awsDesignLimits: { nodeCount: [number, number]; dbSize: [number, number] };
  provisioning: {
    allocationLog: string;
    completedLog: string;
    sshUser: string;
    sshPort: number;
    webUrlPattern: string;
    dbVipPattern: string;
  };
  /** Disk per host, for quotas and usage (GB). */
  sizing: { hostDiskGb: number };
  mockSteps: MockStep[];
  pricing: DesignPricing;
  design: DesignIac;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Checks the parts the server relies on, so a bad catalog fails at start, not mid-run. */
export function validateCatalog(value: unknown): Catalog {
  const c = value as Catalog;
  check(c && typeof c === 'object', 'catalog must be a JSON object');
  check(c.templates && Object.keys(c.templates).length > 0, 'catalog.templates must name at least one template');
  for (const [name, spec] of Object.entries(c.templates)) {
    check(Array.isArray(spec.roles) && spec.roles.length > 0, `catalog.templates.${name}.roles must list at least one host role`);
  }
  check(c.templates[c.defaultTemplate], 'catalog.defaultTemplate must name one of catalog.templates');
  check(Array.isArray(c.packages), 'catalog.packages must be a list');
  for (const key of ['environments', 'traffic', 'instanceTiers', 'dbEngines', 'regions'] as const) {
    check(c[key] && typeof c[key] === 'object', `catalog.${key} must be an object`);
  }
  check(c.regions[c.defaultRegion], 'catalog.defaultRegion must name one of catalog.regions');
  check(Array.isArray(c.mockSteps) && c.mockSteps.every((s) => s.id && s.log), 'catalog.mockSteps must be a list of {id, log}');
  check(c.provisioning && typeof c.provisioning.allocationLog === 'string', 'catalog.provisioning is incomplete');
  check(c.sizing && Number.isFinite(c.sizing.hostDiskGb), 'catalog.sizing.hostDiskGb must be a number');
  validateDesignSections(c);
  return c;
}

const isPrice = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The design preview's prices and IaC settings: every tier, engine and region must be covered. */
function validateDesignSections(c: Catalog): void {
  for (const [name, tier] of Object.entries(c.instanceTiers)) {
    check(isPrice(tier.monthlyUsd), `catalog.instanceTiers.${name}.monthlyUsd must be a price (a number >= 0)`);
  }
  const p = c.pricing;
  check(p && typeof p === 'object', 'catalog.pricing must be an object');
  check(isText(p.currency), 'catalog.pricing.currency must be a string');
  check(Number.isInteger(p.availabilityZones) && p.availabilityZones >= 2 && p.availabilityZones <= 6, 'catalog.pricing.availabilityZones must be a whole number from 2 to 6');
  for (const key of ['loadBalancerMonthlyUsd', 'natGatewayMonthlyUsd', 'redisNodeMonthlyUsd', 'wafMonthlyUsd', 'cloudFrontMonthlyUsd'] as const) {
    check(isPrice(p[key]), `catalog.pricing.${key} must be a price (a number >= 0)`);
  }
  check(typeof p.multiAzMultiplier === 'number' && Number.isFinite(p.multiAzMultiplier) && p.multiAzMultiplier >= 1, 'catalog.pricing.multiAzMultiplier must be a number >= 1');
  const d = c.design;
  check(d && typeof d === 'object', 'catalog.design must be an object');
  check(isText(d.placeholderServiceName) && /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(d.placeholderServiceName), 'catalog.design.placeholderServiceName must be a service name starting with a letter');
  check(/^10\.\d{1,3}\.0\.0\/16$/.test(d.vpcCidr ?? '') && Number(d.vpcCidr.split('.')[1]) <= 255, 'catalog.design.vpcCidr must be a 10.x.0.0/16 block');
  check(isText(d.amiParameter) && /^[\w./-]+$/.test(d.amiParameter), 'catalog.design.amiParameter must be an SSM parameter path');
  check(/^[a-z0-9.]+$/.test(d.redisNodeType ?? ''), 'catalog.design.redisNodeType must be a node type such as cache.t3.micro');
  check(d.zoneSuffixes && Array.isArray(d.zoneSuffixes.default), 'catalog.design.zoneSuffixes.default must be a list of zone letters');
  for (const region of [...Object.keys(c.regions), 'default']) {
    const letters = d.zoneSuffixes[region] ?? d.zoneSuffixes.default;
    check(
      Array.isArray(letters) && letters.length >= p.availabilityZones && letters.every((l) => /^[a-z]$/.test(l)) && new Set(letters).size === letters.length,
      `catalog.design.zoneSuffixes must give ${region} at least ${p.availabilityZones} distinct zone letters`,
    );
  }
  for (const engine of Object.keys(c.dbEngines)) {
    const price = p.dbEngines?.[engine];
    check(price && isPrice(price.monthlyUsd) && isPrice(price.storageGbMonthlyUsd), `catalog.pricing.dbEngines.${engine} must give monthlyUsd and storageGbMonthlyUsd`);
    const iac = d.dbEngines?.[engine];
    check(iac && [iac.engine, iac.version, iac.instanceClass].every((v) => isText(v) && /^[\w.-]+$/.test(v)), `catalog.design.dbEngines.${engine} must give engine, version and instanceClass`);
  }
}

/**
 * A catalog file written before the design preview has no `pricing` / `design`: it gets the
 * built-in ones (which then must cover its tiers, engines and regions, or the start fails).
 */
export function loadCatalog(path?: string): Catalog {
  if (!path) return validateCatalog(structuredClone(defaultCatalog));
  const value = JSON.parse(readFileSync(path, 'utf8'));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    value.pricing ??= structuredClone(defaultCatalog.pricing);
    value.design ??= structuredClone(defaultCatalog.design);
  }
  return validateCatalog(value);
}

export function templateHostCount(catalog: Catalog, template: string): number {
  return catalog.templates[template]?.roles.length ?? 0;
}
