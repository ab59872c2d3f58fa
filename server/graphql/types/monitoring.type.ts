import { Field, ObjectType } from 'type-graphql';

@ObjectType('MonitoringStatus', { simpleResolvers: true, description: 'Whether host metrics (Prometheus) are configured and answering' })
export class MonitoringStatusType {
  @Field(() => Boolean, { description: 'PROMETHEUS_URL is set' })
  metricsConfigured!: boolean;

  @Field(() => Boolean, { nullable: true, description: 'The metrics source answered just now (null when not configured)' })
  metricsReachable!: boolean | null;

  @Field(() => String, { nullable: true, description: 'Why the last query failed, when it did' })
  lastError!: string | null;
}
