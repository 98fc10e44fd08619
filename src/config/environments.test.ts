import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlipwayError } from '../core/errors.js';
import { configForEnvironment, deployOrder, effectiveService, resolveEnvironmentName } from './environments.js';
import { parseConfigText } from './load.js';
import { problemsOf } from './config-testing.js';

const TWO = `app: shop
default: staging
services:
  api:
    source: ./api
    start: node api.js
    port: 7000
    env: { LOG_LEVEL: info, REGION: eu }
  web:
    source: ./web
    start: node web.js
    port: 8000
    instances: 2
    env: { LOG_LEVEL: info }
    dependsOn: [api]
environments:
  staging:
    services:
      api: { port: 9070 }
      web: { port: 9080, instances: 1 }
  production:
    requires: [staging]
    env: { LOG_LEVEL: warn }
    stopTimeout: 10s
    services:
      web: { env: { LOG_LEVEL: error }, health: { path: /healthz } }
`;

describe('environment layering', () => {
  const { config } = parseConfigText(TWO, 'slipway.yaml', { dir: '/app' });

  test('default < service < environment < service in environment, env merged by variable', () => {
    const web = effectiveService(config, 'production', 'web');
    assert.equal(web.spec.port, 8000);
    assert.equal(web.sources.port, 'service');
    assert.equal(web.spec.instances, 2);
    assert.equal(web.spec.stopTimeout, 10_000);
    assert.equal(web.sources.stopTimeout, 'environment');
    assert.equal(web.spec.progressDeadline, 300_000);
    assert.equal(web.sources.progressDeadline, 'default');
    assert.deepEqual(web.spec.env, { LOG_LEVEL: 'error' });
    assert.equal(web.sources['env.LOG_LEVEL'], 'service in environment');
    assert.equal(web.spec.health.path, '/healthz');
    assert.equal(web.sources.health, 'service in environment');
    const api = effectiveService(config, 'production', 'api');
    assert.deepEqual(api.spec.env, { LOG_LEVEL: 'warn', REGION: 'eu' });
    assert.equal(api.sources['env.LOG_LEVEL'], 'environment');
    assert.equal(api.sources['env.REGION'], 'service');
    assert.equal(api.spec.stopTimeout, 10_000);
  });

  test('an environment default never overrides what a service wrote', () => {
    const staging = effectiveService(config, 'staging', 'web');
    assert.equal(staging.spec.port, 9080);
    assert.equal(staging.spec.instances, 1);
    assert.equal(staging.spec.stopTimeout, 30_000);
    assert.deepEqual(staging.spec.env, { LOG_LEVEL: 'info' });
    assert.equal('dependsOn' in staging.spec, false, 'dependsOn is ordering, not part of a release spec');
    assert.equal(configForEnvironment(config, 'staging').services.api!.port, 9070);
  });

  test('the environment of a command: --env, else default:, else the only one; unknown names get a suggestion', () => {
    assert.equal(resolveEnvironmentName(config, undefined), 'staging');
    assert.equal(resolveEnvironmentName(config, 'production'), 'production');
    assert.throws(
      () => resolveEnvironmentName(config, 'prodution'),
      (e: SlipwayError) => {
        assert.equal(e.code, 'ENVIRONMENT_NOT_FOUND');
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /did you mean "production"/);
        return true;
      },
    );
    const noDefault = parseConfigText(TWO.replace('default: staging\n', ''), 'slipway.yaml', { dir: '/app' }).config;
    assert.throws(
      () => resolveEnvironmentName(noDefault, undefined),
      (e: SlipwayError) => {
        assert.equal(e.code, 'ENVIRONMENT_REQUIRED');
        assert.match(e.message, /staging, production/);
        return true;
      },
    );
    const single = parseConfigText(TWO.replace(/environments:[\s\S]*/, '').replace('default: staging\n', ''), 'x', { dir: '/a' }).config;
    assert.equal(resolveEnvironmentName(single, undefined), 'local');
  });

  test('deploy order puts dependencies first', () => {
    assert.deepEqual(deployOrder(config, ['web', 'api']), ['api', 'web']);
  });
});

describe('environment config errors', () => {
  test('an override of a service that does not exist, with its position', () => {
    const problems = problemsOf(TWO.replace('      api: { port: 9070 }', '      apo: { port: 9070 }'));
    const p = problems.find((x) => x.path === 'environments.staging.services.apo');
    assert.ok(p, JSON.stringify(problems));
    assert.match(p.message, /no service named "apo" \(did you mean "api"\?\)/);
    assert.equal(p.line, 19);
    assert.equal(p.column, 7);
  });

  test('two environments claiming one host:port', () => {
    const problems = problemsOf(TWO.replace('web: { port: 9080, instances: 1 }', 'web: { port: 8000, instances: 1 }'));
    const p = problems.find((x) => /port 8000/.test(x.message));
    assert.ok(p, JSON.stringify(problems));
    assert.match(p.message, /service "web" in environment "(staging|production)"/);
    assert.ok(p.line > 0 && p.column > 0);
  });

  test('dependsOn: unknown names and cycles, located', () => {
    const unknown = problemsOf(TWO.replace('dependsOn: [api]', 'dependsOn: [apj]'));
    assert.match(unknown.find((x) => x.path === 'services.web.dependsOn[0]')!.message, /did you mean "api"/);
    const cycle = problemsOf(
      TWO.replace('env: { LOG_LEVEL: info, REGION: eu }', 'env: { LOG_LEVEL: info, REGION: eu }\n    dependsOn: [web]'),
    );
    const p = cycle.find((x) => /dependency cycle/.test(x.message));
    assert.ok(p, JSON.stringify(cycle));
    assert.match(p.message, /(api → web → api|web → api → web)/);
    assert.match(p.path, /^services\.(api|web)\.dependsOn\[0\]$/);
  });

  test('default and requires must name environments', () => {
    const problems = problemsOf(TWO.replace('default: staging', 'default: stagign').replace('requires: [staging]', 'requires: [qa]'));
    assert.match(problems.find((x) => x.path === 'default')!.message, /did you mean "staging"/);
    assert.match(problems.find((x) => x.path === 'environments.production.requires[0]')!.message, /no environment named "qa"/);
  });

  test("an environment's strategy names analysis checks that must exist", () => {
    const problems = problemsOf(
      TWO.replace(
        'web: { env: { LOG_LEVEL: error }, health: { path: /healthz } }',
        'web: { strategy: { canary: { steps: [{ analysis: [erors] }] } } }',
      ),
    );
    const p = problems.find((x) => x.path === 'environments.production.services.web.strategy.canary.steps[0].analysis[0]');
    assert.ok(p, JSON.stringify(problems));
    assert.match(p.message, /no analysis check named "erors"/);
  });

  test('an environment cannot change what is built', () => {
    const problems = problemsOf(TWO.replace('web: { port: 9080, instances: 1 }', 'web: { port: 9080, build: make }'));
    assert.ok(
      problems.some((x) => x.path.startsWith('environments.staging.services.web')),
      JSON.stringify(problems),
    );
  });
});
