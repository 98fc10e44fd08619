import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LogPaths } from './log-files.js';

const WRITER_MAIN = fileURLToPath(new URL('./log-writer-main.js', import.meta.url));

/** A started log writer process and our ends of its pipes. */
export interface LogWriterProcess {
  writer: ChildProcess;
  /** What is written here goes to the stdout log. */
  stdout: Socket;
  /** What is written here goes to the stderr log. */
  stderr: Socket;
  /** The writer writes a line here once it reads (and closes it when it dies). */
  ready: Socket;
}

/**
 * Spawns the log writer of one instance (docs/adr/0009-log-writer.md): detached, in a session of
 * its own, unref'd, so it outlives the controller; it stamps and stores whole lines and rotates the
 * files past `maxBytes`, keeping `keep` old ones. The writer reports its own trouble in those files.
 */
export function spawnLogWriter(logs: LogPaths, maxBytes: number, keep: number): LogWriterProcess {
  const writer = spawn(process.execPath, [WRITER_MAIN, JSON.stringify({ stdout: logs.stdout, stderr: logs.stderr, maxBytes, keep })], {
    detached: true,
    // fd 0 reads the instance's stdout, fd 3 its stderr; through fd 4 it tells the instance it reads.
    stdio: ['pipe', 'ignore', 'ignore', 'pipe', 'pipe'],
  });
  writer.unref();
  return { writer, stdout: writer.stdio[0] as Socket, stderr: writer.stdio[3] as Socket, ready: writer.stdio[4] as Socket };
}
