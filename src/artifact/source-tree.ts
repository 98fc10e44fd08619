import { constants, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, copyFile, symlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { forEachBounded, TimeSlice } from './bounded.js';
import { IgnoreRules } from './ignore-rules.js';
import { checkLink, describeVerdict } from './symlink-safety.js';

/** One file, directory or symlink of a source tree. */
export interface SourceEntry {
  /** `/`-separated path relative to the root. */
  relPath: string;
  absPath: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits as found on disk. */
  mode: number;
  /** Bytes, for files. */
  size: number;
  /** lstat's mtime, ctime and inode: what the pack cache compares to know a file unchanged. */
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  linkTarget?: string;
}

export interface WalkOptions {
  /** Names skipped at any depth (with everything below them). */
  excludeNames: readonly string[];
  /** Rules from the tree's `.slipwayignore`. */
  ignore: IgnoreRules;
}

/** Names that never belong in an artifact: version control and Slipway's own state. */
export const ALWAYS_EXCLUDED = ['.git', '.slipway'] as const;

/**
 * Lists a tree, sorted by the UTF-8 bytes of the path so the order does not depend on the file
 * system or on creation order. Fails on sockets, fifos and devices (nothing sensible to ship) and
 * on symlinks that lead outside the tree, which extraction would refuse anyway: better to say so
 * at build time than at deploy time.
 *
 * Read with synchronous `readdir`/`lstat` calls in time slices (see TimeSlice): microseconds each
 * on a tree the user just wrote, where a promise per call costs a thread-pool trip.
 */
export async function listSourceTree(root: string, options: WalkOptions): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  const slice = new TimeSlice();
  const pending = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const dir = rel === '' ? root : join(root, rel);
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (options.excludeNames.includes(d.name)) continue;
      const relPath = rel === '' ? d.name : `${rel}/${d.name}`;
      // The dirent's type is lstat's (d_type, or an lstat by Node where the file system has none).
      if (options.ignore.ignores(relPath, d.isDirectory())) continue;
      const entry = describe(relPath, join(dir, d.name));
      out.push(entry);
      if (entry.type === 'directory') pending.push(relPath);
      await slice.yieldIfDue();
    }
  }
  sortByPathBytes(out);
  const links = new Map(out.filter((e) => e.type === 'symlink').map((e) => [e.relPath, e.linkTarget!]));
  for (const [path, target] of links) {
    const verdict = checkLink(path, target, links);
    if (verdict !== null) {
      throw SlipwayError.of('ARTIFACT_UNSAFE_LINK', `symlink ${path} -> ${target} ${describeVerdict(verdict)}`, {
        hint: 'Artifacts may only contain symlinks that stay inside the tree; make it relative or add it to .slipwayignore.',
        details: { entry: path, target },
      });
    }
  }
  return out;
}

function describe(relPath: string, absPath: string): SourceEntry {
  const st = lstatSync(absPath);
  const mode = st.mode & 0o7777;
  const times = { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
  if (st.isDirectory()) return { relPath, absPath, type: 'directory', mode, size: 0, ...times };
  if (st.isFile()) return { relPath, absPath, type: 'file', mode, size: st.size, ...times };
  if (st.isSymbolicLink()) return { relPath, absPath, type: 'symlink', mode, size: 0, linkTarget: readlinkSync(absPath), ...times };
  throw SlipwayError.of('ARTIFACT_UNSUPPORTED_ENTRY', `${relPath} is not a file, directory or symlink`, {
    hint: 'Sockets, fifos and devices cannot be packed; add the path to .slipwayignore.',
    details: { entry: relPath },
  });
}

/** Sorts in place by the UTF-8 bytes of `relPath` (each key encoded once, not once per comparison). */
function sortByPathBytes(entries: SourceEntry[]): void {
  const keyed = entries.map((e) => ({ e, key: Buffer.from(e.relPath) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (let i = 0; i < keyed.length; i++) entries[i] = keyed[i]!.e;
}

/**
 * Copies listed entries into `dest` (which must exist), keeping modes and symlinks as they are:
 * directories first (a level at a time, parents before children), then files and symlinks with
 * many copies in flight, then directory modes deepest first, so a read-only directory can still
 * be filled. Files are copied with `COPYFILE_FICLONE`: a copy-on-write clone where the file system
 * has them (btrfs, XFS, APFS), a plain copy elsewhere. Never a hard link: the build command runs in
 * the copy and must not be able to change the source.
 */
export async function copySourceTree(entries: readonly SourceEntry[], dest: string): Promise<void> {
  const dirs = entries.filter((e) => e.type === 'directory');
  const byDepth = groupByDepth(dirs);
  for (const level of byDepth) await forEachBounded(level, (e) => mkdir(join(dest, e.relPath), { mode: 0o700 }));
  await forEachBounded(
    entries.filter((e) => e.type !== 'directory'),
    async (e) => {
      const target = join(dest, e.relPath);
      if (e.type === 'symlink') return symlink(e.linkTarget!, target);
      // libuv's copyfile gives the copy the source's permission bits; only setuid/setgid/sticky need stripping.
      await copyFile(e.absPath, target, constants.COPYFILE_FICLONE);
      if (e.mode & 0o7000) await chmod(target, e.mode & 0o777);
    },
  );
  for (const level of byDepth.reverse()) await forEachBounded(level, (e) => chmod(join(dest, e.relPath), e.mode & 0o777));
}

function groupByDepth(entries: readonly SourceEntry[]): SourceEntry[][] {
  const levels: SourceEntry[][] = [];
  for (const e of entries) {
    let depth = 0;
    for (let i = e.relPath.indexOf('/'); i !== -1; i = e.relPath.indexOf('/', i + 1)) depth++;
    (levels[depth] ??= []).push(e);
  }
  return levels.filter((l) => l !== undefined);
}
