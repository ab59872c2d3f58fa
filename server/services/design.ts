/**
 * The one server-side model of an AWS design (SPEC §4, issue 4): from the design the console
 * sends, its monthly cost lines, its topology and its Terraform / CloudFormation text. GraphQL
 * (`designPreview`) and REST (`POST /api/design/preview`) answer this model, and a future
 * Terraform runner applies the same text.
 *
 * - The design is validated by provisioning's own rules ({@link parseProvisionInput}), so the
 *   preview accepts exactly the designs `provision` accepts.
 * - Prices, tiers, engines, regions and the number of Availability Zones come from the catalog
 *   (`pricing` and `design` in catalog.json). The prices are estimates, not AWS quotes.
 * - Pure and deterministic: no clock, no randomness, no I/O; the same design gives the same text.
 * - User text never reaches the generated code unescaped: names are DNS-safe slugs, every
 *   string is written through {@link hclString} / {@link yamlString}, and the CloudFormation
 *   YAML is emitted from a tree, not pasted together.
 */
import type { Catalog } from '../config/catalog.js';
import { invalidInput } from './errors.js';
import { parseProvisionInput } from './provision-input.js';

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
interface Design {
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

// ---------------------------------------------------------------------------------------------
// Names and escaping
// ---------------------------------------------------------------------------------------------

/**
 * A DNS label from any text: lowercase ASCII letters, digits and single hyphens, at most 63
 * characters, no hyphen at either end; `fallback` when nothing is left.
 */
export function slugify(value: string, fallback: string): string {
  const slug = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || fallback;
}

/** FNV-1a, 4 hex digits: tells truncated names apart, the same on every run. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0').slice(0, 4);
}

/**
 * `<slug>-<suffix>` within an AWS name limit. Too long: the slug is cut and a short hash of
 * the whole slug keeps names distinct. `letterFirst` for the services whose names must begin
 * with a letter (RDS, ElastiCache).
 */
export function resourceName(slug: string, suffix: string, max: number, letterFirst = false): string {
  const base = letterFirst && !/^[a-z]/.test(slug) ? `svc-${slug}` : slug;
  const full = `${base}-${suffix}`;
  if (full.length <= max) return full;
  const tag = shortHash(slug);
  const room = max - suffix.length - tag.length - 2;
  return `${base.slice(0, room).replace(/-+$/, '')}-${tag}-${suffix}`;
}

const hex = (cp: number, width: number) => cp.toString(16).toUpperCase().padStart(width, '0');

/** Every code point outside printable ASCII, as `\uXXXX` / `\UXXXXXXXX` (HCL and YAML share these). */
function escapeCodePoint(cp: number): string {
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\uFFFD'; // a lone surrogate has no encoding
  return cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
}

/**
 * An HCL quoted string holding exactly `value`: quotes, backslashes and every character outside
 * printable ASCII escaped, and `${` / `%{` doubled so no interpolation or directive can start.
 */
export function hclString(value: string): string {
  const chars = Array.from(value);
  let out = '"';
  chars.forEach((ch, i) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if ((ch === '$' || ch === '%') && chars[i + 1] === '{') out += ch + ch;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += escapeCodePoint(cp);
  });
  return `${out}"`;
}

/** A YAML double-quoted scalar holding exactly `value` (printable ASCII only, the rest escaped). */
export function yamlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += escapeCodePoint(cp);
  }
  return `${out}"`;
}

/**
 * An AWS tag value from free text: letters, digits, spaces and `_ . : / = + - @` (what every
 * service accepts), at most 256 characters; null when nothing is left.
 */
export function tagValue(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = Array.from(value.replace(/[^\p{L}\p{N} _.:/=+\-@]+/gu, ' ').replace(/\s+/g, ' ').trim())
    .slice(0, 256)
    .join('')
    .trim();
  return cleaned || null;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const DB_PORTS: Record<string, number> = { mysql: 3306, postgres: 5432, aurora: 3306 };

function portOf(catalog: Catalog, engineKey: string): number {
  const engine = catalog.design.dbEngines[engineKey]?.engine ?? engineKey;
  return DB_PORTS[engineKey] ?? (engine.includes('postgres') ? 5432 : 3306);
}

/**
 * Validates with provisioning's own parser (same rules, same issues, same locations) and
 * fills in the defaults. A template order is not a design: the preview refuses it.
 */
function parseDesign(config: unknown, serviceName: unknown, catalog: Catalog): Design {
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

// ---------------------------------------------------------------------------------------------
// Cost, topology, warnings
// ---------------------------------------------------------------------------------------------

const cents = (usd: number) => Math.round(usd * 100);
const unitPrice = (usd: number) => Math.round(usd * 10_000) / 10_000;

function line(key: string, label: string, quantity: number, unit: number): DesignCostLine {
  const unitMonthlyUsd = unitPrice(unit);
  return { key, label, quantity, unitMonthlyUsd, monthlyUsd: cents(quantity * unitMonthlyUsd) / 100 };
}

function costLinesOf(d: Design, catalog: Catalog): DesignCostLine[] {
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

interface Zone extends DesignZone {
  letter: string;
}

function zonesOf(d: Design, catalog: Catalog): Zone[] {
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

function topologyOf(d: Design, zones: Zone[], catalog: Catalog): DesignTopology {
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

function warningsOf(d: Design, zones: Zone[], catalog: Catalog): DesignWarning[] {
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

// ---------------------------------------------------------------------------------------------
// Terraform (HCL), written from a small tree so every value passes through one escaper
// ---------------------------------------------------------------------------------------------

/** An HCL expression written as is: references and functions built here, never user text. */
class Expr {
  constructor(readonly text: string) {}
}
/** An HCL object value `{ key = value }`. */
class Obj {
  constructor(readonly entries: [string, Hcl][]) {}
}
type Hcl = string | number | boolean | Expr | Obj | Hcl[];
type Item = { attr: string; value: Hcl } | { block: string; labels: string[]; body: Item[] } | { comment: string };

const ref = (text: string) => new Expr(text);
const attr = (name: string, value: Hcl): Item => ({ attr: name, value });
const block = (type: string, labels: string[], body: Item[]): Item => ({ block: type, labels, body });
const comment = (text: string): Item => ({ comment: text });

const HCL_IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function hclValue(value: Hcl, indent: string): string {
  if (typeof value === 'string') return hclString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Expr) return value.text;
  if (value instanceof Obj) {
    if (!value.entries.length) return '{}';
    const inner = `${indent}  `;
    const keys = value.entries.map(([k]) => (HCL_IDENT.test(k) ? k : hclString(k)));
    const width = Math.max(...keys.map((k) => k.length));
    const rows = value.entries.map(([, v], i) => `${inner}${keys[i].padEnd(width)} = ${hclValue(v, inner)}`);
    return `{\n${rows.join('\n')}\n${indent}}`;
  }
  return `[${value.map((v) => hclValue(v, indent)).join(', ')}]`;
}

/** Renders a body; consecutive one-line attributes align their `=` as `terraform fmt` does. */
function hclBody(items: Item[], indent: string): string[] {
  const out: string[] = [];
  let run: { name: string; value: string }[] = [];
  const flush = () => {
    const width = Math.max(0, ...run.filter((r) => !r.value.includes('\n')).map((r) => r.name.length));
    for (const r of run) out.push(`${indent}${r.value.includes('\n') ? r.name : r.name.padEnd(width)} = ${r.value}`);
    run = [];
  };
  for (const item of items) {
    if ('attr' in item) {
      const value = hclValue(item.value, indent);
      if (value.includes('\n')) {
        flush();
        run.push({ name: item.attr, value });
        flush();
      } else {
        run.push({ name: item.attr, value });
      }
      continue;
    }
    flush();
    if ('comment' in item) out.push(`${indent}# ${item.comment.replace(/[^\x20-\x7e]/g, ' ')}`);
    else {
      const head = [item.block, ...item.labels.map(hclString)].join(' ');
      if (!item.body.length) out.push(`${indent}${head} {}`);
      else out.push(`${indent}${head} {`, ...hclBody(item.body, `${indent}  `), `${indent}}`);
    }
  }
  flush();
  return out;
}

/** Top-level blocks are separated by one blank line; a comment sticks to what follows it. */
function hclFile(items: Item[]): string {
  const out: string[] = [];
  items.forEach((item, i) => {
    if (i > 0 && !('comment' in items[i - 1])) out.push('');
    out.push(...hclBody([item], ''));
  });
  return `${out.join('\n')}\n`;
}

const resource = (type: string, name: string, body: Item[]) => block('resource', [type, name], body);

interface Names {
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

function namesOf(slug: string): Names {
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

/** Managed CloudFront policies: CachingDisabled and AllViewer (the app behind the ALB decides). */
const CACHE_POLICY_CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ORIGIN_REQUEST_POLICY_ALL_VIEWER = '216adef6-5c7f-47e4-b989-5492eafa07d3';
const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'];
const DB_USER = 'dbadmin';

function maxSizeOf(nodeCount: number, catalog: Catalog): number {
  return Math.max(nodeCount, Math.min(nodeCount * 2, catalog.awsDesignLimits.nodeCount[1]));
}

function terraformOf(d: Design, zones: Zone[], topology: DesignTopology, catalog: Catalog): string {
  const n = namesOf(d.slug);
  const prod = d.environment === 'prod';
  const nameTag = (part: string) => attr('tags', new Obj([['Name', n.tag(part)]]));
  const publicSubnets = zones.map((z) => ref(`aws_subnet.public_${z.letter}.id`));
  const privateSubnets = zones.map((z) => ref(`aws_subnet.private_${z.letter}.id`));
  const egressAll = block('egress', [], [attr('from_port', 0), attr('to_port', 0), attr('protocol', '-1'), attr('cidr_blocks', ['0.0.0.0/0'])]);
  const fromSg = (port: number, sg: string, description: string) =>
    block('ingress', [], [attr('description', description), attr('from_port', port), attr('to_port', port), attr('protocol', 'tcp'), attr('security_groups', [ref(`aws_security_group.${sg}.id`)])]);
  const defaultTags: [string, Hcl][] = [
    ['Service', d.slug],
    ['Environment', d.environment],
    ...(d.owner ? ([['Owner', d.owner]] as [string, Hcl][]) : []),
    ['ManagedBy', 'h-cmp'],
  ];

  const items: Item[] = [
    comment(`Terraform for ${d.slug} (${d.environment}, ${d.region}), generated by H-CMP from the design.`),
    comment('The same design always gives the same text. Apply with Terraform 1.5 or later.'),
    block('terraform', [], [
      attr('required_version', '>= 1.5.0'),
      block('required_providers', [], [attr('aws', new Obj([['source', 'hashicorp/aws'], ['version', '~> 5.0']]))]),
    ]),
    block('provider', ['aws'], [attr('region', d.region), block('default_tags', [], [attr('tags', new Obj(defaultTags))])]),
    block('data', ['aws_ssm_parameter', 'ami'], [attr('name', catalog.design.amiParameter)]),
    comment('Network: one public and one private subnet per Availability Zone, a NAT gateway in each.'),
    resource('aws_vpc', 'main', [attr('cidr_block', topology.vpcCidr), attr('enable_dns_support', true), attr('enable_dns_hostnames', true), nameTag('vpc')]),
    resource('aws_internet_gateway', 'main', [attr('vpc_id', ref('aws_vpc.main.id')), nameTag('igw')]),
    resource('aws_route_table', 'public', [
      attr('vpc_id', ref('aws_vpc.main.id')),
      block('route', [], [attr('cidr_block', '0.0.0.0/0'), attr('gateway_id', ref('aws_internet_gateway.main.id'))]),
      nameTag('public'),
    ]),
  ];
  for (const z of zones) {
    const l = z.letter;
    items.push(
      resource('aws_subnet', `public_${l}`, [
        attr('vpc_id', ref('aws_vpc.main.id')),
        attr('cidr_block', z.publicSubnetCidr),
        attr('availability_zone', z.name),
        attr('map_public_ip_on_launch', true),
        nameTag(`public-${l}`),
      ]),
      resource('aws_subnet', `private_${l}`, [
        attr('vpc_id', ref('aws_vpc.main.id')),
        attr('cidr_block', z.privateSubnetCidr),
        attr('availability_zone', z.name),
        nameTag(`private-${l}`),
      ]),
      resource('aws_eip', `nat_${l}`, [attr('domain', 'vpc'), nameTag(`nat-${l}`)]),
      resource('aws_nat_gateway', l, [
        attr('allocation_id', ref(`aws_eip.nat_${l}.id`)),
        attr('subnet_id', ref(`aws_subnet.public_${l}.id`)),
        attr('depends_on', [ref('aws_internet_gateway.main')]),
        nameTag(`nat-${l}`),
      ]),
      resource('aws_route_table_association', `public_${l}`, [attr('subnet_id', ref(`aws_subnet.public_${l}.id`)), attr('route_table_id', ref('aws_route_table.public.id'))]),
      resource('aws_route_table', `private_${l}`, [
        attr('vpc_id', ref('aws_vpc.main.id')),
        block('route', [], [attr('cidr_block', '0.0.0.0/0'), attr('nat_gateway_id', ref(`aws_nat_gateway.${l}.id`))]),
        nameTag(`private-${l}`),
      ]),
      resource('aws_route_table_association', `private_${l}`, [attr('subnet_id', ref(`aws_subnet.private_${l}.id`)), attr('route_table_id', ref(`aws_route_table.private_${l}.id`))]),
    );
  }

  items.push(
    comment('Security groups: internet -> ALB -> app nodes -> data tier.'),
    resource('aws_security_group', 'alb', [
      attr('name', n.sg('alb')),
      attr('description', 'Public HTTP and HTTPS to the load balancer'),
      attr('vpc_id', ref('aws_vpc.main.id')),
      ...[80, 443].map((port) => block('ingress', [], [attr('from_port', port), attr('to_port', port), attr('protocol', 'tcp'), attr('cidr_blocks', ['0.0.0.0/0'])])),
      egressAll,
    ]),
    resource('aws_security_group', 'app', [
      attr('name', n.sg('app')),
      attr('description', 'App nodes, reachable from the load balancer only'),
      attr('vpc_id', ref('aws_vpc.main.id')),
      fromSg(80, 'alb', 'HTTP from the ALB'),
      egressAll,
    ]),
  );
  if (d.db) {
    items.push(
      resource('aws_security_group', 'db', [
        attr('name', n.sg('db')),
        attr('description', 'Database, reachable from the app nodes only'),
        attr('vpc_id', ref('aws_vpc.main.id')),
        fromSg(portOf(catalog, d.db.key), 'app', 'Database from the app nodes'),
      ]),
    );
  }
  if (d.redis) {
    items.push(
      resource('aws_security_group', 'cache', [
        attr('name', n.sg('cache')),
        attr('description', 'Redis, reachable from the app nodes only'),
        attr('vpc_id', ref('aws_vpc.main.id')),
        fromSg(6379, 'app', 'Redis from the app nodes'),
      ]),
    );
  }

  items.push(
    comment('Load balancer and the app tier.'),
    resource('aws_lb', 'app', [
      attr('name', n.alb),
      attr('load_balancer_type', 'application'),
      attr('internal', false),
      attr('security_groups', [ref('aws_security_group.alb.id')]),
      attr('subnets', publicSubnets),
    ]),
    resource('aws_lb_target_group', 'app', [
      attr('name', n.targetGroup),
      attr('port', 80),
      attr('protocol', 'HTTP'),
      attr('vpc_id', ref('aws_vpc.main.id')),
      block('health_check', [], [attr('path', '/'), attr('matcher', '200-399')]),
    ]),
    resource('aws_lb_listener', 'http', [
      attr('load_balancer_arn', ref('aws_lb.app.arn')),
      attr('port', 80),
      attr('protocol', 'HTTP'),
      block('default_action', [], [attr('type', 'forward'), attr('target_group_arn', ref('aws_lb_target_group.app.arn'))]),
    ]),
    resource('aws_launch_template', 'app', [
      attr('name_prefix', n.launchTemplatePrefix),
      attr('image_id', ref('data.aws_ssm_parameter.ami.value')),
      attr('instance_type', d.instanceType),
      attr('vpc_security_group_ids', [ref('aws_security_group.app.id')]),
      block('metadata_options', [], [attr('http_tokens', 'required')]),
      block('tag_specifications', [], [attr('resource_type', 'instance'), nameTag('app')]),
    ]),
    resource('aws_autoscaling_group', 'app', [
      attr('name', n.asg),
      attr('desired_capacity', d.nodeCount),
      attr('min_size', d.nodeCount),
      attr('max_size', maxSizeOf(d.nodeCount, catalog)),
      attr('vpc_zone_identifier', privateSubnets),
      attr('target_group_arns', [ref('aws_lb_target_group.app.arn')]),
      attr('health_check_type', 'ELB'),
      block('launch_template', [], [attr('id', ref('aws_launch_template.app.id')), attr('version', '$Latest')]),
    ]),
  );

  if (d.db && topology.database) {
    const iac = catalog.design.dbEngines[d.db.key];
    const db = topology.database;
    const retention: Item[] = [
      attr('storage_encrypted', true),
      attr('deletion_protection', prod),
      attr('skip_final_snapshot', !prod),
      ...(prod ? [attr('final_snapshot_identifier', n.dbFinalSnapshot)] : []),
    ];
    items.push(
      comment(`Database: ${catalog.dbEngines[d.db.key].label}, ${d.db.multiAz ? 'Multi-AZ' : 'single Availability Zone'}.`),
      resource('aws_db_subnet_group', 'main', [attr('name', n.dbSubnetGroup), attr('subnet_ids', privateSubnets)]),
    );
    if (d.db.key === 'aurora') {
      const instance = (label: string, index: number, zone: string) =>
        resource('aws_rds_cluster_instance', label, [
          attr('identifier', resourceName(d.slug, `db-${index}`, 63, true)),
          attr('cluster_identifier', ref('aws_rds_cluster.main.id')),
          attr('instance_class', iac.instanceClass),
          attr('engine', ref('aws_rds_cluster.main.engine')),
          attr('engine_version', ref('aws_rds_cluster.main.engine_version')),
          attr('availability_zone', zone),
        ]);
      items.push(
        comment(`Aurora storage grows on demand; the cost estimate prices ${d.db.sizeGb} GB.`),
        resource('aws_rds_cluster', 'main', [
          attr('cluster_identifier', n.db),
          attr('engine', iac.engine),
          attr('engine_mode', 'provisioned'),
          attr('engine_version', iac.version),
          attr('master_username', DB_USER),
          attr('manage_master_user_password', true),
          attr('db_subnet_group_name', ref('aws_db_subnet_group.main.name')),
          attr('vpc_security_group_ids', [ref('aws_security_group.db.id')]),
          attr('backup_retention_period', prod ? 7 : 1),
          ...retention,
          block('serverlessv2_scaling_configuration', [], [attr('min_capacity', iac.minCapacity ?? 0.5), attr('max_capacity', iac.maxCapacity ?? 4)]),
        ]),
        instance('primary', 1, db.primaryZone),
      );
      if (db.replicaZone) items.push(instance('replica', 2, db.replicaZone));
    } else {
      items.push(
        resource('aws_db_instance', 'main', [
          attr('identifier', n.db),
          attr('engine', iac.engine),
          attr('engine_version', iac.version),
          attr('instance_class', iac.instanceClass),
          attr('allocated_storage', d.db.sizeGb),
          attr('storage_type', 'gp3'),
          attr('multi_az', d.db.multiAz),
          ...(d.db.multiAz ? [] : [attr('availability_zone', db.primaryZone)]),
          attr('username', DB_USER),
          attr('manage_master_user_password', true),
          attr('db_subnet_group_name', ref('aws_db_subnet_group.main.name')),
          attr('vpc_security_group_ids', [ref('aws_security_group.db.id')]),
          attr('backup_retention_period', prod ? 7 : 1),
          ...retention,
        ]),
      );
    }
  }

  if (topology.redis) {
    items.push(
      comment('Cache: one ElastiCache Redis node.'),
      resource('aws_elasticache_subnet_group', 'main', [attr('name', n.cacheSubnetGroup), attr('subnet_ids', privateSubnets)]),
      resource('aws_elasticache_cluster', 'redis', [
        attr('cluster_id', topology.redis.name),
        attr('engine', 'redis'),
        attr('node_type', topology.redis.nodeType),
        attr('num_cache_nodes', 1),
        attr('port', 6379),
        attr('availability_zone', topology.redis.zone),
        attr('subnet_group_name', ref('aws_elasticache_subnet_group.main.name')),
        attr('security_group_ids', [ref('aws_security_group.cache.id')]),
      ]),
    );
  }

  if (d.waf) {
    const visibility = (metric: string) =>
      block('visibility_config', [], [attr('cloudwatch_metrics_enabled', true), attr('metric_name', metric), attr('sampled_requests_enabled', true)]);
    items.push(
      comment("WAF: AWS's common rule set in front of the load balancer."),
      resource('aws_wafv2_web_acl', 'main', [
        attr('name', n.waf),
        attr('scope', 'REGIONAL'),
        block('default_action', [], [block('allow', [], [])]),
        block('rule', [], [
          attr('name', 'aws-common-rules'),
          attr('priority', 1),
          block('override_action', [], [block('none', [], [])]),
          block('statement', [], [block('managed_rule_group_statement', [], [attr('name', 'AWSManagedRulesCommonRuleSet'), attr('vendor_name', 'AWS')])]),
          visibility(`${n.waf}-common`),
        ]),
        visibility(n.waf),
      ]),
      resource('aws_wafv2_web_acl_association', 'alb', [attr('resource_arn', ref('aws_lb.app.arn')), attr('web_acl_arn', ref('aws_wafv2_web_acl.main.arn'))]),
    );
  }

  if (d.cdn) {
    items.push(
      comment('CDN: CloudFront in front of the load balancer.'),
      resource('aws_cloudfront_distribution', 'main', [
        attr('enabled', true),
        attr('comment', `${d.slug} (${d.environment})`),
        attr('price_class', 'PriceClass_100'),
        block('origin', [], [
          attr('origin_id', 'alb'),
          attr('domain_name', ref('aws_lb.app.dns_name')),
          block('custom_origin_config', [], [
            attr('http_port', 80),
            attr('https_port', 443),
            attr('origin_protocol_policy', 'http-only'),
            attr('origin_ssl_protocols', ['TLSv1.2']),
          ]),
        ]),
        block('default_cache_behavior', [], [
          attr('target_origin_id', 'alb'),
          attr('viewer_protocol_policy', 'redirect-to-https'),
          attr('allowed_methods', ALL_METHODS),
          attr('cached_methods', ['GET', 'HEAD']),
          attr('cache_policy_id', CACHE_POLICY_CACHING_DISABLED),
          attr('origin_request_policy_id', ORIGIN_REQUEST_POLICY_ALL_VIEWER),
        ]),
        block('restrictions', [], [block('geo_restriction', [], [attr('restriction_type', 'none')])]),
        block('viewer_certificate', [], [attr('cloudfront_default_certificate', true)]),
      ]),
    );
  }

  const output = (name: string, value: string) => block('output', [name], [attr('value', ref(value))]);
  items.push(output('load_balancer_dns', 'aws_lb.app.dns_name'));
  if (d.db) items.push(output('database_endpoint', d.db.key === 'aurora' ? 'aws_rds_cluster.main.endpoint' : 'aws_db_instance.main.address'));
  if (d.redis) items.push(output('redis_endpoint', 'aws_elasticache_cluster.redis.cache_nodes[0].address'));
  if (d.cdn) items.push(output('cloudfront_domain', 'aws_cloudfront_distribution.main.domain_name'));
  return hclFile(items);
}

// ---------------------------------------------------------------------------------------------
// CloudFormation (YAML), emitted from a plain tree; intrinsic functions in their long form
// ---------------------------------------------------------------------------------------------

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/**
 * Strings written without quotes: a letter, then letters, digits and `_ . / : < > -`, no colon
 * at the end, and none of the words YAML 1.1 reads as booleans or null. Anything else (user
 * text included) is double-quoted by {@link yamlString}.
 */
const YAML_PLAIN = /^[A-Za-z][A-Za-z0-9_./:<>-]*$/;
const YAML_WORDS = /^(?:y|yes|n|no|true|false|on|off|null)$/i;

function yamlText(value: string): string {
  return YAML_PLAIN.test(value) && !value.endsWith(':') && !YAML_WORDS.test(value) ? value : yamlString(value);
}

function yamlScalar(value: Yaml): string | undefined {
  if (typeof value === 'string') return yamlText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length ? undefined : '[]';
  return Object.keys(value).length ? undefined : '{}';
}

function yamlLines(value: Yaml, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const scalar = yamlScalar(item);
      if (scalar !== undefined) {
        out.push(`${pad}- ${scalar}`);
      } else {
        const [first, ...rest] = yamlLines(item, indent + 2);
        out.push(`${pad}- ${first.trimStart()}`, ...rest);
      }
    }
    return out;
  }
  for (const [key, item] of Object.entries(value as Record<string, Yaml>)) {
    const name = yamlText(key);
    const scalar = yamlScalar(item);
    if (scalar !== undefined) out.push(`${pad}${name}: ${scalar}`);
    else out.push(`${pad}${name}:`, ...yamlLines(item, indent + 2));
  }
  return out;
}

const Ref = (name: string): Yaml => ({ Ref: name });
const GetAtt = (name: string, attribute: string): Yaml => ({ 'Fn::GetAtt': [name, attribute] });

function cloudFormationOf(d: Design, zones: Zone[], topology: DesignTopology, catalog: Catalog): string {
  const n = namesOf(d.slug);
  const prod = d.environment === 'prod';
  const up = (letter: string) => letter.toUpperCase();
  const tags = (part: string): Yaml => [
    { Key: 'Name', Value: n.tag(part) },
    { Key: 'Service', Value: d.slug },
    { Key: 'Environment', Value: d.environment },
    ...(d.owner ? [{ Key: 'Owner', Value: d.owner }] : []),
    { Key: 'ManagedBy', Value: 'h-cmp' },
  ];
  const publicSubnets = zones.map((z) => Ref(`PublicSubnet${up(z.letter)}`));
  const privateSubnets = zones.map((z) => Ref(`PrivateSubnet${up(z.letter)}`));
  const res = (type: string, properties: Record<string, Yaml>, extra: Record<string, Yaml> = {}): Yaml => ({ Type: type, ...extra, Properties: properties });
  const fromSg = (port: number, sg: string): Yaml => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, SourceSecurityGroupId: GetAtt(sg, 'GroupId') });

  const r: Record<string, Yaml> = {
    Vpc: res('AWS::EC2::VPC', { CidrBlock: topology.vpcCidr, EnableDnsSupport: true, EnableDnsHostnames: true, Tags: tags('vpc') }),
    InternetGateway: res('AWS::EC2::InternetGateway', { Tags: tags('igw') }),
    GatewayAttachment: res('AWS::EC2::VPCGatewayAttachment', { VpcId: Ref('Vpc'), InternetGatewayId: Ref('InternetGateway') }),
    PublicRouteTable: res('AWS::EC2::RouteTable', { VpcId: Ref('Vpc'), Tags: tags('public') }),
    PublicRoute: res('AWS::EC2::Route', { RouteTableId: Ref('PublicRouteTable'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: Ref('InternetGateway') }, { DependsOn: 'GatewayAttachment' }),
  };
  for (const z of zones) {
    const L = up(z.letter);
    r[`PublicSubnet${L}`] = res('AWS::EC2::Subnet', { VpcId: Ref('Vpc'), CidrBlock: z.publicSubnetCidr, AvailabilityZone: z.name, MapPublicIpOnLaunch: true, Tags: tags(`public-${z.letter}`) });
    r[`PrivateSubnet${L}`] = res('AWS::EC2::Subnet', { VpcId: Ref('Vpc'), CidrBlock: z.privateSubnetCidr, AvailabilityZone: z.name, Tags: tags(`private-${z.letter}`) });
    r[`NatEip${L}`] = res('AWS::EC2::EIP', { Domain: 'vpc', Tags: tags(`nat-${z.letter}`) }, { DependsOn: 'GatewayAttachment' });
    r[`NatGateway${L}`] = res('AWS::EC2::NatGateway', { AllocationId: GetAtt(`NatEip${L}`, 'AllocationId'), SubnetId: Ref(`PublicSubnet${L}`), Tags: tags(`nat-${z.letter}`) });
    r[`PublicSubnet${L}RouteTableAssociation`] = res('AWS::EC2::SubnetRouteTableAssociation', { SubnetId: Ref(`PublicSubnet${L}`), RouteTableId: Ref('PublicRouteTable') });
    r[`PrivateRouteTable${L}`] = res('AWS::EC2::RouteTable', { VpcId: Ref('Vpc'), Tags: tags(`private-${z.letter}`) });
    r[`PrivateRoute${L}`] = res('AWS::EC2::Route', { RouteTableId: Ref(`PrivateRouteTable${L}`), DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: Ref(`NatGateway${L}`) });
    r[`PrivateSubnet${L}RouteTableAssociation`] = res('AWS::EC2::SubnetRouteTableAssociation', { SubnetId: Ref(`PrivateSubnet${L}`), RouteTableId: Ref(`PrivateRouteTable${L}`) });
  }

  r.AlbSecurityGroup = res('AWS::EC2::SecurityGroup', {
    GroupName: n.sg('alb'),
    GroupDescription: 'Public HTTP and HTTPS to the load balancer',
    VpcId: Ref('Vpc'),
    SecurityGroupIngress: [80, 443].map((port) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, CidrIp: '0.0.0.0/0' })),
  });
  r.AppSecurityGroup = res('AWS::EC2::SecurityGroup', {
    GroupName: n.sg('app'),
    GroupDescription: 'App nodes, reachable from the load balancer only',
    VpcId: Ref('Vpc'),
    SecurityGroupIngress: [fromSg(80, 'AlbSecurityGroup')],
  });
  if (d.db) {
    r.DbSecurityGroup = res('AWS::EC2::SecurityGroup', {
      GroupName: n.sg('db'),
      GroupDescription: 'Database, reachable from the app nodes only',
      VpcId: Ref('Vpc'),
      SecurityGroupIngress: [fromSg(portOf(catalog, d.db.key), 'AppSecurityGroup')],
    });
  }
  if (d.redis) {
    r.CacheSecurityGroup = res('AWS::EC2::SecurityGroup', {
      GroupName: n.sg('cache'),
      GroupDescription: 'Redis, reachable from the app nodes only',
      VpcId: Ref('Vpc'),
      SecurityGroupIngress: [fromSg(6379, 'AppSecurityGroup')],
    });
  }

  r.LoadBalancer = res('AWS::ElasticLoadBalancingV2::LoadBalancer', {
    Name: n.alb,
    Type: 'application',
    Scheme: 'internet-facing',
    SecurityGroups: [GetAtt('AlbSecurityGroup', 'GroupId')],
    Subnets: publicSubnets,
    Tags: tags('alb'),
  });
  r.TargetGroup = res('AWS::ElasticLoadBalancingV2::TargetGroup', {
    Name: n.targetGroup,
    Port: 80,
    Protocol: 'HTTP',
    TargetType: 'instance',
    VpcId: Ref('Vpc'),
    HealthCheckPath: '/',
    Matcher: { HttpCode: '200-399' },
  });
  r.Listener = res('AWS::ElasticLoadBalancingV2::Listener', {
    LoadBalancerArn: Ref('LoadBalancer'),
    Port: 80,
    Protocol: 'HTTP',
    DefaultActions: [{ Type: 'forward', TargetGroupArn: Ref('TargetGroup') }],
  });
  r.LaunchTemplate = res('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: {
      ImageId: Ref('LatestAmiId'),
      InstanceType: d.instanceType,
      SecurityGroupIds: [GetAtt('AppSecurityGroup', 'GroupId')],
      MetadataOptions: { HttpTokens: 'required' },
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags('app') }],
    },
  });
  r.AutoScalingGroup = res('AWS::AutoScaling::AutoScalingGroup', {
    AutoScalingGroupName: n.asg,
    DesiredCapacity: String(d.nodeCount),
    MinSize: String(d.nodeCount),
    MaxSize: String(maxSizeOf(d.nodeCount, catalog)),
    VPCZoneIdentifier: privateSubnets,
    TargetGroupARNs: [Ref('TargetGroup')],
    HealthCheckType: 'ELB',
    LaunchTemplate: { LaunchTemplateId: Ref('LaunchTemplate'), Version: GetAtt('LaunchTemplate', 'LatestVersionNumber') },
  });

  const outputs: Record<string, Yaml> = { LoadBalancerDns: { Value: GetAtt('LoadBalancer', 'DNSName') } };
  if (d.db && topology.database) {
    const iac = catalog.design.dbEngines[d.db.key];
    const db = topology.database;
    const policy = prod ? 'Snapshot' : 'Delete';
    r.DbSubnetGroup = res('AWS::RDS::DBSubnetGroup', { DBSubnetGroupName: n.dbSubnetGroup, DBSubnetGroupDescription: `Private subnets of ${d.slug}`, SubnetIds: privateSubnets });
    if (d.db.key === 'aurora') {
      r.DbCluster = res(
        'AWS::RDS::DBCluster',
        {
          DBClusterIdentifier: n.db,
          Engine: iac.engine,
          EngineVersion: iac.version,
          MasterUsername: DB_USER,
          ManageMasterUserPassword: true,
          DBSubnetGroupName: Ref('DbSubnetGroup'),
          VpcSecurityGroupIds: [GetAtt('DbSecurityGroup', 'GroupId')],
          BackupRetentionPeriod: prod ? 7 : 1,
          StorageEncrypted: true,
          DeletionProtection: prod,
          ServerlessV2ScalingConfiguration: { MinCapacity: iac.minCapacity ?? 0.5, MaxCapacity: iac.maxCapacity ?? 4 },
        },
        { DeletionPolicy: policy, UpdateReplacePolicy: policy },
      );
      const instance = (index: number, zone: string): Yaml =>
        res('AWS::RDS::DBInstance', {
          DBInstanceIdentifier: resourceName(d.slug, `db-${index}`, 63, true),
          DBClusterIdentifier: Ref('DbCluster'),
          DBInstanceClass: iac.instanceClass,
          Engine: iac.engine,
          AvailabilityZone: zone,
        });
      r.DbInstancePrimary = instance(1, db.primaryZone);
      if (db.replicaZone) r.DbInstanceReplica = instance(2, db.replicaZone);
      outputs.DatabaseEndpoint = { Value: GetAtt('DbCluster', 'Endpoint.Address') };
    } else {
      r.Database = res(
        'AWS::RDS::DBInstance',
        {
          DBInstanceIdentifier: n.db,
          Engine: iac.engine,
          EngineVersion: iac.version,
          DBInstanceClass: iac.instanceClass,
          AllocatedStorage: String(d.db.sizeGb),
          StorageType: 'gp3',
          MultiAZ: d.db.multiAz,
          ...(d.db.multiAz ? {} : { AvailabilityZone: db.primaryZone }),
          MasterUsername: DB_USER,
          ManageMasterUserPassword: true,
          DBSubnetGroupName: Ref('DbSubnetGroup'),
          VPCSecurityGroups: [GetAtt('DbSecurityGroup', 'GroupId')],
          BackupRetentionPeriod: prod ? 7 : 1,
          StorageEncrypted: true,
          DeletionProtection: prod,
          Tags: tags('db'),
        },
        { DeletionPolicy: policy, UpdateReplacePolicy: policy },
      );
      outputs.DatabaseEndpoint = { Value: GetAtt('Database', 'Endpoint.Address') };
    }
  }
  if (topology.redis) {
    r.CacheSubnetGroup = res('AWS::ElastiCache::SubnetGroup', { CacheSubnetGroupName: n.cacheSubnetGroup, Description: `Private subnets of ${d.slug}`, SubnetIds: privateSubnets });
    r.Redis = res('AWS::ElastiCache::CacheCluster', {
      ClusterName: topology.redis.name,
      Engine: 'redis',
      CacheNodeType: topology.redis.nodeType,
      NumCacheNodes: 1,
      Port: 6379,
      PreferredAvailabilityZone: topology.redis.zone,
      CacheSubnetGroupName: Ref('CacheSubnetGroup'),
      VpcSecurityGroupIds: [GetAtt('CacheSecurityGroup', 'GroupId')],
    });
    outputs.RedisEndpoint = { Value: GetAtt('Redis', 'RedisEndpoint.Address') };
  }
  if (d.waf) {
    const visibility = (metric: string): Yaml => ({ CloudWatchMetricsEnabled: true, MetricName: metric, SampledRequestsEnabled: true });
    r.WebAcl = res('AWS::WAFv2::WebACL', {
      Name: n.waf,
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        {
          Name: 'aws-common-rules',
          Priority: 1,
          OverrideAction: { None: {} },
          Statement: { ManagedRuleGroupStatement: { Name: 'AWSManagedRulesCommonRuleSet', VendorName: 'AWS' } },
          VisibilityConfig: visibility(`${n.waf}-common`),
        },
      ],
      VisibilityConfig: visibility(n.waf),
    });
    r.WebAclAssociation = res('AWS::WAFv2::WebACLAssociation', { ResourceArn: Ref('LoadBalancer'), WebACLArn: GetAtt('WebAcl', 'Arn') });
  }
  if (d.cdn) {
    r.Distribution = res('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        Enabled: true,
        Comment: `${d.slug} (${d.environment})`,
        PriceClass: 'PriceClass_100',
        Origins: [{ Id: 'alb', DomainName: GetAtt('LoadBalancer', 'DNSName'), CustomOriginConfig: { HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: 'http-only', OriginSSLProtocols: ['TLSv1.2'] } }],
        DefaultCacheBehavior: {
          TargetOriginId: 'alb',
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ALL_METHODS,
          CachedMethods: ['GET', 'HEAD'],
          CachePolicyId: CACHE_POLICY_CACHING_DISABLED,
          OriginRequestPolicyId: ORIGIN_REQUEST_POLICY_ALL_VIEWER,
        },
        ViewerCertificate: { CloudFrontDefaultCertificate: true },
      },
    });
    outputs.CloudFrontDomain = { Value: GetAtt('Distribution', 'DomainName') };
  }

  const template: Record<string, Yaml> = {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${d.slug} (${d.environment}, ${d.region}): generated by H-CMP from the design`,
    Parameters: {
      LatestAmiId: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: catalog.design.amiParameter },
    },
    Resources: r,
    Outputs: outputs,
  };
  return `# CloudFormation for ${d.slug} (${d.environment}, ${d.region}), generated by H-CMP from the design.\n${yamlLines(template, 0).join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------

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
    totalMonthlyUsd: costLines.reduce((sum, l) => sum + cents(l.monthlyUsd), 0) / 100,
    pricingNote: catalog.pricing.note,
    topology,
    terraform: terraformOf(d, zones, topology, catalog),
    cloudFormation: cloudFormationOf(d, zones, topology, catalog),
    warnings: warningsOf(d, zones, catalog),
  };
}
