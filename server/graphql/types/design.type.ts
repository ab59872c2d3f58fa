import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType('DesignCostLine', { simpleResolvers: true, description: 'One line of the estimate (USD per month)' })
export class DesignCostLineType {
  @Field(() => String, { description: 'compute, load-balancer, nat-gateway, database, database-storage, redis, waf or cdn' }) key!: string;
  @Field(() => String) label!: string;
  @Field(() => Int, { description: 'Nodes, gateways, GB, or 1' }) quantity!: number;
  @Field(() => Float) unitMonthlyUsd!: number;
  @Field(() => Float, { description: 'quantity × unitMonthlyUsd, rounded to cents' }) monthlyUsd!: number;
}

@ObjectType('DesignAppNode', { simpleResolvers: true })
export class DesignAppNodeType {
  @Field(() => String) name!: string;
  @Field(() => String) instanceType!: string;
}

@ObjectType('DesignZone', { simpleResolvers: true, description: 'One Availability Zone column of the topology' })
export class DesignZoneType {
  @Field(() => String, { description: 'e.g. ap-northeast-2a' }) name!: string;
  @Field(() => String) publicSubnetCidr!: string;
  @Field(() => String) privateSubnetCidr!: string;
  @Field(() => Boolean) natGateway!: boolean;
  @Field(() => [DesignAppNodeType], { description: 'App nodes spread round-robin over the zones' }) appNodes!: DesignAppNodeType[];
}

@ObjectType('DesignLoadBalancer', { simpleResolvers: true })
export class DesignLoadBalancerType {
  @Field(() => String) name!: string;
  @Field(() => String) scheme!: string;
  @Field(() => [String]) zones!: string[];
}

@ObjectType('DesignDatabase', { simpleResolvers: true })
export class DesignDatabaseType {
  @Field(() => String, { description: 'mysql, postgres or aurora' }) engine!: string;
  @Field(() => String) label!: string;
  @Field(() => String) instanceClass!: string;
  @Field(() => Boolean) multiAz!: boolean;
  @Field(() => String) primaryZone!: string;
  @Field(() => String, { nullable: true, description: 'Standby (RDS) or reader (Aurora); null without Multi-AZ' }) replicaZone!: string | null;
  @Field(() => Int) storageGb!: number;
}

@ObjectType('DesignRedis', { simpleResolvers: true })
export class DesignRedisType {
  @Field(() => String) name!: string;
  @Field(() => String) zone!: string;
  @Field(() => String) nodeType!: string;
}

@ObjectType('DesignTopology', { simpleResolvers: true })
export class DesignTopologyType {
  @Field(() => String) region!: string;
  @Field(() => String) regionLabel!: string;
  @Field(() => String) vpcCidr!: string;
  @Field(() => DesignLoadBalancerType) loadBalancer!: DesignLoadBalancerType;
  @Field(() => [DesignZoneType]) zones!: DesignZoneType[];
  @Field(() => DesignDatabaseType, { nullable: true, description: 'Null when the design has no dbEngine' }) database!: DesignDatabaseType | null;
  @Field(() => DesignRedisType, { nullable: true }) redis!: DesignRedisType | null;
  @Field(() => Boolean) waf!: boolean;
  @Field(() => Boolean) cdn!: boolean;
}

@ObjectType('DesignWarning', { simpleResolvers: true })
export class DesignWarningType {
  @Field(() => String, { description: 'Stable code, for translations' }) code!: string;
  @Field(() => String) message!: string;
}

@ObjectType('DesignPreview', { simpleResolvers: true, description: 'Cost, topology and Terraform / CloudFormation of an AWS design (REST: POST /api/design/preview)' })
export class DesignPreviewType {
  @Field(() => String, { description: 'The given name, or the placeholder before one is typed' }) serviceName!: string;
  @Field(() => String, { description: 'DNS-safe stem of every resource name' }) slug!: string;
  @Field(() => String) environment!: string;
  @Field(() => String) region!: string;
  @Field(() => String) instanceType!: string;
  @Field(() => Int) nodeCount!: number;
  @Field(() => String) currency!: string;
  @Field(() => [DesignCostLineType]) costLines!: DesignCostLineType[];
  @Field(() => Float, { description: 'Sum of the lines, rounded to cents' }) totalMonthlyUsd!: number;
  @Field(() => String, { description: 'The prices are estimates from configuration, not AWS quotes' }) pricingNote!: string;
  @Field(() => DesignTopologyType) topology!: DesignTopologyType;
  @Field(() => String, { description: 'Terraform (HCL) text' }) terraform!: string;
  @Field(() => String, { description: 'CloudFormation template (YAML) text' }) cloudFormation!: string;
  @Field(() => [DesignWarningType]) warnings!: DesignWarningType[];
}
