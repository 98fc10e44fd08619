import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { LogPaths } from '../local/log-files.js';
import { spawnLogWriter } from '../local/log-writer-process.js';

/** A started log writer and the ends its instance writes to. */
export interface LogWriterHandle {
  writer: ChildProcess;
  stdout: Socket;
  stderr: Socket;
  /** Our copies of the instance's ends: call once the instance holds its own. */
  release(): void;
}

/**
 * Starts the local driver's log writer (docs/adr/0009-log-writer.md) for a container and resolves
 * once it reads (it stamps lines when it reads them, so output written while it boots would be
 * stamped late). A container started with `--log-driver passthrough` writes into these ends
 * directly, so a container's log has the files and format of a process's.
 */
export async function startLogWriter(paths: LogPaths, maxBytes: number, keep: number): Promise<LogWriterHandle> {
  const { writer, stdout, stderr, ready } = spawnLogWriter(paths, maxBytes, keep);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    ready.once('data', done);
    ready.once('close', done);
    ready.once('error', done);
  });
  ready.destroy();
  return {
    writer,
    stdout,
    stderr,
    // Destroy, never end(): a shutdown would reach the container's copy too.
    release: () => {
      stdout.destroy();
      stderr.destroy();
    },
  };
}
