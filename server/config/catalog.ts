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
  return c;
}

export function loadCatalog(path?: string): Catalog {
  if (!path) return validateCatalog(structuredClone(defaultCatalog));
  return validateCatalog(JSON.parse(readFileSync(path, 'utf8')));
}

export function templateHostCount(catalog: Catalog, template: string): number {
  return catalog.templates[template]?.roles.length ?? 0;
}
