/**
 * Schema of `POST /api/design/preview` (rest/design-routes.ts): the design model of
 * server/services/design/ with snake_case keys. The body is checked by the design's own parser
 * (the issues `POST /api/provision` gives for the same design).
 */
import type { Catalog } from '../../config/catalog.js';
import { BODY_ERRORS, errors, PUBLIC } from './common.schema.js';
import { orderConfigSchema } from './project.schema.js';
import { handlerValidated, ref } from './static.js';

const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;

/** An object whose every listed property is always present. */
function closed<const P extends Record<string, object>>(properties: P, description?: string) {
  return { type: 'object', ...(description ? { description } : {}), properties, required: Object.keys(properties) as (keyof P & string)[] } as const;
}

const COST_LINE = closed({ key: { ...str, examples: ['compute', 'load-balancer', 'database'] }, label: str, quantity: num, unit_monthly_usd: num, monthly_usd: { ...num, description: 'quantity × unit, rounded to cents' } });

const ZONE = closed({
  name: { ...str, examples: ['ap-northeast-2a'] },
  public_subnet_cidr: str,
  private_subnet_cidr: str,
  nat_gateway: bool,
  app_nodes: { type: 'array', items: closed({ name: str, instance_type: str }) },
});

const DATABASE = {
  type: ['object', 'null'],
  description: 'null without a dbEngine',
  properties: {
    engine: str,
    label: str,
    instance_class: str,
    multi_az: bool,
    primary_zone: str,
    replica_zone: { type: ['string', 'null'], description: 'The standby (RDS) or reader (Aurora) zone; null without Multi-AZ' },
    storage_gb: { type: 'integer' },
  },
  required: ['engine', 'label', 'instance_class', 'multi_az', 'primary_zone', 'replica_zone', 'storage_gb'],
} as const;

const REDIS = { type: ['object', 'null'], description: 'null without redis', properties: { name: str, zone: str, node_type: str }, required: ['name', 'zone', 'node_type'] } as const;

export const DESIGN_PREVIEW = {
  $id: 'DesignPreview',
  title: 'DesignPreview',
  description: 'An AWS design\'s cost estimate, topology, Terraform and CloudFormation, and warnings (the model the console previews, GraphQL `designPreview`).',
  ...closed({
    service_name: { ...str, description: 'The given name, or the placeholder before one is typed' },
    slug: { ...str, description: 'DNS-safe form of the name, the stem of every resource name' },
    environment: str,
    region: str,
    instance_type: str,
    node_count: { type: 'integer' },
    currency: { ...str, examples: ['USD'] },
    cost_lines: { type: 'array', items: COST_LINE },
    total_monthly_usd: num,
    pricing_note: str,
    topology: closed({
      region: str,
      region_label: str,
      vpc_cidr: str,
      load_balancer: closed({ name: str, scheme: str, zones: { type: 'array', items: str } }),
      zones: { type: 'array', items: ZONE },
      database: DATABASE,
      redis: REDIS,
      waf: bool,
      cdn: bool,
    }),
    terraform: { ...str, description: 'Terraform (HCL) for the design' },
    cloud_formation: { ...str, description: 'A CloudFormation template (YAML) for the design' },
    warnings: { type: 'array', items: closed({ code: str, message: str }) },
  }),
} as const;

export const DESIGN_SCHEMAS = [DESIGN_PREVIEW];

export function designPreviewSchema(catalog: Catalog) {
  return {
    tags: ['projects'],
    operationId: 'designPreview',
    summary: 'Preview an AWS design',
    description: 'No login needed: reads and writes no data. A template order is refused (a preview takes a design).',
    security: PUBLIC,
    body: handlerValidated({
      type: 'object',
      properties: {
        config: orderConfigSchema(catalog).anyOf[0],
        serviceName: { type: ['string', 'null'], description: 'Optional: the preview uses a placeholder before a name is typed' },
      },
      required: ['config'],
    }),
    response: {
      200: { ...ref(DESIGN_PREVIEW), description: 'The model' },
      ...errors(...BODY_ERRORS),
    },
  } as const;
}
