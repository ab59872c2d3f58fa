/** What a design may get wrong without being refused: the warnings shown beside the preview. */
import type { Catalog } from '../../config/catalog.js';
import type { Design, DesignWarning, Zone } from './model.js';

export function warningsOf(d: Design, zones: Zone[], catalog: Catalog): DesignWarning[] {
  const warnings: DesignWarning[] = [];
  const prod = d.environment === 'prod';
  if (d.placeholder) {
    warnings.push({ code: 'placeholder-service-name', message: `No service name yet: the preview uses "${d.serviceName}".` });
  }
  if (prod && d.db && !d.db.multiAz) {
    warnings.push({
      code: 'single-az-production-database',
      message: `The production database runs in one Availability Zone (${zones[0].name}); turn on Multi-AZ for a standby in ${zones[1].name}.`,
    });
  }
  if (prod && d.nodeCount < zones.length) {
    warnings.push({
      code: 'production-below-zone-count',
      message: `A production service with ${d.nodeCount} app node(s) does not survive the loss of an Availability Zone; use at least ${zones.length}.`,
    });
  }
  const empty = zones.filter((z) => z.appNodes.length === 0).map((z) => z.name);
  if (empty.length) {
    warnings.push({ code: 'empty-zone', message: `No app node runs in ${empty.join(', ')}; its NAT gateway is still charged.` });
  }
  if (prod && !d.waf) {
    warnings.push({ code: 'production-without-waf', message: 'The public load balancer of a production service has no WAF in front of it.' });
  }
  if (d.dbOptionsIgnored) {
    warnings.push({ code: 'no-database', message: 'dbSize and dbMultiAZ are ignored without dbEngine: this design has no database.' });
  }
  if (d.db && d.db.key === 'aurora') {
    warnings.push({
      code: 'aurora-storage-on-demand',
      message: `Aurora storage grows on demand; the estimate prices ${d.db.sizeGb} GB (${catalog.dbEngines.aurora?.label ?? 'Aurora'}).`,
    });
  }
  return warnings;
}
