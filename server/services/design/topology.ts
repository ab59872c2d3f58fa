/** Where everything runs: Availability Zones, subnets, app nodes, the data tier and the edge. */
import type { Catalog } from '../../config/catalog.js';
import type { Design, DesignTopology, Zone } from './model.js';
import { resourceName } from './names.js';

export function zonesOf(d: Design, catalog: Catalog): Zone[] {
  const letters = catalog.design.zoneSuffixes[d.region] ?? catalog.design.zoneSuffixes.default;
  const [, second] = catalog.design.vpcCidr.split('.');
  const zones: Zone[] = letters.slice(0, catalog.pricing.availabilityZones).map((letter, i) => ({
    letter,
    name: `${d.region}${letter}`,
    publicSubnetCidr: `10.${second}.${i}.0/24`,
    privateSubnetCidr: `10.${second}.${10 + i}.0/24`,
    natGateway: true,
    appNodes: [],
  }));
  for (let n = 0; n < d.nodeCount; n += 1) {
    zones[n % zones.length].appNodes.push({ name: `${d.slug}-node-${String(n + 1).padStart(2, '0')}`, instanceType: d.instanceType });
  }
  return zones;
}

export function topologyOf(d: Design, zones: Zone[], catalog: Catalog): DesignTopology {
  const iac = d.db ? catalog.design.dbEngines[d.db.key] : null;
  return {
    region: d.region,
    regionLabel: catalog.regions[d.region],
    vpcCidr: catalog.design.vpcCidr,
    loadBalancer: { name: resourceName(d.slug, 'alb', 32), scheme: 'internet-facing', zones: zones.map((z) => z.name) },
    zones: zones.map(({ letter: _letter, ...zone }) => zone),
    database:
      d.db && iac
        ? {
            engine: d.db.key,
            label: catalog.dbEngines[d.db.key].label,
            instanceClass: iac.instanceClass,
            multiAz: d.db.multiAz,
            primaryZone: zones[0].name,
            replicaZone: d.db.multiAz ? zones[1].name : null,
            storageGb: d.db.sizeGb,
          }
        : null,
    redis: d.redis ? { name: resourceName(d.slug, 'redis', 40, true), zone: zones[0].name, nodeType: catalog.design.redisNodeType } : null,
    waf: d.waf,
    cdn: d.cdn,
  };
}
