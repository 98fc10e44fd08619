/**
 * The lines of a log file, read 64 KB at a time forwards or backwards from an open handle, each
 * with the byte offset after its newline: what every reader of instance logs builds on (a local
 * tail, log-files.ts; a cursor that a fleet's controller polls through an agent, log-after.ts).
 * Memory is bounded by the longest line, never by the file.
 */
import type { FileHandle } from 'node:fs/promises';

/** Bytes read at a time. */
export const CHUNK = 64 * 1024;

/** One line of a file (without its newline) and the offset just after it. */
export interface FileLine {
  raw: string;
  next: number;
}

/** The whole lines of a file from byte `pos` on, each with the offset after its newline; a line still being written is left. */
export async function* linesForward(fh: FileHandle, pos: number): AsyncGenerator<FileLine> {
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
 * The lines of a file before byte `size`, newest first, each with the offset after its newline. A
 * last line without one is still being written: left out, unless `partial` (a reader that shows a
 * file as it is, not one that must take each line once), when it comes first with `next` = `size`.
 */
export async function* linesBackward(fh: FileHandle, size: number, partial = false): AsyncGenerator<FileLine> {
  let pos = size;
  let rest = Buffer.alloc(0);
  // Whether a newline was found yet (from the end): the first one closes the newest whole line.
  let closed = false;
  // The offset after the line being gathered in `rest`.
  let lineEnd = size;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const chunk = Buffer.alloc(len);
    await fh.read(chunk, 0, len, pos);
    const buf = Buffer.concat([chunk, rest]);
    let end = buf.length;
    for (let nl = buf.lastIndexOf(0x0a, end - 1); nl >= 0; nl = end > 0 ? buf.lastIndexOf(0x0a, end - 1) : -1) {
      // Before the first newline: the unfinished last line (nothing when the file ends with a newline).
      if (closed || (partial && nl + 1 < end)) yield { raw: buf.subarray(nl + 1, end).toString('utf8'), next: lineEnd };
      closed = true;
      lineEnd = pos + nl + 1;
      end = nl;
    }
    rest = buf.subarray(0, end);
  }
  // The file's first line has no newline before it.
  if (closed || (partial && rest.length > 0)) yield { raw: rest.toString('utf8'), next: lineEnd };
}
