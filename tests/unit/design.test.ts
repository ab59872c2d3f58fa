/**
 * The design model (issue 4): cost lines and totals, topology, Terraform and CloudFormation text
 * for a few designs, the same validation as provisioning, determinism, and hostile-input safety
 * of the generated text.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadCatalog, validateCatalog, type Catalog } from '../../server/config/catalog.js';
import { designPreview, hclString, resourceName, slugify, tagValue, yamlString, type DesignPreview } from '../../server/services/design/index.js';
import { DomainError, type ValidationIssue } from '../../server/services/errors.js';
import { parseProvisionInput } from '../../server/services/provision-input.js';

const catalog = loadCatalog();
const preview = (config: Record<string, unknown>, name: string | undefined = 'core-payment-api', cat: Catalog = catalog) => designPreview(config, name, cat);

const MINIMAL = { instanceType: 't3.micro', nodeCount: 1 };
const STANDARD = { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', dbMultiAZ: true, dbSize: 100, redis: true, waf: false, cdn: false };
const PERFORMANCE = { instanceType: 'c5.xlarge', nodeCount: 20, dbEngine: 'aurora', dbMultiAZ: false, dbSize: 500, redis: false, waf: true, cdn: true, region: 'us-west-2', environment: 'Production' };

const lines = (p: DesignPreview) => p.costLines.map((l) => [l.key, l.quantity, l.unitMonthlyUsd, l.monthlyUsd]);

function refusal(run: () => unknown): ValidationIssue[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('BAD_USER_INPUT');
    return (err as DomainError).issues;
  }
  throw new Error('expected BAD_USER_INPUT');
}

// --- a small HCL reader: enough to prove the text is well-formed and to read its strings ------

interface HclScan {
  strings: string[];
  /** `resource "type" "name"` headers at the top level, in order. */
  resources: [string, string][];
  topLevelBlocks: string[];
}

/** Tokenises HCL: strings (decoded), comments, brackets. Throws on anything malformed. */
function scanHcl(text: string): HclScan {
  const strings: string[] = [];
  const stack: string[] = [];
  const heads: { depth: number; line: string }[] = [];
  let i = 0;
  let lineStart = 0;
  const pairs: Record<string, string> = { '}': '{', ']': '[', ')': '(' };
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\n') {
      lineStart = i + 1;
      i += 1;
    } else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (ch === '"') {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length || text[i] === '\n') throw new Error(`unterminated string at ${i}`);
        const c = text[i];
        if (c === '"') break;
        if (c === '$' || c === '%') {
          if (text[i + 1] === '{') throw new Error(`template sequence ${c}{ in a string at ${i}`);
          if (text[i + 1] === c && text[i + 2] === '{') {
            value += `${c}{`;
            i += 3;
            continue;
          }
        }
        if (c === '\\') {
          const e = text[i + 1];
          const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
          if (e in simple) {
            value += simple[e];
            i += 2;
          } else if (e === 'u' && /^[0-9A-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
          } else if (e === 'U' && /^[0-9A-F]{8}$/.test(text.slice(i + 2, i + 10))) {
            value += String.fromCodePoint(parseInt(text.slice(i + 2, i + 10), 16));
            i += 10;
          } else {
            throw new Error(`bad escape \\${e} at ${i}`);
          }
          continue;
        }
        const cp = c.codePointAt(0) ?? 0;
        if (cp < 0x20 || cp === 0x7f) throw new Error(`raw control character in a string at ${i}`);
        value += c;
        i += 1;
      }
      strings.push(value);
      i += 1;
    } else if (ch === '{' || ch === '[' || ch === '(') {
      if (ch === '{') heads.push({ depth: stack.length, line: text.slice(lineStart, i).trim() });
      stack.push(ch);
      i += 1;
    } else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) throw new Error(`unbalanced ${ch} at ${i}`);
      i += 1;
    } else {
      i += 1;
    }
  }
  if (stack.length) throw new Error(`unclosed ${stack.join('')}`);
  const top = heads.filter((h) => h.depth === 0).map((h) => h.line);
  const resources = top.flatMap((line) => {
    const m = /^resource "([a-z0-9_]+)" "([a-z0-9_]+)"$/.exec(line);
    return m ? [[m[1], m[2]] as [string, string]] : [];
  });
  return { strings, resources, topLevelBlocks: top };
}

const tfTypes = (p: DesignPreview) => scanHcl(p.terraform).resources.map(([type]) => type);
const cfn = (p: DesignPreview) => parseYaml(p.cloudFormation) as { Resources: Record<string, { Type: string; Properties: any }>; Outputs: Record<string, unknown> };
const cfnTypes = (p: DesignPreview) => Object.values(cfn(p).Resources).map((r) => r.Type);
const cfnOf = (p: DesignPreview, type: string) => Object.values(cfn(p).Resources).filter((r) => r.Type === type);
/** The value of `name = <value>` inside the block whose header line is `head`. */
function hclAttr(text: string, head: string, name: string): string | undefined {
  const start = text.indexOf(`${head} {\n`);
  if (start < 0) return undefined;
  const body = text.slice(start, text.indexOf('\n}\n', start));
  return new RegExp(`\\n\\s+${name}\\s+= (.+)\\n`).exec(body)?.[1];
}

/** Terraform resource type → CloudFormation type (routes and the gateway attachment are inline in Terraform). */
const TF_TO_CFN: Record<string, string> = {
  aws_vpc: 'AWS::EC2::VPC',
  aws_internet_gateway: 'AWS::EC2::InternetGateway',
  aws_subnet: 'AWS::EC2::Subnet',
  aws_eip: 'AWS::EC2::EIP',
  aws_nat_gateway: 'AWS::EC2::NatGateway',
  aws_route_table: 'AWS::EC2::RouteTable',
  aws_route_table_association: 'AWS::EC2::SubnetRouteTableAssociation',
  aws_security_group: 'AWS::EC2::SecurityGroup',
  aws_lb: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  aws_lb_target_group: 'AWS::ElasticLoadBalancingV2::TargetGroup',
  aws_lb_listener: 'AWS::ElasticLoadBalancingV2::Listener',
  aws_launch_template: 'AWS::EC2::LaunchTemplate',
  aws_autoscaling_group: 'AWS::AutoScaling::AutoScalingGroup',
  aws_db_subnet_group: 'AWS::RDS::DBSubnetGroup',
  aws_db_instance: 'AWS::RDS::DBInstance',
  aws_rds_cluster: 'AWS::RDS::DBCluster',
  aws_rds_cluster_instance: 'AWS::RDS::DBInstance',
  aws_elasticache_subnet_group: 'AWS::ElastiCache::SubnetGroup',
  aws_elasticache_cluster: 'AWS::ElastiCache::CacheCluster',
  aws_wafv2_web_acl: 'AWS::WAFv2::WebACL',
  aws_wafv2_web_acl_association: 'AWS::WAFv2::WebACLAssociation',
  aws_cloudfront_distribution: 'AWS::CloudFront::Distribution',
};
const CFN_ONLY = new Set(['AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::Route']);

describe('design preview: cost lines and totals', () => {
  it('charges the minimal design (t3.micro × 1, no extras): compute, ALB and a NAT gateway per zone', () => {
    const p = preview(MINIMAL);
    expect(lines(p)).toEqual([
      ['compute', 1, 25, 25],
      ['load-balancer', 1, 20, 20],
      ['nat-gateway', 2, 35, 70],
    ]);
    expect(p.totalMonthlyUsd).toBe(115);
    expect(p.currency).toBe('USD');
    expect(p.pricingNote).toMatch(/estimates/i);
  });

  it('charges m5.large × 3 with PostgreSQL Multi-AZ 100 GB and Redis', () => {
    const p = preview(STANDARD);
    expect(lines(p)).toEqual([
      ['compute', 3, 90, 270],
      ['load-balancer', 1, 20, 20],
      ['nat-gateway', 2, 35, 70],
      ['database', 1, 110, 110],
      ['database-storage', 100, 0.24, 24],
      ['redis', 1, 40, 40],
    ]);
    expect(p.totalMonthlyUsd).toBe(534);
    expect(p.costLines.find((l) => l.key === 'database')?.label).toBe('RDS PostgreSQL 15 (Multi-AZ)');
  });

  it('charges c5.xlarge × 20 with Aurora, WAF and CloudFront', () => {
    const p = preview(PERFORMANCE);
    expect(lines(p)).toEqual([
      ['compute', 20, 170, 3400],
      ['load-balancer', 1, 20, 20],
      ['nat-gateway', 2, 35, 70],
      ['database', 1, 100, 100],
      ['database-storage', 500, 0.1, 50],
      ['waf', 1, 30, 30],
      ['cdn', 1, 20, 20],
    ]);
    expect(p.totalMonthlyUsd).toBe(3690);
  });

  it('rounds each line and the total to cents', () => {
    const p = preview({ instanceType: 't3.micro', nodeCount: 1, dbEngine: 'mysql', dbSize: 37 });
    expect(p.costLines.find((l) => l.key === 'database-storage')).toMatchObject({ quantity: 37, unitMonthlyUsd: 0.12, monthlyUsd: 4.44 });
    expect(p.totalMonthlyUsd).toBe(115 + 50 + 4.44);
    const sum = p.costLines.reduce((s, l) => s + Math.round(l.monthlyUsd * 100), 0) / 100;
    expect(p.totalMonthlyUsd).toBe(sum);
  });

  it('defaults the storage of a database to the smallest size allowed', () => {
    expect(preview({ instanceType: 't3.micro', dbEngine: 'mysql' }).topology.database?.storageGb).toBe(20);
  });

  it('takes every price and the zone count from the catalog, not from code', () => {
    const cheap = structuredClone(catalog);
    cheap.instanceTiers['t3.micro'].monthlyUsd = 7.5;
    cheap.pricing.natGatewayMonthlyUsd = 10;
    cheap.pricing.availabilityZones = 3;
    cheap.pricing.multiAzMultiplier = 1.5;
    cheap.pricing.dbEngines.mysql = { monthlyUsd: 40, storageGbMonthlyUsd: 0.2 };
    const p = preview({ instanceType: 't3.micro', nodeCount: 4, dbEngine: 'mysql', dbMultiAZ: true, dbSize: 50 }, 'x', validateCatalog(cheap));
    expect(lines(p)).toEqual([
      ['compute', 4, 7.5, 30],
      ['load-balancer', 1, 20, 20],
      ['nat-gateway', 3, 10, 30],
      ['database', 1, 60, 60],
      ['database-storage', 50, 0.3, 15],
    ]);
    expect(p.totalMonthlyUsd).toBe(155);
    expect(p.topology.zones.map((z) => z.name)).toEqual(['ap-northeast-2a', 'ap-northeast-2b', 'ap-northeast-2c']);
  });
});

describe('design preview: validation is provisioning\'s', () => {
  it('refuses what the validator refuses, with the same issues and locations', () => {
    const bad = { instanceType: 'm5.large', nodeCount: 21, dbEngine: 'oracle', dbSize: 10, waf: 'yes', region: 'mars-1' };
    const issues = refusal(() => preview(bad));
    expect(issues.map((i) => i.loc.join('.'))).toEqual(['body.config.nodeCount', 'body.config.dbEngine', 'body.config.dbSize', 'body.config.waf', 'body.config.region']);
    expect(issues).toEqual(refusal(() => parseProvisionInput({ serviceName: 'core-payment-api', config: bad }, catalog, 'kim')));
  });

  it.each([
    [{ instanceType: 't3.micro' }],
    [{ instanceType: 'x1.huge' }],
    [{ nodeCount: 2 }],
    [{ instanceType: 't3.micro', nodeCount: 0 }],
    [{ instanceType: 't3.micro', nodeCount: 2.5 }],
    [{ instanceType: 'c5.xlarge', nodeCount: 20, dbEngine: 'aurora', dbSize: 1000 }],
    [{ instanceType: 'c5.xlarge', dbSize: 1001 }],
    [{ instanceType: 't3.micro', environment: 'Staging' }],
    [{ instanceType: 't3.micro', environment: 'qa' }],
    [{ instanceType: 't3.micro', redis: 1 }],
    [{ instanceType: 't3.micro', mockFailAt: 'nowhere' }],
  ])('agrees with parseProvisionInput on %j', (config) => {
    let provisionIssues: ValidationIssue[] | null = null;
    try {
      parseProvisionInput({ serviceName: 'agree', config }, catalog, 'kim');
    } catch (err) {
      provisionIssues = (err as DomainError).issues;
    }
    if (provisionIssues) expect(refusal(() => preview(config, 'agree'))).toEqual(provisionIssues);
    else expect(preview(config, 'agree').nodeCount).toBeGreaterThan(0);
  });

  it('refuses a template order and a missing design', () => {
    expect(refusal(() => preview({ template: 'standard' })).map((i) => i.loc.join('.'))).toEqual(['body.config.template']);
    expect(refusal(() => preview({})).map((i) => [i.loc.join('.'), i.type])).toEqual([['body.config.instanceType', 'missing']]);
    expect(refusal(() => designPreview(undefined, 'x', catalog)).map((i) => i.loc.join('.'))).toEqual(['body.config.instanceType']);
    expect(refusal(() => designPreview([1], 'x', catalog)).map((i) => i.loc.join('.'))).toEqual(['body.config']);
  });

  it('uses the placeholder name before one is typed, and checks a given name by the service-name rule', () => {
    for (const name of [undefined, null, '']) {
      const p = designPreview(MINIMAL, name, catalog);
      expect([p.serviceName, p.slug]).toEqual(['my-service', 'my-service']);
      expect(p.warnings.map((w) => w.code)).toContain('placeholder-service-name');
    }
    expect(preview(MINIMAL, 'named').warnings.map((w) => w.code)).not.toContain('placeholder-service-name');
    expect(refusal(() => preview(MINIMAL, 'Bad_Name')).map((i) => [i.loc.join('.'), i.type])).toEqual([['body.serviceName', 'string_pattern_mismatch']]);
    expect(refusal(() => designPreview(MINIMAL, 42, catalog)).map((i) => i.type)).toEqual(['string_type']);
  });

  it('fills in defaults: region from the catalog, environment dev, label or key for the environment', () => {
    const p = preview(MINIMAL);
    expect([p.region, p.environment]).toEqual(['ap-northeast-2', 'dev']);
    expect(preview({ ...MINIMAL, environment: 'Production' }).environment).toBe('prod');
    expect(preview({ ...MINIMAL, environment: 'stg' }).environment).toBe('stg');
  });
});

describe('design preview: topology', () => {
  it('spreads app nodes round-robin over two Availability Zones, each with a NAT gateway', () => {
    const p = preview({ instanceType: 'm5.large', nodeCount: 5 }, 'shop');
    expect(p.topology.zones.map((z) => [z.name, z.natGateway, z.appNodes.map((n) => n.name)])).toEqual([
      ['ap-northeast-2a', true, ['shop-node-01', 'shop-node-03', 'shop-node-05']],
      ['ap-northeast-2b', true, ['shop-node-02', 'shop-node-04']],
    ]);
    expect(p.topology.zones.flatMap((z) => z.appNodes.map((n) => n.instanceType))).toEqual(Array(5).fill('m5.large'));
    expect(p.topology.loadBalancer).toEqual({ name: 'shop-alb', scheme: 'internet-facing', zones: ['ap-northeast-2a', 'ap-northeast-2b'] });
  });

  it('uses the zone letters of the region', () => {
    expect(preview({ ...MINIMAL, region: 'ap-northeast-1' }).topology.zones.map((z) => z.name)).toEqual(['ap-northeast-1a', 'ap-northeast-1c']);
    expect(preview({ ...MINIMAL, region: 'us-east-1' }).topology).toMatchObject({ region: 'us-east-1', regionLabel: 'US East (N. Virginia)' });
  });

  it('has a replica only with Multi-AZ, in the second zone', () => {
    expect(preview(STANDARD).topology.database).toEqual({
      engine: 'postgres',
      label: 'RDS PostgreSQL 15',
      instanceClass: 'db.t3.medium',
      multiAz: true,
      primaryZone: 'ap-northeast-2a',
      replicaZone: 'ap-northeast-2b',
      storageGb: 100,
    });
    expect(preview({ ...STANDARD, dbMultiAZ: false }).topology.database).toMatchObject({ multiAz: false, primaryZone: 'ap-northeast-2a', replicaZone: null });
    expect(preview(MINIMAL).topology.database).toBeNull();
  });

  it('places Redis, WAF and CDN only when asked', () => {
    const std = preview(STANDARD, 'shop').topology;
    expect([std.redis, std.waf, std.cdn]).toEqual([{ name: 'shop-redis', zone: 'ap-northeast-2a', nodeType: 'cache.t3.micro' }, false, false]);
    const perf = preview(PERFORMANCE).topology;
    expect([perf.redis, perf.waf, perf.cdn, perf.region]).toEqual([null, true, true, 'us-west-2']);
  });

  it('warns about a single-AZ production database, an empty zone and a production ALB without WAF', () => {
    const codes = (config: Record<string, unknown>) => preview(config).warnings.map((w) => w.code);
    expect(codes({ ...STANDARD, dbMultiAZ: false, environment: 'prod' })).toEqual(['single-az-production-database', 'production-without-waf']);
    expect(codes({ ...MINIMAL, environment: 'prod' })).toEqual(['production-below-zone-count', 'empty-zone', 'production-without-waf']);
    expect(codes({ ...STANDARD, environment: 'dev', dbMultiAZ: false })).toEqual([]);
    expect(codes({ ...MINIMAL, nodeCount: 2, dbSize: 50 })).toEqual(['no-database']);
    expect(codes(PERFORMANCE)).toEqual(['single-az-production-database', 'aurora-storage-on-demand']);
  });
});

describe('design preview: Terraform', () => {
  it('is well-formed HCL with the provider region, a VPC and a subnet pair, NAT and route tables per zone', () => {
    const p = preview(STANDARD);
    const scan = scanHcl(p.terraform);
    expect(scan.topLevelBlocks.slice(0, 3)).toEqual(['terraform', 'provider "aws"', 'data "aws_ssm_parameter" "ami"']);
    expect(hclAttr(p.terraform, 'provider "aws"', 'region')).toBe('"ap-northeast-2"');
    const count = (type: string) => scan.resources.filter(([t]) => t === type).length;
    expect([count('aws_vpc'), count('aws_subnet'), count('aws_nat_gateway'), count('aws_eip'), count('aws_route_table')]).toEqual([1, 4, 2, 2, 3]);
    expect(p.terraform).toContain('availability_zone       = "ap-northeast-2b"');
  });

  it('sizes the autoscaling group to the node count and uses the chosen instance type', () => {
    const p = preview(STANDARD);
    const asg = 'resource "aws_autoscaling_group" "app"';
    expect(hclAttr(p.terraform, asg, 'desired_capacity')).toBe('3');
    expect(hclAttr(p.terraform, asg, 'min_size')).toBe('3');
    expect(hclAttr(p.terraform, asg, 'max_size')).toBe('6');
    expect(hclAttr(p.terraform, 'resource "aws_launch_template" "app"', 'instance_type')).toBe('"m5.large"');
    expect(hclAttr(preview(PERFORMANCE).terraform, asg, 'desired_capacity')).toBe('20');
    expect(hclAttr(preview(PERFORMANCE).terraform, asg, 'max_size')).toBe('20');
  });

  it('writes an RDS instance with Multi-AZ and storage, and no resource for disabled options', () => {
    const p = preview(STANDARD, 'shop');
    const db = 'resource "aws_db_instance" "main"';
    expect([hclAttr(p.terraform, db, 'engine'), hclAttr(p.terraform, db, 'multi_az'), hclAttr(p.terraform, db, 'allocated_storage'), hclAttr(p.terraform, db, 'identifier')]).toEqual([
      '"postgres"',
      'true',
      '100',
      '"shop-db"',
    ]);
    expect(hclAttr(p.terraform, db, 'availability_zone')).toBeUndefined();
    const types = tfTypes(p);
    expect(types).toEqual(expect.arrayContaining(['aws_lb', 'aws_launch_template', 'aws_autoscaling_group', 'aws_db_instance', 'aws_elasticache_cluster']));
    for (const absent of ['aws_rds_cluster', 'aws_wafv2_web_acl', 'aws_wafv2_web_acl_association', 'aws_cloudfront_distribution']) expect(types).not.toContain(absent);
    const single = preview({ ...STANDARD, dbMultiAZ: false });
    expect(hclAttr(single.terraform, db, 'multi_az')).toBe('false');
    expect(hclAttr(single.terraform, db, 'availability_zone')).toBe('"ap-northeast-2a"');
  });

  it('writes an Aurora cluster (one instance, two with Multi-AZ), WAF and CloudFront for the performance design', () => {
    const p = preview(PERFORMANCE);
    expect(hclAttr(p.terraform, 'provider "aws"', 'region')).toBe('"us-west-2"');
    const types = tfTypes(p);
    expect(types).toEqual(expect.arrayContaining(['aws_rds_cluster', 'aws_rds_cluster_instance', 'aws_wafv2_web_acl', 'aws_wafv2_web_acl_association', 'aws_cloudfront_distribution']));
    expect(types.filter((t) => t === 'aws_rds_cluster_instance')).toHaveLength(1);
    for (const absent of ['aws_db_instance', 'aws_elasticache_cluster', 'aws_elasticache_subnet_group']) expect(types).not.toContain(absent);
    expect(hclAttr(p.terraform, 'resource "aws_rds_cluster" "main"', 'engine')).toBe('"aurora-mysql"');
    expect(tfTypes(preview({ ...PERFORMANCE, dbMultiAZ: true })).filter((t) => t === 'aws_rds_cluster_instance')).toHaveLength(2);
  });

  it('has no database, cache, WAF or CDN resources in the minimal design', () => {
    const types = tfTypes(preview(MINIMAL));
    expect(types.filter((t) => /db|rds|elasticache|waf|cloudfront/.test(t))).toEqual([]);
    expect(types).toContain('aws_autoscaling_group');
  });
});

describe('design preview: CloudFormation', () => {
  it('parses as YAML with the same resources as the Terraform text', () => {
    for (const config of [MINIMAL, STANDARD, PERFORMANCE, { ...PERFORMANCE, dbMultiAZ: true, redis: true }]) {
      const p = preview(config);
      const fromTf = tfTypes(p).map((t) => TF_TO_CFN[t] ?? `unmapped ${t}`).sort();
      expect(cfnTypes(p).filter((t) => !CFN_ONLY.has(t)).sort()).toEqual(fromTf);
    }
  });

  it('carries the design: capacity, instance type, database, cache, region zones', () => {
    const p = preview(STANDARD);
    const template = cfn(p);
    expect((template as any).AWSTemplateFormatVersion).toBe('2010-09-09');
    const [asg] = cfnOf(p, 'AWS::AutoScaling::AutoScalingGroup');
    expect([asg.Properties.DesiredCapacity, asg.Properties.MinSize, asg.Properties.MaxSize]).toEqual(['3', '3', '6']);
    expect(cfnOf(p, 'AWS::EC2::LaunchTemplate')[0].Properties.LaunchTemplateData.InstanceType).toBe('m5.large');
    const [db] = cfnOf(p, 'AWS::RDS::DBInstance');
    expect([db.Properties.Engine, db.Properties.MultiAZ, db.Properties.AllocatedStorage, db.Properties.EngineVersion]).toEqual(['postgres', true, '100', '15']);
    expect(cfnOf(p, 'AWS::ElastiCache::CacheCluster')).toHaveLength(1);
    expect(cfnOf(p, 'AWS::EC2::Subnet').map((s) => s.Properties.AvailabilityZone)).toEqual(['ap-northeast-2a', 'ap-northeast-2a', 'ap-northeast-2b', 'ap-northeast-2b']);
    expect(Object.keys(template.Outputs)).toEqual(['LoadBalancerDns', 'DatabaseEndpoint', 'RedisEndpoint']);
    for (const absent of ['AWS::WAFv2::WebACL', 'AWS::CloudFront::Distribution', 'AWS::RDS::DBCluster']) expect(cfnTypes(p)).not.toContain(absent);
  });

  it('writes the Aurora cluster, WAF and CloudFront of the performance design', () => {
    const p = preview(PERFORMANCE);
    expect(cfnOf(p, 'AWS::RDS::DBCluster')[0].Properties).toMatchObject({ Engine: 'aurora-mysql', ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 } });
    expect(cfnOf(p, 'AWS::RDS::DBInstance').map((i) => i.Properties.AvailabilityZone)).toEqual(['us-west-2a']);
    expect(cfnOf(p, 'AWS::WAFv2::WebACL')[0].Properties.Scope).toBe('REGIONAL');
    expect(cfnOf(p, 'AWS::CloudFront::Distribution')[0].Properties.DistributionConfig.Origins[0].DomainName).toEqual({ 'Fn::GetAtt': ['LoadBalancer', 'DNSName'] });
    expect(cfnOf(p, 'AWS::AutoScaling::AutoScalingGroup')[0].Properties.DesiredCapacity).toBe('20');
  });
});

describe('design preview: determinism', () => {
  it('gives the same model and text for the same design, whatever the key order', () => {
    const a = preview(PERFORMANCE);
    const reordered = Object.fromEntries(Object.entries(PERFORMANCE).reverse());
    expect(preview(reordered)).toEqual(a);
    expect(JSON.stringify(preview(PERFORMANCE))).toBe(JSON.stringify(a));
  });

  it('changes the text when the design changes', () => {
    expect(preview({ ...STANDARD, nodeCount: 4 }).terraform).not.toBe(preview(STANDARD).terraform);
    expect(preview(STANDARD, 'other').cloudFormation).not.toBe(preview(STANDARD).cloudFormation);
  });
});

describe('design preview: hostile input', () => {
  const HOSTILE = [
    'x" }\nresource "aws_iam_user" "pwn" {\n  name = "${file("/etc/passwd")}"\n}\n#',
    '%{ for x in y }\\"\u0000\u001b[31m\u2028\u2029\u202e\u0085',
    "Ops: team\n- Key: Injected\n  Value: yes # comment &anchor *alias !tag",
    '\uD83D\uDE80 운영팀 ${var.x} $${literal}',
  ];

  it('refuses a hostile service name as provisioning does', () => {
    for (const name of HOSTILE) {
      expect(refusal(() => preview(MINIMAL, name)).map((i) => i.loc.join('.'))).toEqual(['body.serviceName']);
    }
  });

  it('keeps a hostile owner inside one string of each text', () => {
    for (const owner of HOSTILE) {
      const p = preview({ ...STANDARD, owner, waf: true, cdn: true });
      const tag = tagValue(owner);
      const scan = scanHcl(p.terraform); // throws on any unbalanced bracket, raw newline or template sequence
      expect(scan.resources.map(([t]) => t)).not.toContain('aws_iam_user');
      expect(scan.topLevelBlocks.every((b) => /^(terraform|provider "aws"|data "aws_ssm_parameter" "ami"|resource "[a-z0-9_]+" "[a-z0-9_]+"|output "[a-z_]+")$/.test(b))).toBe(true);
      if (tag) expect(scan.strings).toContain(tag);
      const template = cfn(p);
      const vpcTags = template.Resources.Vpc.Properties.Tags as { Key: string; Value: string }[];
      expect(vpcTags.map((t) => t.Key)).toEqual(tag ? ['Name', 'Service', 'Environment', 'Owner', 'ManagedBy'] : ['Name', 'Service', 'Environment', 'ManagedBy']);
      if (tag) expect(vpcTags[3].Value).toBe(tag);
      expect(Object.keys(template)).toEqual(['AWSTemplateFormatVersion', 'Description', 'Parameters', 'Resources', 'Outputs']);
      expect(p.terraform + p.cloudFormation).not.toMatch(/[^\x20-\x7e\n]/);
    }
  });

  it('tag values keep only the characters AWS accepts in tags', () => {
    expect(tagValue('DevOps-Team')).toBe('DevOps-Team');
    expect(tagValue('운영팀 (Seoul)')).toBe('운영팀 Seoul');
    expect(tagValue('a"b${c}\nd')).toBe('a b c d');
    expect(tagValue('  ')).toBeNull();
    expect(tagValue(7)).toBeNull();
    expect(Array.from(tagValue('가'.repeat(300)) ?? '')).toHaveLength(256);
  });

  it('hclString and yamlString round-trip any text and never leave a quote, newline or template sequence open', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        const hcl = hclString(text);
        expect(hcl).toMatch(/^"[\x20-\x7e]*"$/);
        expect(scanHcl(`x = ${hcl}\n`).strings).toEqual([text]);
        const yaml = yamlString(text);
        expect(yaml).toMatch(/^"[\x20-\x7e]*"$/);
        expect(parseYaml(`v: ${yaml}\n`)).toEqual({ v: text });
      }),
      { numRuns: 500 },
    );
    for (const text of HOSTILE) {
      expect(scanHcl(`x = ${hclString(text)}\n`).strings).toEqual([text]);
      expect(parseYaml(`v: ${yamlString(text)}\n`)).toEqual({ v: text });
    }
    expect(hclString('${a} %{b} $x %y')).toBe('"$${a} %%{b} $x %y"');
  });

  it('slugs are DNS labels and AWS names stay within their limits and distinct', () => {
    for (const text of [...HOSTILE, 'Café Résumé', '---', '', 'A'.repeat(100)]) {
      expect(slugify(text, 'my-service')).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
    }
    expect(slugify('Café Résumé', 'x')).toBe('cafe-resume');
    expect(slugify('a--b', 'x')).toBe('a-b');
    const long1 = `${'a'.repeat(40)}-one`;
    const long2 = `${'a'.repeat(40)}-two`;
    const alb1 = resourceName(long1, 'alb', 32);
    expect(alb1.length).toBeLessThanOrEqual(32);
    expect(alb1).toMatch(/^[a-z0-9-]+-alb$/);
    expect(alb1).not.toBe(resourceName(long2, 'alb', 32));
    expect(resourceName('7eleven', 'db', 63, true)).toBe('svc-7eleven-db');
    const p = preview(STANDARD, `${'7'.repeat(58)}-abc`);
    expect(p.topology.loadBalancer.name.length).toBeLessThanOrEqual(32);
    expect(hclAttr(p.terraform, 'resource "aws_db_instance" "main"', 'identifier')).toMatch(/^"svc-7+-[0-9a-f]{4}-db"$/);
    expect(p.topology.redis?.name).toMatch(/^svc-7+-[0-9a-f]{4}-redis$/);
    expect(p.topology.redis!.name.length).toBeLessThanOrEqual(40);
  });
});

describe('catalog: pricing and design sections', () => {
  it('refuses a catalog without a price for an engine, or with fewer than two zones', () => {
    const noPrice = structuredClone(catalog) as any;
    delete noPrice.pricing.dbEngines.aurora;
    expect(() => validateCatalog(noPrice)).toThrow('catalog.pricing.dbEngines.aurora');
    const oneZone = structuredClone(catalog);
    oneZone.pricing.availabilityZones = 1;
    expect(() => validateCatalog(oneZone)).toThrow('availabilityZones');
    const negative = structuredClone(catalog);
    negative.pricing.wafMonthlyUsd = -1;
    expect(() => validateCatalog(negative)).toThrow('wafMonthlyUsd');
    const fewLetters = structuredClone(catalog);
    fewLetters.design.zoneSuffixes['us-east-1'] = ['a'];
    expect(() => validateCatalog(fewLetters)).toThrow('us-east-1');
  });

  it('gives a catalog file written before the preview the built-in prices', () => {
    const old = structuredClone(catalog) as any;
    delete old.pricing;
    delete old.design;
    const file = join(mkdtempSync(join(tmpdir(), 'hcmp-cat-')), 'catalog.json');
    writeFileSync(file, JSON.stringify(old));
    const loaded = loadCatalog(file);
    expect(loaded.pricing).toEqual(catalog.pricing);
    expect(preview(MINIMAL, 'x', loaded).totalMonthlyUsd).toBe(115);
  });
});
