/** Schemas of the instance's own paths: readiness, liveness (health.ts) and metrics (observability/). */
import { errors, PUBLIC, SCRAPE } from './common.schema.js';

const HEALTH = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    database: {
      type: 'object',
      properties: {
        backend: { type: 'string', enum: ['sqlite', 'postgresql'] },
        fell_back: { type: 'boolean', description: 'Running on SQLite because DATABASE_URL could not be reached at start-up' },
        reason: { type: 'string', description: 'Why it fell back' },
        reachable: { type: 'boolean', description: 'Whether `select 1` answered within 2 s' },
        latency_ms: { type: 'number', description: 'When reachable' },
        error: { type: 'string', description: 'When unreachable: the driver\'s code or a short reason' },
      },
      required: ['backend', 'fell_back', 'reachable'],
    },
    runner: {
      type: 'object',
      additionalProperties: true,
      properties: { name: { type: 'string', examples: ['mock', 'ansible'] }, running: { type: 'integer', description: 'Jobs this instance runs' }, instance: { type: 'string' } },
      required: ['name'],
    },
  },
  required: ['status', 'database', 'runner'],
} as const;

export const HEALTHZ_SCHEMA = {
  tags: ['platform'],
  operationId: 'readiness',
  summary: 'Readiness',
  description: 'Asks the database `select 1` with a 2 s limit: 503 `degraded` while it does not answer, so a load balancer sends requests elsewhere.',
  security: PUBLIC,
  response: {
    200: { ...HEALTH, description: 'Ready' },
    ...errors(),
    503: { ...HEALTH, description: 'The database does not answer' },
  },
} as const;

export const LIVEZ_SCHEMA = {
  tags: ['platform'],
  operationId: 'liveness',
  summary: 'Liveness',
  description: '200 while the process answers at all, database or not.',
  security: PUBLIC,
  response: {
    200: {
      description: 'Alive',
      type: 'object',
      properties: { status: { type: 'string', const: 'ok' }, uptime_seconds: { type: 'integer' } },
      required: ['status', 'uptime_seconds'],
    },
    ...errors(),
  },
} as const;

export const METRICS_SCHEMA = {
  tags: ['platform'],
  operationId: 'metrics',
  summary: 'The instance\'s metrics (Prometheus text format)',
  description:
    'Process and Node.js defaults, `http_request_duration_seconds` (route template, method, status), `hcmp_provisions_total`, `hcmp_provision_duration_seconds`, `hcmp_runner_jobs`, `hcmp_pool_hosts`, `hcmp_graphql_subscriptions`, `hcmp_events_published_total`. Never waits for the database.',
  security: SCRAPE,
  response: {
    200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
    ...errors(401),
  },
} as const;
