/**
 * Reading one stream's log from a cursor: the oldest lines after it, at most a page of them,
 * across rotated files; and the newest lines with the cursor just after them. What a reader that
 * polls (a controller following a fleet host's logs through its agent, ADR 0026) needs so that it
 * sees every line once and none twice, whatever was written or rotated in between.
 *
 * The cursor is a position (file inode and byte offset after the last whole line taken), with the
 * capture time of that line as a fallback for when the file is gone (rotated out of the kept
 * files). Times alone cannot be the cursor: the log writer stamps every line of one read with the
 * same time, so a burst of output has thousands of lines with one stamp.
 *
 * Memory is bounded by the page, never by the file: lines are read in 64 KB chunks.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { LogRecord } from '../driver.js';
import { linesBackward, linesForward } from './file-lines.js';
import { parseLogLine } from './log-line.js';

/** Where a reader stopped in a stream: [inode of the file, byte offset after the last whole line read]. */
export type LogPosition = [ino: number, pos: number];

export interface StreamPage {
  /** The oldest lines after the cursor, in order, each with the position just after it. */
  records: (LogRecord & { end: LogPosition })[];
  /** More lines after the cursor than the page held. */
  more: boolean;
  /** Where the read stopped: after the last record, or the end of the last whole line of the newest file. */
  end: LogPosition | undefined;
}

/**
 * The oldest lines of one stream after the cursor, at most `max`. With a hint whose file is still
 * one of the stream's generations, the read starts at its offset and takes every line there not
 * stamped before `afterMs`. Without one (or when its file is gone) it starts at the newest
 * generation whose first line is older than `afterMs` (older generations hold only older lines)
 * and takes the lines stamped at or after it; lines without a time (files from before timestamps)
 * are then skipped: nothing can place them.
 */
export async function readStreamAfter(
  path: string,
  stream: LogRecord['stream'],
  afterMs: number,
  max: number,
  hint?: LogPosition,
): Promise<StreamPage> {
  const gens = await openGenerations(path);
  try {
    let from = 0;
    let fromPos = 0;
    const hinted = hint ? gens.findIndex((g) => g.ino === hint[0] && hint[1] <= g.size) : -1;
    if (hinted >= 0) {
      from = hinted;
      fromPos = hint![1];
    } else {
      for (let i = gens.length - 1; i >= 0; i--) {
        const first = await firstStamp(gens[i]!.fh);
        if (first !== null && first < afterMs) {
          from = i;
          break;
        }
      }
    }
    const records: StreamPage['records'] = [];
    let end: LogPosition | undefined;
    for (let i = from; i < gens.length; i++) {
      const g = gens[i]!;
      end = [g.ino, i === from ? fromPos : 0];
      for await (const { raw, next } of linesForward(g.fh, end[1])) {
        const { at, text } = parseLogLine(raw);
        if (at === null ? hinted >= 0 : at >= afterMs) {
          if (records.length >= max) return { records, more: true, end: records.at(-1)!.end };
          records.push({ at, stream, text, end: [g.ino, next] });
        }
        end = [g.ino, next];
      }
    }
    return { records, more: false, end };
  } finally {
    await Promise.all(gens.map((g) => g.fh.close().catch(() => undefined)));
  }
}

/**
 * The newest `lines` lines of one stream (none stamped before `sinceMs`), oldest first, and the
 * position after the newest whole line there was when the files were opened: a reader that goes on
 * from it (readStreamAfter) gets exactly the lines written since, none of these again.
 */
export async function tailStream(
  path: string,
  stream: LogRecord['stream'],
  lines: number,
  sinceMs?: number,
): Promise<{ records: LogRecord[]; end: LogPosition | undefined }> {
  const gens = await openGenerations(path);
  try {
    const newest = gens.at(-1);
    if (!newest) return { records: [], end: undefined };
    const records: LogRecord[] = [];
    let end: LogPosition | undefined;
    outer: for (let i = gens.length - 1; i >= 0; i--) {
      const g = gens[i]!;
      for await (const { raw, next } of linesBackward(g.fh, g.size)) {
        end ??= [g.ino, next];
        if (records.length >= lines) break outer;
        const { at, text } = parseLogLine(raw);
        if (sinceMs !== undefined && at !== null && at < sinceMs) break outer;
        records.push({ at, stream, text });
      }
    }
    return { records: records.reverse(), end: end ?? [newest.ino, 0] };
  } finally {
    await Promise.all(gens.map((g) => g.fh.close().catch(() => undefined)));
  }
}

/**
 * Every generation of the file (`path`, `.1`, `.2`, …), opened, oldest first. Opened newest first
 * and kept once per inode, so a rotation while we look cannot make us skip one (a file renamed
 * meanwhile is seen under both names).
 */
export async function openGenerations(path: string): Promise<{ fh: FileHandle; ino: number; size: number }[]> {
  const opened: { fh: FileHandle; ino: number; size: number }[] = [];
  for (let n = 0; n <= 100; n++) {
    let fh: FileHandle;
    try {
      fh = await open(n === 0 ? path : `${path}.${n}`, 'r');
    } catch {
      if (n === 0) continue;
      break;
    }
    const st = await fh.stat();
    if (opened.some((o) => o.ino === st.ino)) {
      await fh.close();
      continue;
    }
    opened.push({ fh, ino: st.ino, size: st.size });
  }
  return opened.reverse();
}

/** The capture time of a file's first line, null when it has none (empty, or not stamped). */
async function firstStamp(fh: FileHandle): Promise<number | null> {
  const buf = Buffer.alloc(64);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  return parseLogLine(buf.subarray(0, bytesRead).toString('latin1')).at;
}
