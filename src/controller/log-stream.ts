/**
 * Streams a service's instance logs: the newest lines of all its instances first, merged in the
 * order they were captured, then (when following) new lines as they are written, across log
 * rotation and across instances that start later (a rollout's new instances are picked up).
 *
 * Every line carries the time its log writer captured it (docs/adr/0009-log-writer.md). Files
 * are rotated by rename, so a follower keeps its open file until it has read it to the end, then
 * moves to the new file at the path (as `tail -F` does): no line is skipped or read twice.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { LogHostNotice, LogLine } from '../api/types.js';
import type { LogRecord } from '../drivers/driver.js';
import { formatLogTime, mergeByTime, parseLogLine } from '../drivers/local/log-line.js';

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
  const send = (t: Tagged) =>
    emit({ instance: t.instance, release: t.release, stream: t.stream, at: t.at === null ? null : formatLogTime(t.at), line: t.text });
  const instances = () => c.driver.list().filter((i) => i.service === service);

  // Followers open at each file's current end before the tail is read; what they read later that
  // is not newer than the tail's last line of that stream was already sent.
  const followers = new Map<string, Follower>();
  const lastSent = new Map<string, number>();
  const addFollowers = async (id: string, release: number, fromStart: boolean) => {
    const files = c.driver.logFiles(id);
    if (!files) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const f = new Follower(id, release, stream, files[stream]);
      if (!fromStart) await f.skipToEnd();
      followers.set(`${id}\0${stream}`, f);
    }
  };
  const known = instances();
  if (opts.follow) for (const i of known) await addFollowers(i.id, i.release, false);

  const tails = await Promise.all(
    known.map(async (i) => {
      const records = await c.driver.readLogs(i.id, { lines: opts.lines, sinceMs: opts.sinceMs }).catch(() => [] as LogRecord[]);
      return records.map((r): Tagged => ({ ...r, instance: i.id, release: i.release }));
    }),
  );
  const tail = opts.lines > 0 ? mergeByTime(tails).slice(-opts.lines) : [];
  for (const t of tails.flat())
    if (t.at !== null) lastSent.set(`${t.instance}\0${t.stream}`, Math.max(lastSent.get(`${t.instance}\0${t.stream}`) ?? -Infinity, t.at));
  for (const t of tail) send(t);

  try {
    while (opts.follow && !opts.signal.aborted) {
      for (const i of instances()) if (!followers.has(`${i.id}\0stdout`)) await addFollowers(i.id, i.release, true);
      const batches: Tagged[][] = [];
      for (const [key, f] of followers) {
        const after = lastSent.get(key);
        const fresh = (await f.read()).filter(
          (r) =>
            (after === undefined || r.at === null || r.at > after) && (opts.sinceMs === undefined || r.at === null || r.at >= opts.sinceMs),
        );
        if (fresh.length) {
          batches.push(fresh);
          lastSent.delete(key);
        }
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

  /** Starts at the current end of the file (lines already there are the tail's business). */
  async skipToEnd(): Promise<void> {
    if (await this.openCurrent()) this.pos = (await this.fh!.stat()).size;
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

  /**
   * The files newer than ours, oldest first, opened. Every generation is opened first (newest
   * first: the path, `.1`, `.2`, …) so that a rotation while we look cannot make us skip one; a
   * file seen twice under two names (it was renamed meanwhile) is kept once. When ours is no
   * longer among them (rotated out of the kept files), every one is newer.
   */
  private async newerGenerations(): Promise<{ fh: FileHandle; ino: number }[]> {
    const opened: { fh: FileHandle; ino: number }[] = [];
    for (let n = 0; n <= 100; n++) {
      let fh: FileHandle;
      try {
        fh = await open(n === 0 ? this.path : `${this.path}.${n}`, 'r');
      } catch {
        if (n === 0) continue;
        break;
      }
      const ino = (await fh.stat()).ino;
      if (opened.some((o) => o.ino === ino)) {
        await fh.close();
        continue;
      }
      opened.push({ fh, ino });
    }
    const ours = opened.findIndex((o) => o.ino === this.ino);
    const newer = ours === -1 ? opened : opened.slice(0, ours);
    for (const o of opened.slice(newer.length)) await o.fh.close();
    return newer.reverse();
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
