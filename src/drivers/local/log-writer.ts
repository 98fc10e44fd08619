/**
 * The parts of the log writer (see log-writer-main.ts and docs/adr/0009-log-writer.md): cutting
 * an instance's output into whole lines, stamping them, and appending them to a file it rotates
 * by rename. The writer is the only process writing the file, so rotation can neither lose nor
 * split a line: a line is written whole into the current file, then the file is renamed away and
 * a new one opened.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatLogLine } from './log-line.js';

/**
 * A line longer than this is written in pieces of this size (each piece a line of its own), so
 * an instance printing without newlines cannot make the writer hold unbounded memory.
 */
export const MAX_LINE_BYTES = 256 * 1024;

/** Cuts a byte stream into lines (without their "\n"); a line may span any number of chunks. */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;

  /** The lines completed by `chunk`. Splits at bytes, so a multi-byte character cut between chunks stays whole. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      let piece = chunk.subarray(start, end);
      // An over-long line is cut into pieces of MAX_LINE_BYTES.
      while (this.partialBytes + piece.length > MAX_LINE_BYTES) {
        const take = MAX_LINE_BYTES - this.partialBytes;
        this.partial.push(piece.subarray(0, take));
        lines.push(this.take());
        piece = piece.subarray(take);
      }
      if (nl === -1) {
        if (piece.length) {
          this.partial.push(piece);
          this.partialBytes += piece.length;
        }
        return lines;
      }
      this.partial.push(piece);
      lines.push(this.take());
      start = nl + 1;
    }
  }

  /** What is left at the end of the stream: a last line without "\n", or undefined. */
  end(): string | undefined {
    return this.partialBytes > 0 ? this.take() : undefined;
  }

  private take(): string {
    const s = Buffer.concat(this.partial).toString('utf8').replace(/\r$/, '');
    this.partial = [];
    this.partialBytes = 0;
    return s;
  }
}

/** Hands out strictly increasing times (ms with a µs fraction) from a wall clock of ms resolution. */
export class Stamper {
  private last = -Infinity;
  constructor(private readonly now: () => number = Date.now) {}

  next(): number {
    const t = Math.max(this.now(), this.last + 0.001);
    // Keep the value on the µs grid, so formatting and parsing give back the same number.
    this.last = Math.round(t * 1000) / 1000;
    return this.last;
  }
}

/**
 * An append-only log file rotated by rename: when the next write would take it past `maxBytes`,
 * `.N-1` → `.N` … `.1` → `.2`, the file → `.1`, and a new file is opened. At most `keep` old files remain.
 */
export class RotatingLogFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 }); // logs hold whatever instances print, secrets included
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
    // A file left larger than the limit (a smaller limit now, or an older Slipway) rotates at once.
    if (this.size >= maxBytes) this.rotate();
  }

  /** Appends whole lines, each stamped with `at`, rotating between lines when the file is full. */
  writeLines(lines: readonly string[], at: number): void {
    let batch = '';
    let batchBytes = 0;
    for (const line of lines) {
      const s = formatLogLine(at, line);
      const bytes = Buffer.byteLength(s);
      if (this.size + batchBytes + bytes > this.maxBytes && this.size + batchBytes > 0) {
        this.flush(batch);
        batch = '';
        batchBytes = 0;
        this.rotate();
      }
      batch += s;
      batchBytes += bytes;
    }
    this.flush(batch);
  }

  close(): void {
    closeSync(this.fd);
  }

  private flush(text: string): void {
    if (!text) return;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    this.size += buf.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.keep < 1) {
      unlinkSync(this.path);
    } else {
      for (let i = this.keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch {
          /* that generation does not exist yet */
        }
      }
      renameSync(this.path, `${this.path}.1`);
    }
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
  }
}
