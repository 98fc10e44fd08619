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
export async function extractArchive(archive: string, destDir: string, options: ExtractOptions = {}): Promise<Extracted> {
  return intoNewDirectory(destDir, (tmp) => extractInto(archive, tmp, options));
}

/**
 * Runs `fill` on a private temp directory beside `destDir` (which must not exist), then renames it
 * into place: `destDir` appears complete or not at all; on failure the temp directory is removed.
 */
export async function intoNewDirectory<T>(destDir: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  const dest = resolve(destDir);
  if (existsSync(dest)) {
    throw SlipwayError.of('ARTIFACT_DEST_EXISTS', `cannot extract into ${dest}: it already exists`, { details: { path: dest } });
  }
  await mkdir(dirname(dest), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dest), `.${basename(dest)}.extract-`));
  try {
    const result = await fill(tmp);
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

/** What an extraction made: non-directory entries, and directories. */
export interface Extracted {
  files: number;
  directories: number;
}

async function extractInto(archive: string, root: string, options: ExtractOptions): Promise<Extracted> {
  const tap = new DigestTap();
  const gunzip = createGunzip({ chunkSize: 128 * 1024 });
  const input = createReadStream(archive, { highWaterMark: 1024 * 1024 });
  pipeline(input, tap, gunzip, () => {
    /* errors surface through the gunzip iterator */
  });

  const layout = new ReleaseLayout(root);
  // File bodies are written with many writes in flight while the archive is read on; every check
  // (paths, parents, duplicates, links) still happens in the layout, in archive order, before a write starts.
  const writes = new TaskPool();
  const store = options.fileStore;
  let files = 0;
  try {
    for await (const { header, body } of readTar(gunzip)) {
      const target = await layout.enter(header);
      if (target === null) continue;
      if (header.type === 'symlink') files++;
      else if (header.type === 'file' && header.size <= SMALL_FILE) {
        const data = await collect(body, header.size);
        const { mode } = header;
        await writes.run(() => (store ? store.place(target, data, mode) : writeNewFile(target, data, mode)));
        files++;
      } else if (header.type === 'file') {
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
  layout.checkLinks();
  if (options.expectedDigest !== undefined && tap.digest() !== options.expectedDigest)
    throw digestMismatch(archive, options.expectedDigest);
  await layout.applyDirectoryModes();
  return { files, directories: layout.directories };
}

/** `ARTIFACT_DIGEST_MISMATCH` for an archive whose bytes are not the expected digest's. */
export function digestMismatch(archive: string, expected: string): SlipwayError {
  return SlipwayError.of('ARTIFACT_DIGEST_MISMATCH', `archive ${archive} does not match ${expected}`, {
    hint: 'The stored artifact is corrupt; remove it and rebuild the release.',
    details: { archive, expected },
  });
}

/** What an entry declares, as far as the layout is concerned. */
export type LayoutEntry = Pick<TarHeader, 'path' | 'type' | 'mode' | 'linkTarget' | 'typeflag'>;

/**
 * The checks every release entry passes, in archive order, whether it comes from an archive or an
 * archive's index (ADR 0015): a safe relative path, no duplicate, no parent that is a symlink or a
 * file, only files, directories and symlinks, symlinks that stay inside. Makes directories and
 * symlinks; files are left to the caller, at the path returned.
 */
export class ReleaseLayout {
  private readonly seen = new Map<string, Kind>();
  private readonly links = new Map<string, string>();
  private readonly dirModes = new Map<string, number>(); // a repeated directory entry's mode wins, as in GNU tar

  constructor(private readonly root: string) {}

  /** Checks the entry and makes what it needs; returns where a file goes, or null for nothing more to do. */
  async enter(header: LayoutEntry): Promise<string | null> {
    const rel = safeRelativePath(header.path);
    if (rel === '') {
      if (header.type === 'directory') return null; // "./": the release root itself
      throw unsafePath(header.path, 'has an empty path');
    }
    if (header.type !== 'file' && header.type !== 'directory' && header.type !== 'symlink') throw unsupported(header);
    const existing = this.seen.get(rel);
    if (existing !== undefined) {
      if (existing === 'directory' && header.type === 'directory') {
        this.dirModes.set(rel, header.mode);
        return null;
      }
      throw unsafePath(header.path, 'appears twice; a second copy could replace what the first one checked');
    }
    await ensureParents(this.root, rel, this.seen, header.path);
    const target = join(this.root, rel);
    this.seen.set(rel, header.type);
    if (header.type === 'directory') {
      await mkdir(target, { mode: 0o700 });
      this.dirModes.set(rel, header.mode);
      return null;
    }
    if (header.type === 'symlink') {
      const linkTarget = header.linkTarget ?? '';
      if (linkTarget === '' || linkTarget.includes('\0')) throw unsafeLink(header.path, linkTarget, 'has an empty or invalid target');
      this.links.set(rel, linkTarget);
      const verdict = checkLink(rel, linkTarget, this.links);
      if (verdict !== null) throw unsafeLink(header.path, linkTarget, describeVerdict(verdict));
      await symlink(linkTarget, target);
    }
    return target;
  }

  /** Directories made so far (for the disk use `status` shows: a release's own blocks). */
  get directories(): number {
    let n = 0;
    for (const kind of this.seen.values()) if (kind === 'directory') n++;
    return n;
  }

  /** A later link can change where an earlier one leads; judges them all against the final tree. */
  checkLinks(): void {
    for (const [rel, linkTarget] of this.links) {
      const verdict = checkLink(rel, linkTarget, this.links);
      if (verdict !== null) throw unsafeLink(rel, linkTarget, describeVerdict(verdict));
    }
  }

  /** Sets directory modes deepest first, so a read-only directory is locked only after its contents are in place. */
  async applyDirectoryModes(): Promise<void> {
    const levels: [string, number][][] = [];
    for (const d of this.dirModes) (levels[d[0].split('/').length] ??= []).push(d);
    for (const level of levels.reverse()) {
      if (level !== undefined) await forEachBounded(level, ([rel, mode]) => chmod(join(this.root, rel), mode & 0o777));
    }
  }
}

/** `a/b/c`: no NUL, no leading, trailing or doubled slash. */
const CANONICAL_PATH = /^[^/\0]+(\/[^/\0]+)*$/;
/** A "." or ".." part. */
const DOT_PART = /(^|\/)\.\.?(\/|$)/;

/** Normalises an entry path to `a/b/c` form, refusing absolute paths and `..` anywhere. */
export function safeRelativePath(path: string): string {
  // The common case, as Slipway writes paths: nothing to normalise (no empty, "." or ".." part).
  if (CANONICAL_PATH.test(path) && !DOT_PART.test(path)) return path;
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
  const slash = rel.lastIndexOf('/');
  if (slash === -1 || seen.get(rel.slice(0, slash)) === 'directory') return; // its parent was checked when it was made
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
export const SMALL_FILE = 256 * 1024;

export async function collect(body: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  // A single chunk is a view of gunzip's output, which zlib never reuses once handed out.
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/** Streams a big body to a new file; returns the sha256 hex of the body when asked (for the file store). */
export async function writeBody(target: string, body: AsyncIterable<Buffer>, mode: number, hashIt: boolean): Promise<string | undefined> {
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

export function asArchiveError(err: unknown): unknown {
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

function unsupported(header: LayoutEntry): SlipwayError {
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
