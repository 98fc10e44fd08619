import {
  BLOCK_SIZE,
  GNU_LONG_LINK,
  GNU_LONG_NAME,
  PAX_GLOBAL,
  PAX_LOCAL,
  corruptArchive,
  decodeHeader,
  isZeroBlock,
  parsePaxRecords,
  type TarHeader,
} from './tar-header.js';

export type { TarHeader, TarEntryType } from './tar-header.js';

/** One member as read: its header and a body to consume (or not) before asking for the next entry. */
export interface TarReadEntry {
  header: TarHeader;
  /** The entry's content, streamed. Whatever is left unread is skipped when the next entry is requested. */
  body: AsyncIterable<Buffer>;
}

/** PAX and GNU long-name bodies are held in memory; cap them so a hostile archive cannot exhaust it. */
const MAX_META_BYTES = 1024 * 1024;

/**
 * Reads a tar stream (ustar, PAX `x`/`g` headers, GNU `L`/`K` long names) entry by entry without
 * buffering bodies. Requires the end-of-archive marker, so an archive truncated on a block boundary
 * is reported as corrupt instead of silently read as shorter; then drains the source so a gzip
 * layer underneath gets to verify its trailer.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarReadEntry> {
  const input = new ByteQueue(source[Symbol.asyncIterator]());
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (true) {
    const block = await input.read(BLOCK_SIZE);
    if (block === null) throw corruptArchive('archive ends without an end-of-archive marker');
    if (isZeroBlock(block)) break;
    const raw = decodeHeader(block);

    if ([PAX_LOCAL, PAX_GLOBAL, GNU_LONG_NAME, GNU_LONG_LINK].includes(raw.typeflag)) {
      if (raw.size > MAX_META_BYTES) throw corruptArchive(`extended header of ${raw.size} bytes is too large`);
      const body = await input.read(raw.size);
      if (body === null && raw.size > 0) throw corruptArchive('archive truncated inside an extended header');
      await input.skip(padLength(raw.size));
      const data = body ?? Buffer.alloc(0);
      // Global PAX records are only informational for Slipway; per-entry ones override the next header.
      if (raw.typeflag === PAX_LOCAL) pax = parsePaxRecords(data);
      if (raw.typeflag === GNU_LONG_NAME) longName = cString(data);
      if (raw.typeflag === GNU_LONG_LINK) longLink = cString(data);
      continue;
    }

    const header: TarHeader = { ...raw };
    header.path = pax.get('path') ?? longName ?? raw.path;
    header.linkTarget = pax.get('linkpath') ?? longLink ?? raw.linkTarget;
    const paxSize = pax.get('size');
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize)) throw corruptArchive(`bad PAX size "${paxSize}"`);
      header.size = Number(paxSize);
    }
    if (header.type === 'directory' && header.path.endsWith('/')) header.path = header.path.replace(/\/+$/, '');
    if (header.type !== 'symlink' && header.type !== 'hardlink') delete header.linkTarget;
    pax = new Map();
    longName = undefined;
    longLink = undefined;

    // Only regular files carry a body; a size on anything else is ignored, as POSIX says for links and directories.
    const bodySize = header.type === 'file' || header.type === 'other' ? header.size : 0;
    const state = { remaining: bodySize };
    yield { header, body: bodyOf(input, state) };
    await input.skip(state.remaining + padLength(bodySize));
  }
  await input.drain();
}

async function* bodyOf(input: ByteQueue, state: { remaining: number }): AsyncGenerator<Buffer> {
  while (state.remaining > 0) {
    const chunk = await input.take(state.remaining);
    state.remaining -= chunk.length;
    yield chunk;
  }
}

function padLength(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

function cString(data: Buffer): string {
  const end = data.indexOf(0);
  return data.subarray(0, end === -1 ? data.length : end).toString('utf8');
}

/** Pull-based byte buffer over an async iterator of chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Exactly `n` bytes, or null at a clean end of input; throws when the input ends part-way. */
  async read(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.length === 0 && n > 0) return null;
    if (this.length < n) throw corruptArchive('archive is truncated');
    const out = Buffer.alloc(n);
    let filled = 0;
    while (filled < n) {
      const chunk = await this.take(n - filled);
      chunk.copy(out, filled);
      filled += chunk.length;
    }
    return out;
  }

  /** Up to `max` bytes (at least one), without copying when a chunk can be handed out as is. */
  async take(max: number): Promise<Buffer> {
    await this.fill(1);
    const head = this.chunks[0];
    if (head === undefined) throw corruptArchive('archive is truncated');
    if (head.length <= max) {
      this.chunks.shift();
      this.length -= head.length;
      return head;
    }
    this.chunks[0] = head.subarray(max);
    this.length -= max;
    return head.subarray(0, max);
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.take(n)).length;
  }

  /** Consumes the rest of the input, discarding it. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.length = 0;
    while (!this.done) {
      const r = await this.source.next();
      if (r.done) this.done = true;
    }
  }

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const r = await this.source.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.chunks.push(r.value);
        this.length += r.value.length;
      }
    }
  }
}
