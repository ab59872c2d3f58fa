/**
 * The design preview over HTTP (issue 4): GraphQL `designPreview` and REST
 * `POST /api/design/preview` answer the same model, refuse bad designs the same way, need no
 * login, and accept exactly the designs `POST /api/provision` accepts.
 */
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complexityError } from '../../server/graphql/limits.js';
import { buildGraphQLSchema } from '../../server/graphql/schema.js';
import { snakeKeys } from '../../server/rest/design-routes.js';
import { backendsFor } from '../helpers/backends.js';
import { startTestServer, waitForFinalStatus, type TestServer } from '../helpers/server.js';

const PREVIEW = `query($config: JSONObject!, $name: String) {
  designPreview(config: $config, serviceName: $name) {
    serviceName slug environment region instanceType nodeCount currency totalMonthlyUsd pricingNote terraform cloudFormation
    costLines { key label quantity unitMonthlyUsd monthlyUsd }
    topology {
      region regionLabel vpcCidr waf cdn
      loadBalancer { name scheme zones }
      zones { name publicSubnetCidr privateSubnetCidr natGateway appNodes { name instanceType } }
      database { engine label instanceClass multiAz primaryZone replicaZone storageGb }
      redis { name zone nodeType }
    }
    warnings { code message }
  }
}`;

const DESIGNS: Record<string, Record<string, unknown>> = {
  minimal: { instanceType: 't3.micro', nodeCount: 1 },
  standard: { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', dbMultiAZ: true, dbSize: 100, redis: true, waf: false, cdn: false },
  performance: { instanceType: 'c5.xlarge', nodeCount: 20, dbEngine: 'aurora', dbMultiAZ: false, dbSize: 500, waf: true, cdn: true, region: 'us-west-2', environment: 'Production' },
  console: { instanceType: 't3.micro', instanceCost: 25, nodeCount: 2, dbEngine: 'mysql', dbMultiAZ: true, dbSize: 50, redis: false, waf: false, cdn: false, environment: 'dev', owner: 'DevOps-Team' },
};
const TOTALS: Record<string, number> = { minimal: 115, standard: 534, performance: 3690, console: 50 + 20 + 70 + 100 + 12 };

const locs = (issues: { loc: (string | number)[] }[]) => issues.map((i) => i.loc.join('.'));

for (const backend of await backendsFor('design preview')) {
  describe(`design preview over GraphQL and REST (${backend})`, () => {
    let server: TestServer;
    let token: string;

    const gqlPreview = (config: unknown, name?: string | null, auth?: string) => server.gql(PREVIEW, { config, name }, auth);
    const restPreview = (body: unknown, auth?: string) => server.request('POST', '/api/design/preview', { body, token: auth });

    beforeAll(async () => {
      server = await startTestServer({ backend });
      token = await server.createUser('designer');
    });
    afterAll(() => server?.close());

    for (const [name, config] of Object.entries(DESIGNS)) {
      it(`answers the same model over GraphQL and REST, without a login: ${name}`, async () => {
        const gql = await gqlPreview(config, `${name}-svc`);
        expect(gql.errors).toBeUndefined();
        const model = gql.data.designPreview;
        expect(model.totalMonthlyUsd).toBe(TOTALS[name]);
        expect(model.costLines.reduce((s: number, l: any) => s + l.monthlyUsd, 0)).toBeCloseTo(TOTALS[name], 2);

        const rest = await restPreview({ config, serviceName: `${name}-svc` });
        expect(rest.status).toBe(200);
        expect(rest.body).toEqual(snakeKeys(model));
        expect(rest.body.total_monthly_usd).toBe(TOTALS[name]);
        expect(Object.keys(rest.body.cost_lines[0]).sort()).toEqual(['key', 'label', 'monthly_usd', 'quantity', 'unit_monthly_usd']);
        expect(rest.body.topology.zones[0]).toHaveProperty('app_nodes');
        expect(rest.body.cloud_formation).toBe(model.cloudFormation);

        // signed in, the answer is the same
        expect((await gqlPreview(config, `${name}-svc`, token)).data).toEqual(gql.data);
        expect((await restPreview({ config, serviceName: `${name}-svc` }, token)).body).toEqual(rest.body);
      });
    }

    it('uses the placeholder name when none is given yet', async () => {
      const gql = await gqlPreview(DESIGNS.minimal, null);
      expect(gql.data.designPreview.serviceName).toBe('my-service');
      const rest = await restPreview({ config: DESIGNS.minimal });
      expect([rest.status, rest.body.service_name]).toEqual([200, 'my-service']);
      expect(rest.body.warnings.map((w: any) => w.code)).toContain('placeholder-service-name');
    });

    it('refuses a bad design with BAD_USER_INPUT / 422 and the location of every issue', async () => {
      const bad = { instanceType: 'm5.large', nodeCount: 0, dbEngine: 'oracle', dbSize: 5000 };
      const expected = ['body.config.nodeCount', 'body.config.dbEngine', 'body.config.dbSize'];

      const gql = await gqlPreview(bad, 'shop');
      expect(gql.data ?? null).toBeNull();
      expect(gql.errors).toHaveLength(1);
      expect(gql.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(gql.errors![0].path).toEqual(['designPreview']);
      expect(locs(gql.errors![0].extensions.issues)).toEqual(expected);

      const rest = await restPreview({ config: bad, serviceName: 'shop' });
      expect(rest.status).toBe(422);
      expect(locs(rest.body.detail)).toEqual(expected);
      expect(rest.body.detail).toEqual(gql.errors![0].extensions.issues);
    });

    it('refuses a bad name, a template order, a missing design and a body that is not an object', async () => {
      const name = await restPreview({ config: DESIGNS.minimal, serviceName: 'Bad Name"}' });
      expect([name.status, locs(name.body.detail)]).toEqual([422, ['body.serviceName']]);
      const gqlName = await gqlPreview(DESIGNS.minimal, 'Bad Name"}');
      expect(locs(gqlName.errors![0].extensions.issues)).toEqual(['body.serviceName']);

      const template = await restPreview({ config: { template: 'standard' } });
      expect([template.status, locs(template.body.detail)]).toEqual([422, ['body.config.template']]);
      const missing = await restPreview({});
      expect([missing.status, missing.body.detail]).toEqual([422, [{ loc: ['body', 'config', 'instanceType'], msg: 'Field required', type: 'missing' }]]);
      const notDict = await restPreview({ config: 'x' });
      expect([notDict.status, locs(notDict.body.detail)]).toEqual([422, ['body.config']]);
      const notObject = await restPreview([1, 2]);
      expect([notObject.status, locs(notObject.body.detail)]).toEqual([422, ['body']]);
      const notJson = await server.request('POST', '/api/design/preview', { raw: '{"config":' });
      expect(notJson.status).toBe(422);
      // GraphQL's own type check: config must be an object
      const scalar = await server.gql('{ designPreview(config: 5) { totalMonthlyUsd } }');
      expect(scalar.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('accepts exactly the designs POST /api/provision accepts, with the same issues', async () => {
      const cases: Record<string, unknown>[] = [
        { instanceType: 't3.micro' },
        { instanceType: 'm5.large', nodeCount: 2, dbEngine: 'postgres', dbMultiAZ: true, dbSize: 1000, redis: true, region: 'eu-central-1', environment: 'Staging' },
        { instanceType: 'c5.xlarge', nodeCount: 3, dbEngine: 'aurora', waf: true, cdn: true, environment: 'prod', owner: 'Platform' },
        { instanceType: 'c5.xlarge', nodeCount: 21 },
        { instanceType: 't3.small' },
        { nodeCount: 2, dbEngine: 'mysql' },
        { instanceType: 't3.micro', dbSize: 19 },
        { instanceType: 't3.micro', cdn: 'true' },
        { instanceType: 't3.micro', region: 'mars-1', environment: 'qa' },
      ];
      let accepted = 0;
      for (const [i, config] of cases.entries()) {
        const serviceName = `agree-${i}`;
        const order = await server.request('POST', '/api/provision', { token, body: { serviceName, config } });
        const preview = await restPreview({ serviceName, config });
        const label = JSON.stringify(config);
        expect([preview.status === 200, preview.status], label).toEqual([order.status === 200, order.status]);
        if (order.status === 200) {
          accepted += 1;
          expect((await waitForFinalStatus(server, order.body.project_id, token)).status, label).toBe('COMPLETED');
          expect(preview.body.node_count).toBe(config.nodeCount ?? 1);
        } else {
          expect(preview.body.detail, label).toEqual(order.body.detail);
        }
      }
      expect(accepted).toBe(3);
    });

    it('counts toward the complexity limit', async () => {
      const schema = await buildGraphQLSchema();
      const doc = parse(PREVIEW);
      expect(complexityError(schema, doc, 5000, { config: {} })).toBeUndefined();
      expect(complexityError(schema, doc, 40, { config: {} })?.message).toMatch(/complexity/);
      expect(complexityError(schema, parse('{ designPreview(config: {}) { slug } }'), 21, {})).toBeUndefined();
      expect(complexityError(schema, parse('{ designPreview(config: {}) { slug } }'), 20, {})?.message).toMatch(/complexity 21/);
    });
  });
}
