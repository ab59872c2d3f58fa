/** Monthly cost lines of a design, priced from the catalog (estimates, not AWS quotes). */
import type { Catalog } from '../../config/catalog.js';
import type { Design, DesignCostLine } from './model.js';

const cents = (usd: number) => Math.round(usd * 100);
const unitPrice = (usd: number) => Math.round(usd * 10_000) / 10_000;

function line(key: string, label: string, quantity: number, unit: number): DesignCostLine {
  const unitMonthlyUsd = unitPrice(unit);
  return { key, label, quantity, unitMonthlyUsd, monthlyUsd: cents(quantity * unitMonthlyUsd) / 100 };
}

export function costLinesOf(d: Design, catalog: Catalog): DesignCostLine[] {
  const p = catalog.pricing;
  const tier = catalog.instanceTiers[d.instanceType];
  const lines = [
    line('compute', `EC2 ${d.instanceType} (${tier.label}, ${tier.vcpu} vCPU, ${tier.memoryGb} GB)`, d.nodeCount, tier.monthlyUsd),
    line('load-balancer', 'Application Load Balancer', 1, p.loadBalancerMonthlyUsd),
    line('nat-gateway', 'NAT Gateway, one per Availability Zone', p.availabilityZones, p.natGatewayMonthlyUsd),
  ];
  if (d.db) {
    const price = p.dbEngines[d.db.key];
    const factor = d.db.multiAz ? p.multiAzMultiplier : 1;
    const label = catalog.dbEngines[d.db.key].label;
    const az = d.db.multiAz ? 'Multi-AZ' : 'Single-AZ';
    lines.push(line('database', `${label} (${az})`, 1, price.monthlyUsd * factor));
    lines.push(line('database-storage', `${label} storage, per GB (${az})`, d.db.sizeGb, price.storageGbMonthlyUsd * factor));
  }
  if (d.redis) lines.push(line('redis', `ElastiCache Redis node (${catalog.design.redisNodeType})`, 1, p.redisNodeMonthlyUsd));
  if (d.waf) lines.push(line('waf', 'AWS WAF web ACL', 1, p.wafMonthlyUsd));
  if (d.cdn) lines.push(line('cdn', 'CloudFront distribution', 1, p.cloudFrontMonthlyUsd));
  return lines;
}

/** The sum of the lines, added in cents so the total is what the lines show. */
export function totalMonthlyUsdOf(lines: DesignCostLine[]): number {
  return lines.reduce((sum, l) => sum + cents(l.monthlyUsd), 0) / 100;
}
