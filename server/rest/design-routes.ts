/**
 * `POST /api/design/preview`: the REST twin of the `designPreview` query. Body
 * `{config, serviceName?}`; answers the same model (server/services/design/) with snake_case
 * keys, or 422 with the same issues `POST /api/provision` gives for the same design. No login
 * needed: it reads and writes no data.
 */
import type { FastifyInstance } from 'fastify';
import { designPreview, type DesignPreview } from '../services/design/index.js';
import { invalidInput } from '../services/errors.js';
import type { Services } from '../services/index.js';
import { designPreviewSchema, type DESIGN_PREVIEW } from './schemas/design.schema.js';
import type { SchemaTypeProvider, Static } from './schemas/static.js';

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Renames every object key to snake_case (the keys are the model's own, never user text). */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), snakeKeys(v)]));
}

export function designPreviewShape(preview: DesignPreview) {
  return snakeKeys(preview) as Static<typeof DESIGN_PREVIEW>;
}

export function registerDesignRoutes(http: FastifyInstance, services: Services): void {
  const app = http.withTypeProvider<SchemaTypeProvider>();
  app.post('/api/design/preview', { schema: designPreviewSchema(services.catalog) }, async (request) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidInput([{ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'model_type' }]);
    }
    const { config, serviceName } = body as Record<string, unknown>;
    return designPreviewShape(designPreview(config, serviceName, services.catalog));
  });
}
