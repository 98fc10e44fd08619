/**
 * Streams a service's instance logs: the newest lines of all its instances first, merged in the
 * order they were captured, then (when following) new lines as they are written, across log
 * rotation and across instances that start later (a rollout's new instances are picked up).
 *
 * Every line carries the time its log writer captured it (docs/adr/0009-log-writer-and-healing.md).
 * Each stream's follower starts at the file position where its tail ended. Files are rotated by
 * rename, so a follower keeps its open file until it has read it to the end, then moves to the
 * newer files (as `tail -F` does): no line is skipped or read twice.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { LogHostNotice, LogLine } from '../api/types.js';
import type { LogRecord, RuntimeDriver } from '../drivers/driver.js';
import type { Clock } from '../core/clock.js';
import { formatLogTime, mergeByTime, parseLogLine } from '../drivers/local/log-line.js';
import { openGenerations, tailStream, type LogPosition } from '../drivers/local/log-after.js';

export type { LogLine };
export { parseSince } from '../drivers/local/log-line.js';
import type { Controller } from './controller.js';
import { streamFleetLogs } from './fleet-logs.js';

export interface LogStreamOptions {
  /** At most this many lines before following (the newest, over all instances). */
  lines: number;
  follow: boolean;
  /** Only lines captured at or after this time (ms since the epoch). */
  sinceMs?: number;
  signal: AbortSignal;
  /** How often files are checked for new lines while following. @default 250 */
  pollMs?: number;
}

/** A record of one instance, kept with its instance while merging. */
interface Tagged extends LogRecord {
  instance: string;
  release: number;
}

export async function streamLogs(
  c: Controller,
  service: string,
  opts: LogStreamOptions,
  emit: (l: LogLine | LogHostNotice) => void,
): Promise<void> {
  // An ssh environment's instances and their logs are on its hosts (fleet-logs.ts).
  const fleet = c.fleet.current();
  if (fleet) return streamFleetLogs(c, fleet, service, opts, emit);
  return streamLocalLogs(c, service, opts, emit);
}

/** The logs of a service whose instances run on this machine: read from their files. */
export async function streamLocalLogs(
  c: { driver: Pick<RuntimeDriver, 'list' | 'logFiles' | 'readLogs'>; clock: Clock },
  service: string,
  opts: LogStreamOptions,
  emit: (l: LogLine) => void,
): Promise<void> {
  const send = (t: Tagged) =>
    emit({ instance: t.instance, release: t.release, stream: t.stream, at: t.at === null ? null : formatLogTime(t.at), line: t.text });
  const instances = () => c.driver.list().filter((i) => i.service === service);

  // Each stream's tail ends at a file position, and its follower starts there: every line once,
  // whatever is written meanwhile (a time cannot be the boundary: one read of the writer stamps all
  // its lines with one time, and a read cut by a rotation lands in two files).
  const followers = new Map<string, Follower>();
  const follow = async (id: string, release: number, stream: LogRecord['stream'], path: string, from?: LogPosition) => {
    const f = new Follower(id, release, stream, path);
    await f.startAt(from);
    followers.set(`${id}\0${stream}`, f);
  };
  const tails = await Promise.all(
    instances().map(async (i): Promise<Tagged[][]> => {
      const files = c.driver.logFiles(i.id);
      const tag = (records: LogRecord[]) => records.map((r): Tagged => ({ ...r, instance: i.id, release: i.release }));
      if (!files) return [tag(await c.driver.readLogs(i.id, { lines: opts.lines, sinceMs: opts.sinceMs }).catch(() => []))];
      return Promise.all(
        (['stdout', 'stderr'] as const).map(async (stream) => {
          const t = await tailStream(files[stream], stream, opts.lines, opts.sinceMs).catch(() => ({ records: [], end: undefined }));
          if (opts.follow) await follow(i.id, i.release, stream, files[stream], t.end);
          return tag(t.records);
        }),
      );
    }),
  );
  if (opts.lines > 0) for (const t of mergeByTime(tails.flat()).slice(-opts.lines)) send(t);

  try {
    while (opts.follow && !opts.signal.aborted) {
      // A rollout's new instances: read from the start of their files.
      for (const i of instances()) {
        const files = followers.has(`${i.id}\0stdout`) ? undefined : c.driver.logFiles(i.id);
        if (files) for (const stream of ['stdout', 'stderr'] as const) await follow(i.id, i.release, stream, files[stream]);
      }
      const batches: Tagged[][] = [];
      for (const f of followers.values()) {
        const fresh = (await f.read()).filter((r) => opts.sinceMs === undefined || r.at === null || r.at >= opts.sinceMs);
        if (fresh.length) batches.push(fresh);
      }
      for (const t of mergeByTime(batches)) send(t);
      await c.clock.sleep(opts.pollMs ?? 250, opts.signal).catch(() => undefined);
    }
  } finally {
    for (const f of followers.values()) await f.close();
  }
}

/** Reads one stream's log file as it grows, following it across rotation by rename. */
class Follower {
  private fh: FileHandle | null = null;
  private ino = -1;
  private pos = 0;
  /** Bytes of a line not yet complete (the writer writes whole lines, but a read may catch a write half done). */
  private partial: Buffer = Buffer.alloc(0);

  constructor(
    readonly instance: string,
    readonly release: number,
    readonly stream: 'stdout' | 'stderr',
    private readonly path: string,
  ) {}

  /**
   * Starts at a position a tail ended at (tailStream): in that file, wherever rotation has moved
   * it since; if it has been rotated out of the kept files meanwhile, at the start of the oldest
   * kept one (every one is newer). With none (no file yet, or a new instance), at the start of the file.
   */
  async startAt(at: LogPosition | undefined): Promise<void> {
    if (at === undefined) return;
    const all = await openGenerations(this.path);
    const keep = all.find((o) => o.ino === at[0]) ?? all[0];
    for (const o of all) if (o !== keep) await o.fh.close();
    if (!keep) return;
    this.fh = keep.fh;
    this.ino = keep.ino;
    this.pos = keep.ino === at[0] ? at[1] : 0;
  }

  /** Whole lines written since the last read, in order. */
  async read(): Promise<Tagged[]> {
    if (!this.fh && !(await this.openCurrent())) return [];
    const chunks = [this.partial, await this.drain()];
    const now = await stat(this.path).catch(() => undefined);
    if (now && now.ino !== this.ino) {
      // Rotated, maybe several times since the last read: the writer renamed our file away and no
      // longer writes to it. Finish it, then read every newer generation from its beginning, oldest
      // first, and stay on the newest (as `tail -F`, but without skipping a generation).
      chunks.push(await this.drain());
      await this.fh!.close();
      const newer = await this.newerGenerations();
      for (const [k, g] of newer.entries()) {
        this.fh = g.fh;
        this.ino = g.ino;
        this.pos = 0;
        chunks.push(await this.drain());
        if (k < newer.length - 1) await g.fh.close();
      }
      if (newer.length === 0) this.fh = null;
    }
    const all = Buffer.concat(chunks);
    const end = all.lastIndexOf(0x0a) + 1;
    this.partial = all.subarray(end);
    if (end === 0) return [];
    return all
      .subarray(0, end - 1)
      .toString('utf8')
      .split('\n')
      .map((raw) => ({ ...parseLogLine(raw), stream: this.stream, instance: this.instance, release: this.release }));
  }

  /** The files newer than ours, oldest first, opened; when ours was rotated out of the kept files, every one is newer. */
  private async newerGenerations(): Promise<{ fh: FileHandle; ino: number }[]> {
    const all = await openGenerations(this.path);
    const newer = all.slice(all.findIndex((o) => o.ino === this.ino) + 1);
    for (const o of all.slice(0, all.length - newer.length)) await o.fh.close();
    return newer;
  }

  async close(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
  }

  private async openCurrent(): Promise<boolean> {
    try {
      this.fh = await open(this.path, 'r');
    } catch {
      return false;
    }
    this.ino = (await this.fh.stat()).ino;
    this.pos = 0;
    return true;
  }

  /** Everything from `pos` to the current end of the open file. */
  private async drain(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for (;;) {
      const buf = Buffer.alloc(1 << 16);
      const { bytesRead } = await this.fh!.read(buf, 0, buf.length, this.pos);
      if (bytesRead === 0) break;
      this.pos += bytesRead;
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  }
}
