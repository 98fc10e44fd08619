import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes gathered before a write: each write is a trip to the thread pool, so few large ones. */
const WRITE_CHUNK = 1024 * 1024;

/**
 * Writes an archive file from new bytes and byte ranges of an earlier archive (reused segments,
 * ADR 0015), hashing everything on its way out. Adjacent ranges are copied as one; ranges are read
 * with synchronous calls (a page-cached file just written by the previous build) and written
 * asynchronously, since a write can be held up by the kernel's writeback.
 */
export class ArchiveWriter {
  private readonly hash = createHash('sha256');
  private parts: Buffer[] = [];
  private buffered = 0;
  private range: { start: number; end: number } | undefined;
  private sourceFd: number | undefined;
  /** Bytes appended so far (the offset of the next one), including a range not yet copied. */
  position = 0;

  private constructor(
    private readonly handle: FileHandle,
    private readonly source: string | undefined,
  ) {}

  /** A new file at `path` (created, mode 0644); `source` is the archive ranges are copied from. */
  static async create(path: string, source?: string): Promise<ArchiveWriter> {
    // The source is opened now, so an archive pruned while this one is written can still be read.
    const fd = source !== undefined ? openSync(source, 'r') : undefined;
    try {
      const w = new ArchiveWriter(await open(path, 'wx', 0o644), source);
      w.sourceFd = fd;
      return w;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw err;
    }
  }

  async write(data: Buffer): Promise<void> {
    await this.flushRange();
    this.position += data.length;
    await this.push(data);
  }

  /** Appends `length` bytes of the source archive from `start` (await the result when there is one). */
  copy(start: number, length: number): Promise<void> | undefined {
    this.position += length;
    if (this.range !== undefined && this.range.end === start) {
      this.range.end += length; // the common case, no promise: 20,000 unchanged files follow one another
      return undefined;
    }
    return this.flushRange().then(() => {
      this.range = { start, end: start + length };
    });
  }

  /** Writes what is left, closes the file and returns the sha256 hex of everything written. */
  async finish(): Promise<string> {
    await this.flushRange();
    await this.flushParts();
    await this.close();
    return this.hash.digest('hex');
  }

  async close(): Promise<void> {
    if (this.sourceFd !== undefined) closeSync(this.sourceFd);
    this.sourceFd = undefined;
    await this.handle.close().catch(() => undefined);
  }

  private async flushRange(): Promise<void> {
    const r = this.range;
    if (r === undefined) return;
    this.range = undefined;
    this.sourceFd ??= openSync(this.source!, 'r');
    for (let at = r.start; at < r.end;) {
      const buf = Buffer.allocUnsafe(Math.min(WRITE_CHUNK, r.end - at));
      let filled = 0;
      while (filled < buf.length) {
        const n = readSync(this.sourceFd, buf, filled, buf.length - filled, at + filled);
        if (n === 0) throw new Error(`the previous archive ${this.source} is shorter than its index says`);
        filled += n;
      }
      at += filled;
      await this.push(buf);
    }
  }

  private async push(data: Buffer): Promise<void> {
    this.hash.update(data);
    this.parts.push(data);
    this.buffered += data.length;
    if (this.buffered >= WRITE_CHUNK) await this.flushParts();
  }

  private async flushParts(): Promise<void> {
    if (this.buffered === 0) return;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.buffered);
    this.parts = [];
    this.buffered = 0;
    for (let off = 0; off < data.length;) off += (await this.handle.write(data, off, data.length - off)).bytesWritten;
  }
}
