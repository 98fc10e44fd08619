/**
 * Runs a controller with its API in this process (`slipway server`), writing
 * .slipway/controller.json once it listens so that CLIs can find it. A second controller for the
 * same project is refused by the project lock (CONTROLLER_RUNNING, exit 4) before it touches
 * anything; see docs/adr/0008-one-controller-per-project.md.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { writeJsonAtomic } from '../core/atomic-file.js';
import { createApiServer } from '../api/server.js';
import { ProjectController } from './project-controller.js';
import { projectPaths, readControllerFile, type ControllerFile } from './paths.js';
import { restrictUmask } from '../core/umask.js';
import { testCalendarFromEnv } from '../core/clock.js';

export async function runServer(opts: { projectDir: string; configFile?: string; port?: number }): Promise<void> {
  const paths = projectPaths(opts.projectDir);
  // Everything this process and the router it spawns create under .slipway/ is the owner's alone.
  restrictUmask();
  // TEST ONLY: SLIPWAY_TEST_NOW shifts the time deployment windows are judged by (e2e tests).
  const calendar = testCalendarFromEnv();
  const controller = new ProjectController({ projectDir: opts.projectDir, configFile: opts.configFile, ...(calendar ? { calendar } : {}) });
  await controller.start();
  if (calendar)
    controller.log.warn(`SLIPWAY_TEST_NOW is set: deployment windows are judged as of ${new Date(calendar.now()).toISOString()}`);
  const token = randomBytes(24).toString('base64url');
  let stopping: Promise<string[]> | undefined;
  const stop = (stopAll: boolean): Promise<string[]> => {
    stopping ??= (async () => {
      try {
        await controller.shutdown({ stopAll });
      } catch (err) {
        return [`shutdown: ${(err as Error).stack}`];
      }
      return controller.shutdownProblems;
    })();
    return stopping;
  };
  const exit = () => {
    server.close();
    const current = readControllerFile(paths.controllerFile);
    if (current?.pid === process.pid) rmSync(paths.controllerFile, { force: true });
    process.exit(0);
  };
  const server = createApiServer({ controller, token, onShutdown: stop, onStopped: exit });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  controller.metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  const file: ControllerFile = {
    version: 1,
    pid: process.pid,
    port: (server.address() as AddressInfo).port,
    token,
    startedAt: Date.now(),
    projectDir: opts.projectDir,
  };
  writeJsonAtomic(paths.controllerFile, file); // 0600: it holds the API token
  process.on('SIGTERM', () => void stop(false).then(exit));
  process.on('SIGINT', () => void stop(false).then(exit));
  controller.log.info(`listening on 127.0.0.1:${file.port} (pid ${process.pid})`);
}

// Lives in paths.ts so that the CLI can find the controller without loading it; re-exported for existing callers.
export { readControllerFile };
