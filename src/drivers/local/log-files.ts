/**
 * Instance log files: where they live and reading them back.
 *
 * Each instance's stdout and stderr go to a log writer process of its own (log-writer-main.ts,
 * docs/adr/0009-log-writer.md), never through the controller: it stamps every line with the time
 * it read it (`<time> <text>`, see log-line.ts), appends whole lines, and rotates by rename to
 * `.1`, `.2`, … Reading here merges the two streams (and instances) by those times.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { linesBackward as linesIn } from './file-lines.js';
import { mergeByTime, parseLogLine, type LogEntry } from './log-line.js';

/** The current log file of each stream of one instance. Rotated files add `.1`, `.2`, … */
export interface LogPaths {
  stdout: string;
  stderr: string;
}

export function logPaths(logDir: string, id: string): LogPaths {
  return { stdout: join(logDir, `${id}.out.log`), stderr: join(logDir, `${id}.err.log`) };
}

/**
 * The last `n` lines of a file, reading backwards from its end so a large log costs only the bytes
 * of those lines. A missing file has no lines.
 */
export async function lastLines(path: string, n: number): Promise<string[]> {
  const lines: string[] = [];
  if (n <= 0) return lines;
  for await (const line of linesBackward(path)) if (lines.push(line) >= n) break;
  return lines.reverse();
}

/**
 * Lines of a file from its end backwards (newest first), reading chunk by chunk so that only the
 * bytes of the lines taken are read; a last line without a newline counts. A missing file has no lines.
 */
export async function* linesBackward(path: string): AsyncGenerator<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return;
  }
  try {
    for await (const { raw } of linesIn(fh, (await fh.stat()).size, true)) yield raw;
  } finally {
    await fh.close();
  }
}

/** What to read of an instance's logs. */
export interface LogQuery {
  /** At most this many lines (the newest). */
  lines: number;
  /** Only lines stamped at or after this time (ms since the epoch); lines without a time are kept. */
  sinceMs?: number;
  /** How many rotated files (`.1` … `.N`) to look into. @default 100 */
  rotated?: number;
}

/** The newest lines of one stream in time order, reaching into rotated files as far as needed. */
export async function readStream(path: string, stream: LogEntry['stream'], q: LogQuery): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  if (q.lines <= 0) return out;
  const files = [path, ...Array.from({ length: q.rotated ?? 100 }, (_, i) => `${path}.${i + 1}`)];
  outer: for (const file of files) {
    let any = false;
    for await (const raw of linesBackward(file)) {
      any = true;
      const { at, text } = parseLogLine(raw);
      if (q.sinceMs !== undefined && at !== null && at < q.sinceMs) break outer;
      out.push({ at, stream, text });
      if (out.length >= q.lines) break outer;
    }
    // Rotation numbers have no gaps: a missing (or empty current) file past the current one ends the search.
    if (!any && file !== path) break;
  }
  return out.reverse();
}

/**
 * The newest lines of an instance, stdout and stderr merged in the order the log writer read
 * them. Works for stopped instances, whose logs are kept.
 */
export async function readInstanceLogs(paths: LogPaths, q: LogQuery): Promise<LogEntry[]> {
  const [out, err] = await Promise.all([readStream(paths.stdout, 'stdout', q), readStream(paths.stderr, 'stderr', q)]);
  return mergeByTime([out, err]).slice(-Math.max(0, q.lines));
}

/** The last `n` lines of an instance's output (text only), stdout and stderr in time order. */
export async function lastLinesOfInstance(paths: LogPaths, n: number): Promise<string[]> {
  return (await readInstanceLogs(paths, { lines: n })).map((e) => e.text);
}
