/**
 * Runs a controller with its API in this process (`slipway server`), writing
 * .slipway/controller.json once it listens so that CLIs can find it. A second controller for the
 * same project is refused by the project lock (CONTROLLER_RUNNING, exit 4) before it touches
 * anything; see docs/adr/0008-one-controller-per-project.md.
 */
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { writeJsonAtomic } from '../core/atomic-file.js';
import { createApiServer } from '../api/server.js';
import { ProjectController } from './project-controller.js';
import { projectPaths, readControllerFile, type ControllerFile } from './paths.js';
import { restrictUmask } from '../core/umask.js';
import { testCalendarFromEnv } from '../core/clock.js';
import { ensureLocalToken } from '../access/local-token.js';
import { extraListener, type ListenOptions } from './listen-options.js';

export async function runServer(opts: { projectDir: string; configFile?: string; port?: number } & ListenOptions): Promise<void> {
  const paths = projectPaths(opts.projectDir);
  // A bad --listen or TLS file is refused before anything starts.
  const extra = extraListener(opts);
  // Everything this process and the router it spawns create under .slipway/ is the owner's alone.
  restrictUmask();
  // TEST ONLY: SLIPWAY_TEST_NOW shifts the time deployment windows are judged by (e2e tests).
  const calendar = testCalendarFromEnv();
  const controller = new ProjectController({ projectDir: opts.projectDir, configFile: opts.configFile, ...(calendar ? { calendar } : {}) });
  await controller.start();
  if (calendar)
    controller.log.warn(`SLIPWAY_TEST_NOW is set: deployment windows are judged as of ${new Date(calendar.now()).toISOString()}`);
  // The local user's admin token (ADR 0024), also in controller.json as before for clients that read it there.
  const token = await ensureLocalToken(controller.store, paths.tokenFile, controller.clock.now());
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
    remote?.close();
    const current = readControllerFile(paths.controllerFile);
    if (current?.pid === process.pid) rmSync(paths.controllerFile, { force: true });
    process.exit(0);
  };
  const props = { controller, onShutdown: stop, onStopped: exit };
  const server = createApiServer(props);
  await listen(server, opts.port ?? 0, '127.0.0.1');
  controller.metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  // The local CLI keeps the loopback listener; --listen adds one for other machines.
  const remote = extra && createApiServer(props, extra.tls);
  if (remote && extra) {
    await listen(remote, extra.port, extra.host);
    if (extra.warning) {
      controller.log.warn(extra.warning);
      process.stderr.write(extra.warning + '\n');
    }
  }
  const file: ControllerFile = {
    version: 1,
    pid: process.pid,
    port: (server.address() as AddressInfo).port,
    token,
    startedAt: Date.now(),
    projectDir: opts.projectDir,
    ...(remote && extra
      ? { listen: { address: extra.host, port: (remote.address() as AddressInfo).port, tls: extra.tls !== undefined } }
      : {}),
  };
  writeJsonAtomic(paths.controllerFile, file); // 0600: it holds the API token
  process.on('SIGTERM', () => void stop(false).then(exit));
  process.on('SIGINT', () => void stop(false).then(exit));
  controller.log.info(`listening on 127.0.0.1:${file.port} (pid ${process.pid})`);
  if (file.listen)
    controller.log.info(`also listening on ${file.listen.address}:${file.listen.port} (${file.listen.tls ? 'HTTPS' : 'plain HTTP'})`);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

// Lives in paths.ts so that the CLI can find the controller without loading it; re-exported for existing callers.
export { readControllerFile };
