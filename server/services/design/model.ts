/**
 * The design at the centre: the shapes the preview answers, and the validated design every
 * part (cost, topology, warnings, Terraform, CloudFormation) is computed from.
 */
import type { Catalog } from '../../config/catalog.js';
import { invalidInput } from '../errors.js';
import { parseProvisionInput } from '../provision-input.js';
import { slugify, tagValue } from './names.js';

export interface DesignCostLine {
  /** Stable id of the line: compute, load-balancer, nat-gateway, database, database-storage, redis, waf, cdn. */
  key: string;
  label: string;
  quantity: number;
  unitMonthlyUsd: number;
  /** quantity × unit, rounded to cents. */
  monthlyUsd: number;
}

export interface DesignAppNode {
  name: string;
  instanceType: string;
}

export interface DesignZone {
  /** e.g. ap-northeast-2a */
  name: string;
  publicSubnetCidr: string;
  privateSubnetCidr: string;
  natGateway: boolean;
  appNodes: DesignAppNode[];
}

export interface DesignDatabase {
  engine: string;
  label: string;
  instanceClass: string;
  multiAz: boolean;
  primaryZone: string;
  /** The standby (RDS) or reader (Aurora) zone; null without Multi-AZ. */
  replicaZone: string | null;
  storageGb: number;
}

export interface DesignTopology {
  region: string;
  regionLabel: string;
  vpcCidr: string;
  loadBalancer: { name: string; scheme: string; zones: string[] };
  zones: DesignZone[];
  database: DesignDatabase | null;
  redis: { name: string; zone: string; nodeType: string } | null;
  waf: boolean;
  cdn: boolean;
}

export interface DesignWarning {
  code: string;
  message: string;
}

export interface DesignPreview {
  /** The name the texts use: the given one, or the placeholder before one is typed. */
  serviceName: string;
  /** DNS-safe form of the name, the stem of every resource name. */
  slug: string;
  environment: string;
  region: string;
  instanceType: string;
  nodeCount: number;
  currency: string;
  costLines: DesignCostLine[];
  totalMonthlyUsd: number;
  pricingNote: string;
  topology: DesignTopology;
  terraform: string;
  cloudFormation: string;
  warnings: DesignWarning[];
}

/** The validated design, with every default filled in. */
export interface Design {
  serviceName: string;
  placeholder: boolean;
  slug: string;
  environment: string;
  region: string;
  instanceType: string;
  nodeCount: number;
  db: { key: string; sizeGb: number; multiAz: boolean } | null;
  redis: boolean;
  waf: boolean;
  cdn: boolean;
  owner: string | null;
  /** dbSize / dbMultiAZ were given without a dbEngine. */
  dbOptionsIgnored: boolean;
}

/** A zone of the topology with its letter (a, b, ...), which names its resources in the texts. */
export interface Zone extends DesignZone {
  letter: string;
}

/**
 * Validates with provisioning's own parser (same rules, same issues, same locations) and
 * fills in the defaults. A template order is not a design: the preview refuses it.
 */
export function parseDesign(config: unknown, serviceName: unknown, catalog: Catalog): Design {
  const placeholder = serviceName === undefined || serviceName === null || serviceName === '';
  const name = placeholder ? catalog.design.placeholderServiceName : serviceName;
  const spec = parseProvisionInput({ serviceName: name, config }, catalog, '');
  if (spec.kind !== 'aws-design') {
    const template = typeof config === 'object' && config !== null ? (config as Record<string, unknown>).template : undefined;
    throw invalidInput([
      template !== undefined
        ? { loc: ['body', 'config', 'template'], msg: 'A design preview takes an AWS design (instanceType, nodeCount, dbEngine, ...), not a template order', type: 'value_error' }
        : { loc: ['body', 'config', 'instanceType'], msg: 'Field required', type: 'missing' },
    ]);
  }
  const c = spec.config;
  const dbEngine = typeof c.dbEngine === 'string' ? c.dbEngine : null;
  return {
    serviceName: spec.serviceName,
    placeholder,
    slug: slugify(spec.serviceName, catalog.design.placeholderServiceName),
    environment: typeof c.environment === 'string' ? c.environment : 'dev',
    region: typeof c.region === 'string' ? c.region : catalog.defaultRegion,
    instanceType: String(c.instanceType),
    nodeCount: Number(c.nodeCount),
    db: dbEngine
      ? { key: dbEngine, sizeGb: typeof c.dbSize === 'number' ? c.dbSize : catalog.awsDesignLimits.dbSize[0], multiAz: c.dbMultiAZ === true }
      : null,
    redis: c.redis === true,
    waf: c.waf === true,
    cdn: c.cdn === true,
    owner: tagValue(c.owner),
    dbOptionsIgnored: !dbEngine && (c.dbSize !== undefined || c.dbMultiAZ === true),
  };
}
