/** The design as a CloudFormation template, one text per design, the same on every run. */
import type { Catalog } from '../../config/catalog.js';
import { ALL_METHODS, CACHE_POLICY_CACHING_DISABLED, DB_USER, ORIGIN_REQUEST_POLICY_ALL_VIEWER, maxSizeOf, namesOf, portOf } from './aws.js';
import type { Design, DesignTopology, Zone } from './model.js';
import { resourceName } from './names.js';
import { GetAtt, Ref, yamlLines, type Yaml } from './yaml.js';

export function cloudFormationOf(d: Design, zones: Zone[], topology: DesignTopology, catalog: Catalog): string {
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
