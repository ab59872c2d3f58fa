/**
 * What the Terraform and the CloudFormation text agree on: every resource name, the database
 * port and user, the Auto Scaling ceiling and the managed CloudFront policies.
 */
import type { Catalog } from '../../config/catalog.js';
import { resourceName } from './names.js';

/** Every resource name the two texts use, each within its AWS limit. */
export interface Names {
  alb: string;
  targetGroup: string;
  asg: string;
  launchTemplatePrefix: string;
  db: string;
  dbSubnetGroup: string;
  dbFinalSnapshot: string;
  redis: string;
  cacheSubnetGroup: string;
  waf: string;
  sg: (role: string) => string;
  tag: (part: string) => string;
}

export function namesOf(slug: string): Names {
  return {
    alb: resourceName(slug, 'alb', 32),
    targetGroup: resourceName(slug, 'tg', 32),
    asg: resourceName(slug, 'asg', 255),
    launchTemplatePrefix: `${resourceName(slug, 'app', 120)}-`,
    db: resourceName(slug, 'db', 63, true),
    dbSubnetGroup: resourceName(slug, 'db-subnets', 255),
    dbFinalSnapshot: resourceName(slug, 'db-final', 255, true),
    redis: resourceName(slug, 'redis', 40, true),
    cacheSubnetGroup: resourceName(slug, 'cache-subnets', 255),
    waf: resourceName(slug, 'waf', 128),
    sg: (role) => resourceName(slug, `${role}-sg`, 255),
    tag: (part) => resourceName(slug, part, 255),
  };
}

const DB_PORTS: Record<string, number> = { mysql: 3306, postgres: 5432, aurora: 3306 };

/** The port the database listens on, from the engine (the app nodes' way in). */
export function portOf(catalog: Catalog, engineKey: string): number {
  const engine = catalog.design.dbEngines[engineKey]?.engine ?? engineKey;
  return DB_PORTS[engineKey] ?? (engine.includes('postgres') ? 5432 : 3306);
}

/** Managed CloudFront policies: CachingDisabled and AllViewer (the app behind the ALB decides). */
export const CACHE_POLICY_CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
export const ORIGIN_REQUEST_POLICY_ALL_VIEWER = '216adef6-5c7f-47e4-b989-5492eafa07d3';
export const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'];
export const DB_USER = 'dbadmin';

/** The Auto Scaling group's ceiling: twice the nodes, within the catalog's limit, never below the nodes. */
export function maxSizeOf(nodeCount: number, catalog: Catalog): number {
  return Math.max(nodeCount, Math.min(nodeCount * 2, catalog.awsDesignLimits.nodeCount[1]));
}
