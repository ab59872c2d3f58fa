/**
 * The one server-side model of an AWS design (SPEC §4, issue 4): from the design the console
 * sends, its monthly cost lines, its topology and its Terraform / CloudFormation text. GraphQL
 * (`designPreview`) and REST (`POST /api/design/preview`) answer this model, and a future
 * Terraform runner applies the same text.
 *
 * - The design is validated by provisioning's own rules (`parseProvisionInput`), so the
 *   preview accepts exactly the designs `provision` accepts.
 * - Prices, tiers, engines, regions and the number of Availability Zones come from the catalog
 *   (`pricing` and `design` in catalog.json). The prices are estimates, not AWS quotes.
 * - Pure and deterministic: no clock, no randomness, no I/O; the same design gives the same text.
 * - User text never reaches the generated code unescaped: names are DNS-safe slugs, every
 *   string is written through {@link hclString} / {@link yamlString}, and the CloudFormation
 *   YAML is emitted from a tree, not pasted together.
 *
 * One file per concern around the model (model.ts): cost.ts, topology.ts, warnings.ts,
 * terraform.ts (over hcl.ts), cloudformation.ts (over yaml.ts); names.ts, escape.ts and aws.ts
 * hold what the texts share.
 */
import type { Catalog } from '../../config/catalog.js';
import { cloudFormationOf } from './cloudformation.js';
import { costLinesOf, totalMonthlyUsdOf } from './cost.js';
import { parseDesign, type DesignPreview } from './model.js';
import { terraformOf } from './terraform.js';
import { topologyOf, zonesOf } from './topology.js';
import { warningsOf } from './warnings.js';

export type { DesignAppNode, DesignCostLine, DesignDatabase, DesignPreview, DesignTopology, DesignWarning, DesignZone } from './model.js';
export { hclString, yamlString } from './escape.js';
export { resourceName, slugify, tagValue } from './names.js';

/**
 * The preview of an AWS design. `config` and `serviceName` are taken as received (a design
 * object and a string; anything else is refused as `provision` refuses it); `serviceName` may
 * be left out, null or empty before one is typed, and the catalog's placeholder stands in. Throws BAD_USER_INPUT with issues, exactly as
 * provisioning would, for a design it refuses.
 */
export function designPreview(config: unknown, serviceName: unknown, catalog: Catalog): DesignPreview {
  const d = parseDesign(config, serviceName, catalog);
  const zones = zonesOf(d, catalog);
  const topology = topologyOf(d, zones, catalog);
  const costLines = costLinesOf(d, catalog);
  return {
    serviceName: d.serviceName,
    slug: d.slug,
    environment: d.environment,
    region: d.region,
    instanceType: d.instanceType,
    nodeCount: d.nodeCount,
    currency: catalog.pricing.currency,
    costLines,
    totalMonthlyUsd: totalMonthlyUsdOf(costLines),
    pricingNote: catalog.pricing.note,
    topology,
    terraform: terraformOf(d, zones, topology, catalog),
    cloudFormation: cloudFormationOf(d, zones, topology, catalog),
    warnings: warningsOf(d, zones, catalog),
  };
}
