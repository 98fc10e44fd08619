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

const CHUNK = 64 * 1024;

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
async function openGenerations(path: string): Promise<{ fh: FileHandle; ino: number; size: number }[]> {
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

/** The whole lines of a file from byte `pos` on, each with the offset after its newline; a line still being written is left. */
async function* linesForward(fh: FileHandle, pos: number): AsyncGenerator<{ raw: string; next: number }> {
  let rest = Buffer.alloc(0);
  let restAt = pos;
  for (;;) {
    const chunk = Buffer.alloc(CHUNK);
    const { bytesRead } = await fh.read(chunk, 0, CHUNK, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    const buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      yield { raw: buf.subarray(start, nl).toString('utf8'), next: restAt + nl + 1 };
      start = nl + 1;
    }
    rest = buf.subarray(start);
    restAt += start;
  }
}

/**
 * The whole lines of a file before byte `size`, newest first, each with the offset after its
 * newline (a last line without one is still being written: left out).
 */
async function* linesBackward(fh: FileHandle, size: number): AsyncGenerator<{ raw: string; next: number }> {
  let pos = size;
  let rest = Buffer.alloc(0);
  // Offset of the byte after `rest`; the first newline found (from the end) closes the newest whole line.
  let closed = false;
  let lineEnd = size;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const chunk = Buffer.alloc(len);
    await fh.read(chunk, 0, len, pos);
    const buf = Buffer.concat([chunk, rest]);
    let end = buf.length;
    for (let nl = buf.lastIndexOf(0x0a, end - 1); nl >= 0; nl = end > 0 ? buf.lastIndexOf(0x0a, end - 1) : -1) {
      if (closed) yield { raw: buf.subarray(nl + 1, end).toString('utf8'), next: lineEnd };
      closed = true;
      lineEnd = pos + nl + 1;
      end = nl;
    }
    rest = buf.subarray(0, end);
  }
  // The file's first line has no newline before it.
  if (closed) yield { raw: rest.toString('utf8'), next: lineEnd };
}
