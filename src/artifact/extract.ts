import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SlipwayError } from '../core/errors.js';
import { DigestTap } from './digest.js';
import { checkLink, describeVerdict } from './symlink-safety.js';
import { corruptArchive } from './tar-header.js';
import { readTar, type TarHeader } from './tar-reader.js';
import { forEachBounded, TaskPool } from './bounded.js';
import type { FileStore } from './file-store.js';
import { NEW_FILE_FLAGS, writeNewFile } from './write-new-file.js';
import { createHash } from 'node:crypto';

/** Options for `extractArchive`. */
export interface ExtractOptions {
  /** When set, the archive's sha256 must match or the extraction fails (and leaves nothing). */
  expectedDigest?: string;
  /**
   * Assemble the release from this content-addressed store: files it already holds are hard
   * links to it, new ones are written and added to it (ADR 0011). Every check is the same.
   */
  fileStore?: FileStore;
}

/**
 * Extracts a .tar.gz into `destDir`, which must not exist yet. Everything is written into a
 * private temp directory beside it and renamed into place at the end, so a failure (including a
 * rejected entry) leaves no partial release behind.
 *
 * Refused, with an error naming the entry: absolute paths and `..` components
 * (`ARTIFACT_UNSAFE_PATH`), anything written through a symlink or over an earlier entry
 * (`ARTIFACT_UNSAFE_PATH`), symlinks that resolve outside the release (`ARTIFACT_UNSAFE_LINK`),
 * hard links, devices and fifos (`ARTIFACT_UNSUPPORTED_ENTRY`). Modes are restored without
 * setuid, setgid or sticky bits; owners and mtimes are not restored.
 */
export async function extractArchive(archive: string, destDir: string, options: ExtractOptions = {}): Promise<{ files: number }> {
  const dest = resolve(destDir);
  if (existsSync(dest)) {
    throw SlipwayError.of('ARTIFACT_DEST_EXISTS', `cannot extract into ${dest}: it already exists`, { details: { path: dest } });
  }
  await mkdir(dirname(dest), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dest), `.${basename(dest)}.extract-`));
  try {
    const result = await extractInto(archive, tmp, options);
    await chmod(tmp, 0o700); // the owner's alone, like all of .slipway/ (instances run as the owner)
    await rename(tmp, dest).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' || err.code === 'ENOTEMPTY') {
        throw SlipwayError.of('ARTIFACT_DEST_EXISTS', `cannot extract into ${dest}: it appeared during extraction`, {
          details: { path: dest },
        });
      }
      throw err;
    });
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

type Kind = 'file' | 'directory' | 'symlink';

async function extractInto(archive: string, root: string, options: ExtractOptions): Promise<{ files: number }> {
  const tap = new DigestTap();
  const gunzip = createGunzip({ chunkSize: 128 * 1024 });
  const input = createReadStream(archive, { highWaterMark: 1024 * 1024 });
  pipeline(input, tap, gunzip, () => {
    /* errors surface through the gunzip iterator */
  });

  const seen = new Map<string, Kind>();
  const links = new Map<string, string>();
  const dirModes = new Map<string, number>(); // a repeated directory entry's mode wins, as in GNU tar
  // File bodies are written with many writes in flight while the archive is read on; every check
  // (paths, parents, duplicates, links) still happens here, in archive order, before a write starts.
  const writes = new TaskPool();
  const store = options.fileStore;
  let files = 0;
  try {
    for await (const { header, body } of readTar(gunzip)) {
      const rel = safeRelativePath(header.path);
      if (rel === '') {
        if (header.type === 'directory') continue; // "./": the release root itself
        throw unsafePath(header.path, 'has an empty path');
      }
      if (header.type !== 'file' && header.type !== 'directory' && header.type !== 'symlink') throw unsupported(header);
      const existing = seen.get(rel);
      if (existing !== undefined) {
        if (existing === 'directory' && header.type === 'directory') {
          dirModes.set(rel, header.mode);
          continue;
        }
        throw unsafePath(header.path, 'appears twice; a second copy could replace what the first one checked');
      }
      await ensureParents(root, rel, seen, header.path);
      const target = join(root, rel);
      seen.set(rel, header.type);
      if (header.type === 'directory') {
        await mkdir(target, { mode: 0o700 });
        dirModes.set(rel, header.mode);
      } else if (header.type === 'symlink') {
        const linkTarget = header.linkTarget ?? '';
        if (linkTarget === '' || linkTarget.includes('\0')) throw unsafeLink(header.path, linkTarget, 'has an empty or invalid target');
        links.set(rel, linkTarget);
        const verdict = checkLink(rel, linkTarget, links);
        if (verdict !== null) throw unsafeLink(header.path, linkTarget, describeVerdict(verdict));
        await symlink(linkTarget, target);
        files++;
      } else if (header.size <= SMALL_FILE) {
        const data = await collect(body, header.size);
        const { mode } = header;
        await writes.run(() => (store ? store.place(target, data, mode) : writeNewFile(target, data, mode)));
        files++;
      } else {
        const hex = await writeBody(target, body, header.mode, store !== undefined);
        if (store) await store.adopt(target, hex!, header.size, header.mode);
        files++;
      }
    }
    await writes.drain();
  } catch (err) {
    gunzip.destroy();
    await writes.settle();
    throw asArchiveError(err);
  }
  // A later link can change where an earlier one leads; judge them all against the final tree.
  for (const [rel, linkTarget] of links) {
    const verdict = checkLink(rel, linkTarget, links);
    if (verdict !== null) throw unsafeLink(rel, linkTarget, describeVerdict(verdict));
  }
  if (options.expectedDigest !== undefined && tap.digest() !== options.expectedDigest) {
    throw SlipwayError.of('ARTIFACT_DIGEST_MISMATCH', `archive ${archive} does not match ${options.expectedDigest}`, {
      hint: 'The stored artifact is corrupt; remove it and rebuild the release.',
      details: { archive, expected: options.expectedDigest },
    });
  }
  // Deepest first, so a read-only directory is locked only after its contents are in place.
  const levels: [string, number][][] = [];
  for (const d of dirModes) (levels[d[0].split('/').length] ??= []).push(d);
  for (const level of levels.reverse()) {
    if (level !== undefined) await forEachBounded(level, ([rel, mode]) => chmod(join(root, rel), mode & 0o777));
  }
  return { files };
}

/** Normalises an entry path to `a/b/c` form, refusing absolute paths and `..` anywhere. */
function safeRelativePath(path: string): string {
  if (path.includes('\0')) throw unsafePath(path, 'contains a NUL byte');
  if (path.startsWith('/')) throw unsafePath(path, 'is absolute');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafePath(path, 'contains a ".." component');
  return parts.join('/');
}

/**
 * Creates missing parent directories, refusing to go through a symlink or a file. The temp root
 * is private to this extraction, so `seen` is an exact picture of what is on disk.
 */
async function ensureParents(root: string, rel: string, seen: Map<string, Kind>, entryPath: string): Promise<void> {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const kind = seen.get(prefix);
    if (kind === 'directory') continue;
    if (kind === 'symlink') throw unsafePath(entryPath, `would be written through the symlink ${prefix}`);
    if (kind === 'file') throw unsafePath(entryPath, `would be written below the file ${prefix}`);
    await mkdir(join(root, prefix), { mode: 0o755 });
    seen.set(prefix, 'directory');
  }
}

/** Bodies up to this size are held in memory and written in the background (at most IO_CONCURRENCY of them). */
const SMALL_FILE = 256 * 1024;

async function collect(body: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  // A single chunk is a view of gunzip's output, which zlib never reuses once handed out.
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/** Streams a big body to a new file; returns the sha256 hex of the body when asked (for the file store). */
async function writeBody(target: string, body: AsyncIterable<Buffer>, mode: number, hashIt: boolean): Promise<string | undefined> {
  const hash = hashIt ? createHash('sha256') : undefined;
  const handle = await open(target, NEW_FILE_FLAGS, 0o600);
  try {
    for await (const chunk of body) {
      hash?.update(chunk);
      await handle.write(chunk);
    }
    await handle.chmod(mode & 0o777);
  } finally {
    await handle.close();
  }
  return hash?.digest('hex');
}

function asArchiveError(err: unknown): unknown {
  if (err instanceof SlipwayError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE') return corruptArchive((err as Error).message, err);
  return err;
}

function unsafePath(entry: string, why: string): SlipwayError {
  return SlipwayError.of('ARTIFACT_UNSAFE_PATH', `archive entry "${entry}" ${why}`, {
    hint: 'The archive was not produced by Slipway or was tampered with; nothing was extracted.',
    details: { entry },
  });
}

function unsafeLink(entry: string, target: string, why: string): SlipwayError {
  return SlipwayError.of('ARTIFACT_UNSAFE_LINK', `archive symlink "${entry}" -> "${target}" ${why}`, {
    hint: 'Release symlinks must stay inside the release directory; nothing was extracted.',
    details: { entry, target },
  });
}

function unsupported(header: TarHeader): SlipwayError {
  const what = header.type === 'other' ? `an entry of unknown type "${header.typeflag}"` : `a ${header.type}`;
  return SlipwayError.of(
    'ARTIFACT_UNSUPPORTED_ENTRY',
    `archive entry "${header.path}" is ${what}; only files, directories and symlinks are allowed`,
    {
      hint: 'The archive was not produced by Slipway or was tampered with; nothing was extracted.',
      details: { entry: header.path, type: header.type },
    },
  );
}
