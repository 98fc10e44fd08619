import { closeSync, createReadStream, createWriteStream, openSync, readSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../core/errors.js';
import { TimeSlice } from './bounded.js';
import { DigestTap } from './digest.js';
import { IgnoreRules } from './ignore-rules.js';
import { createReproducibleGzip } from './reproducible-gzip.js';
import { ALWAYS_EXCLUDED, listSourceTree, type SourceEntry } from './source-tree.js';
import { writeTar, type TarWriteEntry } from './tar-writer.js';

/** What `packDirectory` produced. */
export interface PackResult {
  /** `sha256:<hex>` of the .tar.gz bytes. */
  digest: string;
  /** Size of the .tar.gz. */
  bytes: number;
  /** Non-directory entries (regular files and symlinks) in the archive. */
  files: number;
}

/** Extra names to skip at any depth, on top of `.git` and `.slipway`. */
export interface PackOptions {
  /** @default [] */
  excludeNames?: readonly string[];
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
  return packEntries(entries, outFile);
}

/**
 * Packs entries already listed by `listSourceTree` (sorted, checked) into `outFile`, in one pass:
 * files are read ahead with bounded concurrency, the tar stream is gzipped and hashed on its way to
 * disk. Same bytes as `packDirectory` on the tree they were listed from.
 */
export async function packEntries(entries: readonly SourceEntry[], outFile: string): Promise<PackResult> {
  await mkdir(dirname(outFile), { recursive: true });
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString('hex')}.tmp`);
  const tap = new DigestTap();
  const [gzip, canonicalHeader] = createReproducibleGzip();
  try {
    const tar = coalesce(writeTar(readAhead(entries)));
    await pipeline(Readable.from(tar), gzip, canonicalHeader, tap, createWriteStream(tmp, { mode: 0o644 }));
    await rename(tmp, outFile);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { digest: tap.digest(), bytes: tap.bytes, files: entries.filter((e) => e.type !== 'directory').length };
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

/** Files up to this size are read whole, ahead of the writer; bigger ones are streamed when their turn comes. */
const SMALL_FILE = 256 * 1024;
/** tar bytes handed to gzip per write: each write is a trip to the thread pool, so few large ones. */
const GZIP_INPUT_CHUNK = 1024 * 1024;

/**
 * The entries in order, with the bodies of small files read whole by synchronous calls in time
 * slices (see TimeSlice: cheaper than a thread-pool trip per call, and the event loop still gets a
 * turn every few ms). Bigger files are streamed in their turn. Same bytes either way (golden tests).
 */
async function* readAhead(entries: readonly SourceEntry[]): AsyncGenerator<TarWriteEntry> {
  const slice = new TimeSlice();
  for (const e of entries) {
    if (e.type === 'file' && e.size <= SMALL_FILE) {
      yield toTarEntry(e, readWholeSync(e.absPath, e.size));
      await slice.yieldIfDue();
    } else {
      yield toTarEntry(e);
    }
  }
}

/**
 * Reads a file expected to be `size` bytes: one open, one read, one close. Asks for one byte more
 * than expected so a file that grew is noticed; the writer turns a length mismatch into
 * ARTIFACT_SOURCE_CHANGED.
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

/** Joins small chunks (headers, paddings, small bodies) into large buffers. */
async function* coalesce(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    if (length === 0 && chunk.length >= GZIP_INPUT_CHUNK) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    length += chunk.length;
    if (length >= GZIP_INPUT_CHUNK) {
      yield Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

function toTarEntry(e: SourceEntry, body?: Buffer): TarWriteEntry {
  const common = { path: e.relPath, mtime: 0, uid: 0, gid: 0, uname: '', gname: '' };
  switch (e.type) {
    case 'directory':
      return { ...common, type: 'directory', mode: 0o755, size: 0 };
    case 'symlink':
      return { ...common, type: 'symlink', mode: 0o777, size: 0, linkTarget: e.linkTarget! };
    case 'file':
      return {
        ...common,
        type: 'file',
        mode: e.mode & 0o111 ? 0o755 : 0o644,
        size: e.size,
        body: body !== undefined ? () => body : () => createReadStream(e.absPath, { highWaterMark: GZIP_INPUT_CHUNK }),
      };
  }
}
