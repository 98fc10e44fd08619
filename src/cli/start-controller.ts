/** Starts the project's controller in the background (detached, logging to .slipway/controller.log) unless one runs. */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ControllerClient } from '../client/client.js';
import { projectPaths } from '../controller/paths.js';
import { lockOwner } from '../controller/lock.js';
import { SlipwayError } from '../core/errors.js';
import { pidAlive } from '../core/process.js';
import type { Output } from './output.js';

export async function ensureController(
  dir: string,
  out: Output,
  timeoutMs = 20_000,
  /** More `slipway server` arguments (--listen …), for a controller started here. */
  serverArgs: string[] = [],
): Promise<{ client: ControllerClient; started: boolean }> {
  const running = ControllerClient.find(dir);
  if (running) {
    try {
      await running.health();
      return { client: running, started: false };
    } catch {
      /* stale file: start a new one */
    }
  }
  const paths = projectPaths(dir);
  mkdirSync(paths.root, { recursive: true, mode: 0o700 }); // .slipway/ is the owner's alone (docs/production.md)
  const log = openSync(paths.controllerLog, 'a', 0o600);
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'server', '--dir', dir, ...serverArgs], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: dir,
  });
  child.unref();
  out.progress('starting the controller…');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const c = ControllerClient.find(dir);
    // Another CLI may have started one at the same moment: ours then exits (the project lock) and that one is used.
    const holder = lockOwner(paths)?.pid;
    if (c && (c.info.pid === child.pid || c.info.pid === holder)) {
      try {
        await c.health();
        out.done();
        return { client: c, started: c.info.pid === child.pid };
      } catch {
        /* not listening yet */
      }
    }
    if (child.pid !== undefined && !pidAlive(child.pid) && holder === undefined) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  out.done();
  const tail = readFileSync(paths.controllerLog, 'utf8').trimEnd().split('\n').slice(-15).join('\n  ');
  const how = child.pid !== undefined && !pidAlive(child.pid) ? 'exited without starting' : `did not start within ${timeoutMs / 1000}s`;
  throw SlipwayError.of('CONTROLLER_START_FAILED', `the controller ${how}; its log ends with:\n  ${tail}`, {
    hint: `See ${paths.controllerLog}; fix the cause and run slipway up again.`,
  });
}
