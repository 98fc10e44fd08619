/**
 * Instance log files: where they live, rotation, and reading their last lines.
 *
 * Instances write their stdout and stderr straight into these files (opened O_APPEND and handed
 * to the child as fds 1 and 2), never through a pipe to the controller: a pipe would break, and
 * could kill the instance with SIGPIPE, when the controller dies.
 */
import { openSync, statSync, renameSync, copyFileSync, truncateSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** The current log file of each stream of one instance. Rotated files add `.1`, `.2`, … */
export interface LogPaths { stdout: string; stderr: string }

export function logPaths(logDir: string, id: string): LogPaths {
  return { stdout: join(logDir, `${id}.out.log`), stderr: join(logDir, `${id}.err.log`) };
}

/**
 * Opens a log file for appending. O_APPEND matters for rotation: after the file is truncated, each
 * write of the instance lands at the new end (offset 0) instead of at its old offset, which would
 * leave a hole of zero bytes the size of the rotated content.
 */
export function openForAppend(path: string): number {
  // The owner's alone: instances log whatever they print, secrets included.
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  return openSync(path, 'a', 0o600);
}

/**
 * Rotates `path` when it is larger than `maxBytes`: `.N-1` → `.N` …, `.1` → `.2`, then copies the
 * current file to `.1` and truncates it ("copytruncate"). The instance keeps its open fd, so
 * rotation needs no signal to the instance and no cooperation from it. The price: lines written
 * between the copy and the truncation are lost, a window of one file copy (milliseconds at the
 * sizes involved). Returns whether it rotated.
 */
export function rotateIfLarger(path: string, maxBytes: number, keep: number): boolean {
  let size: number;
  try { size = statSync(path).size; } catch { return false; }
  if (size <= maxBytes || keep < 1) return false;
  for (let i = keep - 1; i >= 1; i--) {
    try { renameSync(`${path}.${i}`, `${path}.${i + 1}`); } catch { /* that generation does not exist yet */ }
  }
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}

/** Chunk read at a time when scanning a file backwards for line ends. */
const CHUNK = 64 * 1024;

/**
 * The last `n` lines of a file, reading backwards from its end so a large log costs only the bytes
 * of those lines. A missing file has no lines.
 */
export async function lastLines(path: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  let fh;
  try { fh = await open(path, 'r'); } catch { return []; }
  try {
    const { size } = await fh.stat();
    let pos = size;
    let buf = Buffer.alloc(0);
    let newlines = 0;
    // n lines need n+1 line ends in view (the one before the first line), plus a trailing one.
    while (pos > 0 && newlines <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const chunk = Buffer.alloc(len);
      await fh.read(chunk, 0, len, pos);
      for (const b of chunk) if (b === 0x0a) newlines++;
      buf = Buffer.concat([chunk, buf]);
    }
    const lines = buf.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // Unless the whole file was read, the first piece is the tail end of a longer line.
    if (pos > 0) lines.shift();
    return lines.slice(-n);
  } finally {
    await fh.close();
  }
}

/** The last `n` lines of a stream, reaching into the newest rotated file when the current one is short. */
export async function lastLinesOfStream(path: string, n: number): Promise<string[]> {
  const current = await lastLines(path, n);
  if (current.length >= n) return current;
  const older = await lastLines(`${path}.1`, n - current.length);
  return [...older, ...current];
}

/**
 * The last `n` lines of an instance's output. The processes write without timestamps, so the two
 * streams cannot be interleaved by time: the result is stdout's last lines, then stderr's (where a
 * crash's reason usually is), sharing `n` between them, stderr getting at least half when both
 * have more.
 */
export async function lastLinesOfInstance(paths: LogPaths, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const [out, err] = await Promise.all([lastLinesOfStream(paths.stdout, n), lastLinesOfStream(paths.stderr, n)]);
  if (out.length + err.length <= n) return [...out, ...err];
  const errTake = Math.min(err.length, Math.max(Math.ceil(n / 2), n - out.length));
  return [...out.slice(out.length - (n - errTake)), ...err.slice(err.length - errTake)];
}
