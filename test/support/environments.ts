/**
 * The project most environment tests need: service "web" (the fixture app) and two environments,
 * staging (the default, on the project's port) and production (web on a port of its own). Each
 * test says only what its environments add; the rest is the same everywhere.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TestProject } from './project.js';

export interface TwoEnvironments {
  /** The port of web in production. */
  production: number;
  /** Keys of service web over the defaults (1 instance, the fixture's health check, stopTimeout 5s). */
  web?: Record<string, unknown>;
  /** Keys of environment staging. @default none */
  staging?: Record<string, unknown>;
  /** Keys of environment production, beside its `services.web.port`. */
  productionKeys?: Record<string, unknown>;
  /** Keys of web in production, beside its port. */
  productionWeb?: Record<string, unknown>;
  /** More services, beside web. */
  services?: Record<string, unknown>;
  /** `default: staging` at the top. @default true */
  defaultEnv?: boolean;
  /** More top-level keys (policies, …). */
  top?: Record<string, unknown>;
}

/** The health check the fixture app answers (test/fixtures/app), quick enough for tests. */
export const FIXTURE_HEALTH = { path: '/healthz', interval: '200ms', timeout: '1s', healthyAfter: 1, unhealthyAfter: 2 };

/** Writes slipway.yaml with web in staging (the default) and production. The project's port must be set. */
export function writeTwoEnvironments(p: TestProject, o: TwoEnvironments): void {
  if (p.port === 0) throw new Error('writeTwoEnvironments: give the project a port first (p.port = await freePort())');
  const config = {
    app: 'test',
    ...(o.defaultEnv === false ? {} : { default: 'staging' }),
    services: {
      web: { source: './app', start: 'node server.js', instances: 1, port: p.port, health: FIXTURE_HEALTH, stopTimeout: '5s', ...o.web },
      ...o.services,
    },
    environments: {
      staging: o.staging ?? {},
      production: { ...o.productionKeys, services: { web: { port: o.production, ...o.productionWeb } } },
    },
    ...o.top,
  };
  writeFileSync(join(p.dir, 'slipway.yaml'), stringify(config));
}
