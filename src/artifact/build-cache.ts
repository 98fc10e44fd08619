/**
 * The build cache (issue 13): a service with a build command can declare
 * `cache: { key: [package-lock.json], paths: [node_modules] }`. Before the build command runs in
 * its clean copy, the paths saved by an earlier build with the same key are copied in; after a
 * successful build they are saved under the key. The key is the sha256 of the key files' contents,
 * the paths, the build command and the platform, so changing any of them is a miss. Like a CI
 * cache, the build command still runs: one that finds its work done (`npm install`,
 * `[ -d node_modules ] || npm ci`) finishes at once.
 *
 * Entries are copied both ways, never hard-linked: the build command may change what it finds, and
 * must not change the cache through it. `.slipway/artifacts/build-cache/<source>/<key>/`; the two
 * newest keys per source are kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IgnoreRules } from './ignore-rules.js';
import { copySourceTree, listSourceTree } from './source-tree.js';

export interface BuildCacheSpec {
  /** Files (relative to the source) whose content forms the key. */
  key: readonly string[];
  /** Files or directories (relative to the source) saved after the build and restored before the next. */
  paths: readonly string[];
}

/** Keys kept per source: the current one and the one before (a rollback's). */
const KEPT = 2;

export class BuildCache {
  private readonly dir: string;

  /** `root`: the store's build-cache directory; `source`: what identifies the service's source. */
  constructor(root: string, source: string) {
    this.dir = join(root, createHash('sha256').update(source).digest('hex').slice(0, 32));
  }

  /** The key for the tree in `buildDir` (the clean copy, before the build runs). */
  async keyOf(buildDir: string, spec: BuildCacheSpec, command: string): Promise<string> {
    const files: [string, string | null][] = [];
    for (const k of spec.key) {
      const content = await readFile(join(buildDir, k)).catch(() => null);
      files.push([k, content && createHash('sha256').update(content).digest('hex')]);
    }
    const doc = { version: 1, command, paths: spec.paths, platform: process.platform, arch: process.arch, files };
    return createHash('sha256').update(JSON.stringify(doc)).digest('hex');
  }

  /** Copies the saved paths into `buildDir`; false (nothing copied) when the key was never saved. */
  async restore(key: string, spec: BuildCacheSpec, buildDir: string): Promise<boolean> {
    const entry = join(this.dir, key);
    if (!existsSync(join(entry, '.complete'))) return false;
    for (const p of spec.paths) await copyPath(join(entry, 'paths', p), join(buildDir, p));
    await utimes(entry, new Date(), new Date()).catch(() => undefined); // recently used: kept longer
    return true;
  }

  /** Saves the paths as the build left them under `key`, replacing an earlier save of that key. */
  async save(key: string, spec: BuildCacheSpec, buildDir: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      let bytes = 0;
      for (const p of spec.paths) bytes += await copyPath(join(buildDir, p), join(tmp, 'paths', p));
      await mkdir(tmp, { recursive: true, mode: 0o700 });
      await writeFile(join(tmp, '.complete'), JSON.stringify({ bytes }), { mode: 0o600 });
      await rm(join(this.dir, key), { recursive: true, force: true });
      await rename(tmp, join(this.dir, key));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    await this.prune();
  }

  private async prune(): Promise<void> {
    const names = (await readdir(this.dir).catch(() => [])).filter((n) => /^[0-9a-f]{64}$/.test(n));
    const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(this.dir, n))).mtimeMs })));
    dated.sort((a, b) => b.t - a.t);
    for (const { n } of dated.slice(KEPT)) await rm(join(this.dir, n), { recursive: true, force: true });
  }
}

/**
 * Copies a file or directory tree (symlinks as they are; copy-on-write clones where the file
 * system has them); returns the bytes of the files copied.
 */
async function copyPath(from: string, to: string): Promise<number> {
  const st = await lstat(from).catch(() => undefined);
  if (st === undefined) return 0; // the build did not make it (or the save did not have it): nothing to copy
  await mkdir(dirname(to), { recursive: true, mode: 0o700 }); // private like all of .slipway/; contents keep their modes
  if (!st.isDirectory()) {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
    return st.size;
  }
  const entries = await listSourceTree(from, { excludeNames: [], ignore: IgnoreRules.none });
  await mkdir(to, { mode: 0o700 });
  await copySourceTree(entries, to);
  await chmod(to, st.mode & 0o777);
  return entries.reduce((n, e) => n + e.size, 0);
}

/** Bytes saved in the build cache under `root` (from each entry's record: no walk). */
export async function buildCacheBytes(root: string): Promise<number> {
  let bytes = 0;
  for (const source of await readdir(root).catch(() => [] as string[])) {
    for (const key of await readdir(join(root, source)).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(key)) continue;
      const doc = await readFile(join(root, source, key, '.complete'), 'utf8').then(
        (t) => JSON.parse(t) as { bytes?: unknown },
        () => undefined,
      );
      if (typeof doc?.bytes === 'number') bytes += doc.bytes;
    }
  }
  return bytes;
}
