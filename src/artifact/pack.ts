import { closeSync, createReadStream, existsSync, openSync, readSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { SlipwayError } from '../core/errors.js';
import { ArchiveWriter } from './archive-writer.js';
import type { ArchiveIndex, IndexEntry } from './archive-index.js';
import { TimeSlice } from './bounded.js';
import { crc32Combine } from './crc32-combine.js';
import { IgnoreRules } from './ignore-rules.js';
import { PackCache } from './pack-cache.js';
import {
  compressSegment,
  compressSegmentStream,
  compressSegmentSync,
  endSegment,
  GZIP_HEADER,
  gzipTrailer,
  type Segment,
} from './segments.js';
import { ALWAYS_EXCLUDED, listSourceTree, type SourceEntry } from './source-tree.js';
import { encodeHeader, paddingFor } from './tar-header.js';
import { entryChunks, sourceChanged, type TarWriteEntry } from './tar-writer.js';

/** What `packDirectory` produced. */
export interface PackResult {
  /** `sha256:<hex>` of the .tar.gz bytes. */
  digest: string;
  /** Size of the .tar.gz. */
  bytes: number;
  /** Non-directory entries (regular files and symlinks) in the archive. */
  files: number;
  /** Where each entry's segment lies (ADR 0015); the store keeps it beside the archive. */
  index: ArchiveIndex;
  /** Entries whose segment was copied from the previous archive rather than compressed. */
  reused: number;
  /** The tree packs to exactly the previous archive: `outFile` was not written. */
  sameAsPrevious: boolean;
}

export interface PackOptions {
  /** Extra names to skip at any depth, on top of `.git` and `.slipway`. @default [] */
  excludeNames?: readonly string[];
  /** What the last build of this tree saw (ADR 0015). @default none: every file is read */
  cache?: PackCache;
  /** An earlier archive and its index: entries found unchanged in it have their segment copied. */
  previous?: { archive: string; index: ArchiveIndex };
}

/**
 * Packs `dir` into a reproducible .tar.gz at `outFile`: the same tree gives the same bytes (and
 * digest) whatever the mtimes, owners, umask or creation order. Entries are sorted by path; mtime,
 * uid and gid are 0, names empty; modes are 0755 for directories and for files with any execute
 * bit, 0644 for other files. `.git`, `.slipway` and `.slipwayignore` matches are left out.
 * `outFile` appears complete or not at all.
 */
export async function packDirectory(dir: string, outFile: string, options: PackOptions = {}): Promise<PackResult> {
  await assertDirectory(dir);
  const ignore = await IgnoreRules.load(dir);
  const entries = await listSourceTree(dir, { excludeNames: [...ALWAYS_EXCLUDED, ...(options.excludeNames ?? [])], ignore });
  return packEntries(entries, outFile, options);
}

/** Segments compressed ahead of the writer (on the thread pool), in order. */
const COMPRESS_AHEAD = 8;
/** Entries up to this many tar bytes are compressed on the main thread (in time slices), bigger ones on the thread pool. */
const SYNC_COMPRESS = 64 * 1024;
/** Files up to this size are read whole; bigger ones are streamed when their turn comes. */
const SMALL_FILE = 256 * 1024;

/** One entry on its way into the archive: what the index says of it, and its segment or the one to copy. */
interface Item {
  meta: Omit<IndexEntry, 'offset' | 'length' | 'crc' | 'raw'>;
  reuse?: IndexEntry;
  segment?: Segment;
}

/**
 * Packs entries already listed by `listSourceTree` (sorted, checked) into `outFile` (ADR 0015):
 * every entry is one segment, compressed on its own; an entry unchanged since `options.previous`
 * has its segment copied from that archive instead. gzip framing, CRC and sha256 are computed as
 * the bytes go out. Same bytes as `packDirectory` on the tree they were listed from, with or
 * without a previous archive.
 */
export async function packEntries(entries: readonly SourceEntry[], outFile: string, options: PackOptions = {}): Promise<PackResult> {
  const cache = options.cache ?? PackCache.none();
  // An archive pruned since its index was read cannot lend segments: pack without it.
  const previous = options.previous && existsSync(options.previous.archive) ? options.previous : undefined;
  const files = entries.filter((e) => e.type !== 'directory').length;
  const reusable = previous !== undefined ? byPath(previous.index) : new Map<string, IndexEntry>();

  if (previous !== undefined && unchangedSince(entries, cache, previous.index)) {
    const { index } = previous;
    return { digest: index.digest, bytes: index.bytes, files, index, reused: entries.length, sameAsPrevious: true };
  }

  await mkdir(dirname(outFile), { recursive: true });
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString('hex')}.tmp`);
  const out = await ArchiveWriter.create(tmp, previous?.archive);
  const indexed: IndexEntry[] = [];
  let crc = 0;
  let rawLength = 0;
  let reused = 0;
  const append = async (item: Item): Promise<void> => {
    if (item.reuse) {
      const copying = appendReused(item.reuse);
      if (copying) await copying;
      return;
    }
    const offset = out.position;
    const { data, crc: segmentCrc, rawLength: raw } = item.segment!;
    await out.write(data);
    crc = crc32Combine(crc, segmentCrc, raw);
    rawLength += raw;
    indexed.push({ ...item.meta, offset, length: data.length, crc: segmentCrc, raw });
  };
  // An unchanged entry's index entry is the previous one at its new offset; no promise unless a copy starts.
  const appendReused = (r: IndexEntry): Promise<void> | undefined => {
    const offset = out.position;
    const copying = out.copy(r.offset, r.length);
    crc = crc32Combine(crc, r.crc, r.raw);
    rawLength += r.raw;
    indexed.push({ ...r, offset });
    reused++;
    return copying;
  };

  const ahead: Promise<Item>[] = [];
  try {
    await out.write(GZIP_HEADER);
    const slice = new TimeSlice();
    for (const e of entries) {
      const planned = plan(e, cache, reusable);
      if (planned instanceof Reuse && ahead.length === 0) {
        const copying = appendReused(planned.entry);
        if (copying) await copying;
      } else if (isItem(planned) && ahead.length === 0) {
        await append(planned);
      } else if (planned instanceof Reuse || isItem(planned)) {
        ahead.push(Promise.resolve(planned instanceof Reuse ? { meta: planned.entry, reuse: planned.entry } : planned));
        if (ahead.length >= COMPRESS_AHEAD) await append(await ahead.shift()!);
      } else if (planned !== 'stream') {
        planned.catch(() => undefined); // its failure is thrown when its turn comes, not as an unhandled rejection
        ahead.push(planned);
        if (ahead.length >= COMPRESS_AHEAD) await append(await ahead.shift()!);
      } else {
        while (ahead.length > 0) await append(await ahead.shift()!);
        await append(await streamBigFile(e, cache, reusable));
      }
      await slice.yieldIfDue();
    }
    while (ahead.length > 0) await append(await ahead.shift()!);
    const end = await endSegment();
    const endOffset = out.position;
    await out.write(end.data);
    crc = crc32Combine(crc, end.crc, end.rawLength);
    rawLength += end.rawLength;
    await out.write(gzipTrailer(crc, rawLength));
    const bytes = out.position;
    const digest = `sha256:${await out.finish()}`;
    await rename(tmp, outFile);
    const index: ArchiveIndex = { digest, bytes, entries: indexed, end: { offset: endOffset, length: end.data.length } };
    return { digest, bytes, files, index, reused, sameAsPrevious: false };
  } catch (err) {
    await Promise.allSettled(ahead);
    await out.close();
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The previous archive's entries by path (kept per index: the controller packs against the same one often). */
const pathMaps = new WeakMap<ArchiveIndex, Map<string, IndexEntry>>();
function byPath(index: ArchiveIndex): Map<string, IndexEntry> {
  let map = pathMaps.get(index);
  if (!map) pathMaps.set(index, (map = new Map(index.entries.map((e) => [e.path, e]))));
  return map;
}

/** Whether an entry's tar bytes are those of `prev` (so is its segment). */
function sameEntry(prev: IndexEntry | undefined, e: SourceEntry, hex: string | undefined): prev is IndexEntry {
  return (
    prev !== undefined &&
    prev.type === e.type &&
    prev.mode === archiveMode(e) &&
    prev.size === (e.type === 'file' ? e.size : 0) &&
    (e.type === 'file' ? prev.hex === hex : e.type === 'symlink' ? prev.link === e.linkTarget : true)
  );
}

/** An entry whose segment is copied from the previous archive. */
class Reuse {
  constructor(readonly entry: IndexEntry) {}
}

/** The mode the archive records (ADR 0003). */
function archiveMode(e: SourceEntry): number {
  if (e.type === 'directory') return 0o755;
  if (e.type === 'symlink') return 0o777;
  return e.mode & 0o111 ? 0o755 : 0o644;
}

/**
 * True when every entry is known unchanged (files by their stat fields) and matches the previous
 * archive's entries one for one, in order: the archive would be the previous one, byte for byte.
 */
function unchangedSince(entries: readonly SourceEntry[], cache: PackCache, index: ArchiveIndex): boolean {
  if (entries.length !== index.entries.length) return false;
  const hexes: (string | undefined)[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const prev = index.entries[i]!;
    const hex = e.type === 'file' ? cache.hexOf(e) : undefined;
    if ((e.type === 'file' && hex === undefined) || prev.path !== e.relPath || !sameEntry(prev, e, hex)) return false;
    hexes.push(hex);
  }
  entries.forEach((e, i) => {
    if (hexes[i] !== undefined) cache.record(e, hexes[i]!);
  });
  return true;
}

/**
 * Decides how a small entry gets into the archive: its previous segment when its key is found
 * (a file known by its stat fields is not even read), else a new segment compressed in the
 * background. Returns 'stream' for a big file that has to be compressed as it is read.
 */
function plan(e: SourceEntry, cache: PackCache, reusable: Map<string, IndexEntry>): Item | Promise<Item> | Reuse | 'stream' {
  const prev = reusable.get(e.relPath);
  if (e.type !== 'file') {
    if (sameEntry(prev, e, undefined)) return new Reuse(prev);
    const meta: Item['meta'] = { path: e.relPath, type: e.type, mode: archiveMode(e), size: 0 };
    if (e.type === 'symlink') meta.link = e.linkTarget!;
    return compressed(meta, encodeHeader(toTarEntry(e)));
  }
  const known = cache.hexOf(e);
  if (known !== undefined && sameEntry(prev, e, known)) {
    cache.record(e, known);
    return new Reuse(prev);
  }
  if (e.size > SMALL_FILE) return 'stream';
  const body = readWholeSync(e.absPath, e.size);
  if (body.length !== e.size) throw sourceChanged(e.relPath, e.size, body.length);
  const hex = createHash('sha256').update(body).digest('hex');
  cache.record(e, hex);
  if (sameEntry(prev, e, hex)) return new Reuse(prev);
  const meta: Item['meta'] = { path: e.relPath, type: 'file', mode: archiveMode(e), size: e.size, hex };
  return compressed(meta, Buffer.concat([encodeHeader(toTarEntry(e)), body, paddingFor(e.size)]));
}

function compressed(meta: Item['meta'], raw: Buffer): Item | Promise<Item> {
  if (raw.length <= SYNC_COMPRESS) return { meta, segment: compressSegmentSync(raw) };
  return compressSegment(raw).then((segment) => ({ meta, segment }));
}

function isItem(x: unknown): x is Item {
  return typeof x === 'object' && x !== null && 'meta' in x;
}

/**
 * A big file: hashed as it is read (a first read when its segment might be reused), then
 * compressed as it is read again. The hash recorded is the one of the bytes compressed.
 */
async function streamBigFile(e: SourceEntry, cache: PackCache, reusable: Map<string, IndexEntry>): Promise<Item> {
  const meta: Item['meta'] = { path: e.relPath, type: 'file', mode: archiveMode(e), size: e.size };
  const prev = reusable.get(e.relPath);
  if (prev !== undefined) {
    const hex = await hashFile(e);
    if (sameEntry(prev, e, hex)) {
      cache.record(e, hex);
      return { meta: prev, reuse: prev };
    }
  }
  const hash = createHash('sha256');
  const body = createReadStream(e.absPath, { highWaterMark: 1024 * 1024 });
  const tapped = (async function* () {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield chunk;
    }
  })();
  const segment = await compressSegmentStream(entryChunks(toTarEntry(e, () => tapped)));
  meta.hex = hash.digest('hex');
  cache.record(e, meta.hex);
  return { meta, segment };
}

async function hashFile(e: SourceEntry): Promise<string> {
  const hash = createHash('sha256');
  let n = 0;
  for await (const chunk of createReadStream(e.absPath, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    n += chunk.length;
    if (n > e.size) break;
  }
  if (n !== e.size) throw sourceChanged(e.relPath, e.size, n);
  return hash.digest('hex');
}

/** Throws `SOURCE_NOT_FOUND` unless `dir` is an existing directory. */
export async function assertDirectory(dir: string): Promise<void> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (!st?.isDirectory()) {
    throw SlipwayError.of('SOURCE_NOT_FOUND', `source directory ${dir} does not exist or is not a directory`, {
      hint: "Check the service's source path in slipway.yaml.",
      details: { path: dir },
    });
  }
}

/**
 * Reads a file expected to be `size` bytes: one open, one read, one close (synchronous calls in
 * the caller's time slices: cheaper than a thread-pool trip each, ADR 0011). Asks for one byte
 * more than expected so a file that grew is noticed.
 */
function readWholeSync(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let filled = 0;
    while (filled < buf.length) {
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) break;
      filled += n;
      if (filled === size) break; // a short read of a regular file is its end; no extra syscall to confirm
    }
    return buf.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

function toTarEntry(e: SourceEntry, body?: () => AsyncIterable<Uint8Array>): TarWriteEntry {
  const common = { path: e.relPath, mtime: 0, uid: 0, gid: 0, uname: '', gname: '' };
  switch (e.type) {
    case 'directory':
      return { ...common, type: 'directory', mode: 0o755, size: 0 };
    case 'symlink':
      return { ...common, type: 'symlink', mode: 0o777, size: 0, linkTarget: e.linkTarget! };
    case 'file':
      return { ...common, type: 'file', mode: archiveMode(e), size: e.size, body };
  }
}
