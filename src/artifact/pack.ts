import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../core/errors.js';
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

  await mkdir(dirname(outFile), { recursive: true });
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString('hex')}.tmp`);
  const tap = new DigestTap();
  const [gzip, canonicalHeader] = createReproducibleGzip();
  try {
    await pipeline(Readable.from(writeTar(entries.map(toTarEntry))), gzip, canonicalHeader, tap, createWriteStream(tmp, { mode: 0o644 }));
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
      hint: 'Check the service\'s source path in slipway.yaml.',
      details: { path: dir },
    });
  }
}

function toTarEntry(e: SourceEntry): TarWriteEntry {
  const common = { path: e.relPath, mtime: 0, uid: 0, gid: 0, uname: '', gname: '' };
  switch (e.type) {
    case 'directory': return { ...common, type: 'directory', mode: 0o755, size: 0 };
    case 'symlink': return { ...common, type: 'symlink', mode: 0o777, size: 0, linkTarget: e.linkTarget! };
    case 'file': return {
      ...common,
      type: 'file',
      mode: e.mode & 0o111 ? 0o755 : 0o644,
      size: e.size,
      body: () => createReadStream(e.absPath),
    };
  }
}
