import { spawn, type ChildProcess } from 'node:child_process';
import type { InstanceSpec } from '../driver.js';
import type { LogPaths } from './log-files.js';
import { spawnLogWriter } from './log-writer-process.js';
import { withUserUmask } from '../../core/umask.js';

/**
 * The instance's command starts once its log writer reads: the writer stamps lines when it reads
 * them, so output written while a fresh writer still boots would be stamped late, stdout and
 * stderr out of order. The shell waits for the writer's line on fd 3 (or its end, should the writer
 * die), closes the fd, and runs the command; the instance's pid exists from the start.
 */
const READY_GATE = 'read -r _ <&3 2>/dev/null; exec 3<&-; ';

/** The processes of one start of an instance. */
export interface SpawnedInstance {
  /** `/bin/sh -c <command>`, leader of its own process group. */
  child: ChildProcess;
  /** Its log writer (docs/adr/0009-log-writer.md), in a session of its own. */
  writer: ChildProcess;
}

/**
 * Spawns one instance process: `/bin/sh -c <command>` in the release directory, leader of its own
 * process group (`detached`), unref'd, its stdout and stderr connected to a log writer process
 * started first (also detached), which stamps and stores whole lines and rotates the files.
 * `secretEnv` (the values of `spec.secrets`) goes into the process's environment and nowhere else.
 * Nothing ties either process to ours: the connections run between the two of them, our copies
 * are closed before we return, so the controller can die (even by SIGKILL) while both go on.
 */
export function spawnInstance(spec: InstanceSpec, port: number, logs: LogPaths, secretEnv: Record<string, string> = {}): SpawnedInstance {
  // Through `ready` the writer tells the instance it reads (see READY_GATE).
  const { writer, stdout: toStdout, stderr: toStderr, ready } = spawnLogWriter(logs, spec.logMaxBytes, spec.logFiles);
  try {
    // The instance gets the user's umask back, not the controller's private one.
    const child = withUserUmask(() =>
      spawn('/bin/sh', ['-c', READY_GATE + spec.command], {
        cwd: spec.releaseDir,
        env: {
          ...process.env,
          ...spec.env,
          ...secretEnv,
          PORT: String(port),
          SLIPWAY_RELEASE: String(spec.release),
          SLIPWAY_INSTANCE: spec.id,
          SLIPWAY_SERVICE: spec.service,
        },
        detached: true,
        stdio: ['ignore', toStdout, toStderr, ready],
      }),
    );
    child.unref();
    return { child, writer };
  } catch (err) {
    writer.kill('SIGKILL');
    throw err;
  } finally {
    // The instance holds its own copies. Destroy, never end(): a shutdown would reach the
    // instance's copy too, since it names the same socket.
    toStdout.destroy();
    toStderr.destroy();
    ready.destroy();
  }
}
