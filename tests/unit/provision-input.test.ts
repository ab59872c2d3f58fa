import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../server/config/catalog.js';
import { DomainError } from '../../server/services/errors.js';
import { parseProvisionInput, specFromDetails } from '../../server/services/provision-input.js';

const catalog = loadCatalog();
const parse = (body: unknown) => parseProvisionInput(body, catalog, 'kim');

function issuesOf(body: unknown): { loc: (string | number)[]; type: string }[] {
  try {
    parse(body);
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('BAD_USER_INPUT');
    return (err as DomainError).issues;
  }
  throw new Error('expected the input to be refused');
}

describe('provision input', () => {
  it("understands the original console's AWS design: no userName, empty targetInfra, extra keys kept", () => {
    const spec = parse({
      serviceName: 'core-payment-api',
      config: { instanceType: 't3.micro', instanceCost: 25, nodeCount: 2, dbEngine: 'mysql', dbMultiAZ: true, dbSize: 50, redis: false, waf: false, cdn: false },
      targetInfra: {},
    });
    expect(spec.kind).toBe('aws-design');
    expect(spec.hostCount).toBe(2);
    expect(spec.userName).toBe('kim');
    expect(spec.infra).toEqual({ type: 'aws' });
    expect(spec.config.instanceCost).toBe(25);
    expect(spec.input.targetInfra).toEqual({});
  });

  it('defaults a template order to single and counts hosts from the template', () => {
    expect(parse({ serviceName: 'a' }).hostCount).toBe(1);
    expect(parse({ serviceName: 'a' }).config.template).toBe('single');
    expect(parse({ serviceName: 'a', config: { template: 'standard' } }).hostCount).toBe(3);
    expect(parse({ serviceName: 'a', config: { template: 'enterprise' } }).hostCount).toBe(5);
    expect(parse({ serviceName: 'a', config: { template: 'k8s_small' } }).hostCount).toBe(3);
  });

  it('takes a bare infrastructure string', () => {
    expect(parse({ serviceName: 'a', targetInfra: 'vsphere' }).infra).toEqual({ type: 'vsphere' });
    expect(parse({ serviceName: 'a', targetInfra: { type: 'aws', region: 'us-east-1' } }).infra).toEqual({ type: 'aws', region: 'us-east-1' });
  });

  it('accepts an environment label in a design', () => {
    expect(parse({ serviceName: 'a', config: { instanceType: 'm5.large', environment: 'Production' } }).config.environment).toBe('prod');
  });

  it.each([
    ['Upper', 'string_pattern_mismatch'],
    ['-lead', 'string_pattern_mismatch'],
    ['trail-', 'string_pattern_mismatch'],
    ['under_score', 'string_pattern_mismatch'],
    ['a'.repeat(64), 'string_length'],
    ['', 'string_length'],
    [42, 'string_type'],
  ])('refuses the service name %j', (name, type) => {
    expect(issuesOf({ serviceName: name })).toEqual([expect.objectContaining({ loc: ['body', 'serviceName'], type })]);
  });

  it('accepts 63 characters and single characters', () => {
    expect(parse({ serviceName: 'a'.repeat(63) }).serviceName).toHaveLength(63);
    expect(parse({ serviceName: '7' }).serviceName).toBe('7');
  });

  it('lists every problem of a bad order, each with its location', () => {
    const issues = issuesOf({
      config: { template: 'huge', packages: ['nginx', 'cobol', 'nginx'], environment: 'qa', traffic: 'extreme', mockFailAt: 'nowhere' },
      targetInfra: { type: 'gcp' },
    });
    expect(issues.map((i) => i.loc)).toEqual([
      ['body', 'serviceName'],
      ['body', 'config', 'template'],
      ['body', 'config', 'packages', 1],
      ['body', 'config', 'packages', 2],
      ['body', 'config', 'environment'],
      ['body', 'config', 'traffic'],
      ['body', 'config', 'mockFailAt'],
      ['body', 'targetInfra', 'type'],
    ]);
  });

  it('checks an AWS design against the catalog limits', () => {
    const locs = (config: object) => issuesOf({ serviceName: 'a', config }).map((i) => i.loc.join('.'));
    expect(locs({ instanceType: 'x1.huge' })).toEqual(['body.config.instanceType']);
    expect(locs({ instanceType: 't3.micro', nodeCount: 0 })).toEqual(['body.config.nodeCount']);
    expect(locs({ instanceType: 't3.micro', nodeCount: 21 })).toEqual(['body.config.nodeCount']);
    expect(locs({ instanceType: 't3.micro', nodeCount: 2.5 })).toEqual(['body.config.nodeCount']);
    expect(locs({ instanceType: 't3.micro', dbSize: 19 })).toEqual(['body.config.dbSize']);
    expect(locs({ instanceType: 't3.micro', dbSize: 1001 })).toEqual(['body.config.dbSize']);
    expect(locs({ instanceType: 't3.micro', dbEngine: 'oracle' })).toEqual(['body.config.dbEngine']);
    expect(locs({ instanceType: 't3.micro', redis: 'yes' })).toEqual(['body.config.redis']);
    expect(locs({ nodeCount: 2 })).toEqual(['body.config.instanceType']);
    expect(locs({ instanceType: 't3.micro', region: 'mars-1' })).toEqual(['body.config.region']);
  });

  it('refuses bodies and parts of the wrong type', () => {
    expect(issuesOf([]).map((i) => i.type)).toEqual(['model_type']);
    expect(issuesOf(null).map((i) => i.type)).toEqual(['model_type']);
    expect(issuesOf({ serviceName: 'a', config: [] }).map((i) => i.loc)).toEqual([['body', 'config']]);
    expect(issuesOf({ serviceName: 'a', targetInfra: 7 }).map((i) => i.loc)).toEqual([['body', 'targetInfra']]);
    expect(issuesOf({ serviceName: 'a', userName: 5 }).map((i) => i.loc)).toEqual([['body', 'userName']]);
  });

  it('rebuilds the same spec from the stored details', () => {
    const spec = parse({ serviceName: 'shop', config: { template: 'standard', packages: ['nginx'], mockFailAt: 'db' }, targetInfra: 'vsphere' });
    const again = specFromDetails({ input: spec.input, config: spec.config, infra: spec.infra }, 'kim', catalog);
    expect(again).toEqual(spec);
  });
});
