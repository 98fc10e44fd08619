/**
 * Assembles a release from an artifact's index (ADR 0015) instead of extracting the whole archive:
 * every entry passes the same checks as in extraction (ReleaseLayout), files the file store holds
 * are hard-linked from it, and only the segments of the other files are read from the archive and
 * inflated on their own (each segment starts from an empty deflate state). The archive's digest is
 * verified meanwhile, as extraction does. Whatever does not agree (a segment that does not inflate
 * alone, a header or hash other than the index says) fails, and the caller extracts the archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, createInflateRaw } from 'node:zlib';
import { SlipwayError } from '../core/errors.js';
import type { ArchiveIndex, IndexEntry } from './archive-index.js';
import { TimeSlice } from './bounded.js';
import { digestFile } from './digest.js';
import { asArchiveError, digestMismatch, intoNewDirectory, ReleaseLayout, writeBody, type Extracted } from './extract.js';
import type { FileStore } from './file-store.js';
import { END_OF_ARCHIVE } from './tar-header.js';
import { readTar } from './tar-reader.js';

/** More files missing from the file store than this, or more bytes, and extracting the whole archive is cheaper. */
const MAX_MISSING_FILES = 256;
const MAX_MISSING_BYTES = 64 * 1024 * 1024;

/**
 * Builds the release for `index` at `destDir` (which must not exist); returns its non-directory
 * entry count, or undefined (having done nothing) when the file store lacks too much of it for
 * this to beat extracting the archive (a first release, say).
 */
export async function assembleFromIndex(
  archive: string,
  index: ArchiveIndex,
  destDir: string,
  store: FileStore,
): Promise<Extracted | undefined> {
  const stored = new Set<IndexEntry>();
  let missingFiles = 0;
  let missingBytes = 0;
  const slice = new TimeSlice();
  for (const e of index.entries) {
    if (e.type !== 'file') continue;
    if (store.isStored(e.hex!, e.size, e.mode)) stored.add(e);
    else if (++missingFiles > MAX_MISSING_FILES || (missingBytes += e.size) > MAX_MISSING_BYTES) return undefined;
    await slice.yieldIfDue();
  }
  return intoNewDirectory(destDir, async (root) => {
    const verified = digestFile(archive);
    verified.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    const layout = new ReleaseLayout(root);
    const missing: [IndexEntry, string][] = [];
    let files = 0;
    for (const e of index.entries) {
      const target = await layout.enter({ path: e.path, type: e.type, mode: e.mode, linkTarget: e.link, typeflag: '' });
      if (e.type === 'directory') continue;
      files++;
      if (target === null || e.type !== 'file') continue;
      if (!stored.has(e) || !store.linkStored(target, e.hex!, e.mode)) missing.push([e, target]);
      await slice.yieldIfDue();
    }
    layout.checkLinks();
    for (const [e, target] of missing) await fromSegment(archive, e, target, store);
    const { digest } = await verified;
    if (digest !== index.digest) throw digestMismatch(archive, index.digest);
    await layout.applyDirectoryModes();
    return { files, directories: layout.directories };
  });
}

/** Inflates one file's segment alone and places its body, after checking it is what the index says. */
async function fromSegment(archive: string, e: IndexEntry, target: string, store: FileStore): Promise<void> {
  const input = createReadStream(archive, { start: e.offset, end: e.offset + e.length - 1 });
  const inflate = createInflateRaw({ finishFlush: constants.Z_SYNC_FLUSH });
  input.on('error', (err) => inflate.destroy(err));
  input.pipe(inflate);
  const tar = (async function* () {
    yield* inflate as AsyncIterable<Buffer>;
    yield END_OF_ARCHIVE;
  })();
  try {
    let placed = false;
    for await (const { header, body } of readTar(tar)) {
      if (placed || header.type !== 'file' || header.path !== e.path || header.mode !== e.mode || header.size !== e.size) {
        throw disagrees(e);
      }
      const hash = createHash('sha256');
      const tapped = (async function* () {
        for await (const chunk of body) {
          hash.update(chunk);
          yield chunk;
        }
      })();
      await writeBody(target, tapped, e.mode, false);
      if (hash.digest('hex') !== e.hex) throw disagrees(e);
      await store.adopt(target, e.hex, e.size, e.mode);
      placed = true;
    }
    if (!placed) throw disagrees(e);
  } catch (err) {
    inflate.destroy();
    input.destroy();
    throw asArchiveError(err);
  }
}

function disagrees(e: IndexEntry): SlipwayError {
  return SlipwayError.of('ARTIFACT_CORRUPT', `the archive's segment for "${e.path}" is not what its index says`, {
    details: { entry: e.path },
  });
}
