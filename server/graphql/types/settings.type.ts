import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('DatabaseStatus', { simpleResolvers: true })
export class DatabaseStatusType {
  @Field(() => String, { description: 'sqlite or postgresql' }) backend!: string;
  @Field(() => Boolean, { description: 'PostgreSQL was configured but unreachable, so SQLite is in use' }) fellBack!: boolean;
}

@ObjectType('PublicSettings', { simpleResolvers: true })
export class PublicSettingsType {
  @Field(() => String) systemNotice!: string;
  @Field(() => Boolean) maintenanceMode!: boolean;
  @Field(() => String) siteName!: string;
  @Field(() => [String]) infrastructures!: string[];
  @Field(() => DatabaseStatusType) database!: DatabaseStatusType;
}

@ObjectType('Template', { simpleResolvers: true, description: 'A vSphere service template (the original TEMPLATE_MAP)' })
export class TemplateType {
  @Field(() => String) name!: string;
  @Field(() => String) label!: string;
  @Field(() => Int) hostCount!: number;
  @Field(() => [String]) roles!: string[];
}

@ObjectType('Catalog', { simpleResolvers: true, description: 'Every choice the consoles offer, from configuration' })
export class CatalogType {
  @Field(() => [TemplateType]) templates!: TemplateType[];
  @Field(() => [String]) packages!: string[];
  @Field(() => GraphQLJSONObject) environments!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject) traffic!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject) instanceTiers!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject) dbEngines!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject) regions!: Record<string, unknown>;
  @Field(() => [String]) mockSteps!: string[];
}
