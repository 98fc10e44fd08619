/** A real controller with the shared flag vectors' flags, for the OFREP and provider tests. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestProject, freePort } from '../support/project.js';
import type { ControllerFile } from '../../src/controller/paths.js';
import { loadFlagVectors, type FlagVectors } from '../../src/flags/vectors.js';

export interface FlagProject {
  project: TestProject;
  info: ControllerFile;
  vectors: FlagVectors;
  base: string;
  headers: Record<string, string>;
}

/**
 * Writes slipway.yaml (one service; environments staging and production, the default) with the
 * vectors' flags, and starts the controller (`slipway flags list`).
 */
export async function startFlagProject(): Promise<FlagProject> {
  const vectors = loadFlagVectors();
  const project = new TestProject();
  await project.writeConfig({ instances: 1 });
  const staging = await freePort();
  const config = readFileSync(join(project.dir, 'slipway.yaml'), 'utf8');
  writeFileSync(
    join(project.dir, 'slipway.yaml'),
    `${config}
environments:
  staging: { services: { web: { port: ${staging} } } }
  production: {}
default: ${vectors.environment}
${stringify({ flags: vectors.rawFlags })}`,
  );
  const r = await project.cli(['flags', 'list']);
  if (r.code !== 0) throw new Error(`slipway flags list: ${r.stderr}`);
  const info = project.controllerInfo();
  return { project, info, vectors, base: `http://127.0.0.1:${info.port}`, headers: { authorization: `Bearer ${info.token}` } };
}
