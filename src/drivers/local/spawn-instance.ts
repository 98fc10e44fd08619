import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import type { InstanceSpec } from '../driver.js';
import { openForAppend, type LogPaths } from './log-files.js';
import { withUserUmask } from '../../core/umask.js';

/**
 * Spawns one instance process: `/bin/sh -c <command>` in the release directory, leader of its own
 * process group (`detached`), unref'd, with stdout and stderr appended straight to its log files.
 * Nothing ties its life to ours: no pipes, no shared process group, so the controller can die
 * (even by SIGKILL) while the instance keeps serving.
 */
export function spawnInstance(spec: InstanceSpec, port: number, logs: LogPaths): ChildProcess {
  const out = openForAppend(logs.stdout);
  let err: number | undefined;
  try {
    err = openForAppend(logs.stderr);
    // The instance gets the user's umask back, not the controller's private one.
    const child = withUserUmask(() => spawn('/bin/sh', ['-c', spec.command], {
      cwd: spec.releaseDir,
      env: { ...process.env, ...spec.env, PORT: String(port), SLIPWAY_RELEASE: String(spec.release), SLIPWAY_INSTANCE: spec.id, SLIPWAY_SERVICE: spec.service },
      detached: true,
      stdio: ['ignore', out, err],
    }));
    child.unref();
    return child;
  } finally {
    // The child holds its own copies of the fds; ours are no longer needed.
    closeSync(out);
    if (err !== undefined) closeSync(err);
  }
}
