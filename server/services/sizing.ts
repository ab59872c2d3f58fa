/**
 * What an order takes: hosts, vCPUs, memory and disk. A template order sizes each host by its
 * traffic level (low / mid / high, default low); an AWS design by its instance tier, plus the
 * database storage. Used for quotas, portal limits and usage figures.
 */
import type { Catalog } from '../config/catalog.js';
import { hostCountOf, orderKind } from './provision-input.js';

export interface OrderSize {
  hosts: number;
  vcpu: number;
  memoryGb: number;
  diskGb: number;
}

export function orderSize(config: Record<string, unknown>, catalog: Catalog): OrderSize {
  const hosts = hostCountOf(config, catalog);
  const diskPerHost = catalog.sizing.hostDiskGb;
  if (orderKind(config) === 'aws-design') {
    const tier = catalog.instanceTiers[String(config.instanceType)] ?? { vcpu: 0, memoryGb: 0 };
    const dbSize = typeof config.dbSize === 'number' ? config.dbSize : 0;
    return { hosts, vcpu: hosts * tier.vcpu, memoryGb: hosts * tier.memoryGb, diskGb: hosts * diskPerHost + dbSize };
  }
  const traffic = catalog.traffic[String(config.traffic ?? 'low')] ?? { vcpu: 0, memoryGb: 0 };
  return { hosts, vcpu: hosts * traffic.vcpu, memoryGb: hosts * traffic.memoryGb, diskGb: hosts * diskPerHost };
}
