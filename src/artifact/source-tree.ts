import { lstat, readdir, readlink, mkdir, copyFile, symlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
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
 */
export async function listSourceTree(root: string, options: WalkOptions): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  await walk(root, '', options, out);
  out.sort((a, b) => Buffer.compare(Buffer.from(a.relPath), Buffer.from(b.relPath)));
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

async function walk(root: string, rel: string, options: WalkOptions, out: SourceEntry[]): Promise<void> {
  const dir = rel === '' ? root : join(root, rel);
  for (const name of await readdir(dir)) {
    if (options.excludeNames.includes(name)) continue;
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const absPath = join(dir, name);
    const st = await lstat(absPath);
    if (options.ignore.ignores(relPath, st.isDirectory())) continue;
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      out.push({ relPath, absPath, type: 'directory', mode, size: 0 });
      await walk(root, relPath, options, out);
    } else if (st.isFile()) {
      out.push({ relPath, absPath, type: 'file', mode, size: st.size });
    } else if (st.isSymbolicLink()) {
      out.push({ relPath, absPath, type: 'symlink', mode, size: 0, linkTarget: await readlink(absPath) });
    } else {
      throw SlipwayError.of('ARTIFACT_UNSUPPORTED_ENTRY', `${relPath} is not a file, directory or symlink`, {
        hint: 'Sockets, fifos and devices cannot be packed; add the path to .slipwayignore.',
        details: { entry: relPath },
      });
    }
  }
}

/**
 * Copies listed entries into `dest` (which must exist), keeping modes and symlinks as they are.
 * Directory modes are applied last so a read-only directory can still be filled.
 */
export async function copySourceTree(entries: readonly SourceEntry[], dest: string): Promise<void> {
  // Sorted order puts every directory before its contents.
  for (const e of entries) {
    const target = join(dest, e.relPath);
    if (e.type === 'directory') await mkdir(target, { mode: 0o700 });
    else if (e.type === 'symlink') await symlink(e.linkTarget!, target);
    else {
      await copyFile(e.absPath, target);
      await chmod(target, e.mode & 0o777);
    }
  }
  for (const e of [...entries].reverse()) {
    if (e.type === 'directory') await chmod(join(dest, e.relPath), e.mode & 0o777);
  }
}
