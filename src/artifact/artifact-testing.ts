import { mkdtemp, mkdir, rm, writeFile, symlink, readdir, lstat, readlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeTar, type TarWriteEntry } from './tar-writer.js';

/** Test helpers for the artifact module: temp dirs, trees described as objects, hand-made archives. */

/** A temp directory and its removal. */
export async function tempDir(prefix = 'slipway-artifact-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A tree spec: string = file content, `{ dir: true }`, `{ link: target }`, or `{ content, mode }`. */
export type TreeSpec = Record<string, string | { dir: true; mode?: number } | { link: string } | { content: string; mode: number }>;

/** Creates the tree in `root`, in the order given (so tests can vary creation order). */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [path, what] of Object.entries(spec)) {
    const abs = join(root, path);
    await mkdir(dirname(abs), { recursive: true });
    if (typeof what === 'string') await writeFile(abs, what);
    else if ('dir' in what) await mkdir(abs, { recursive: true, mode: what.mode ?? 0o755 });
    else if ('link' in what) await symlink(what.link, abs);
    else await writeFile(abs, what.content, { mode: what.mode });
  }
}

/** Describes a tree as `path -> kind:mode:content-or-target`, for whole-tree comparisons. */
export async function describeTree(root: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(root, path));
    const mode = (st.mode & 0o777).toString(8);
    if (st.isDirectory()) {
      out[path] = `dir:${mode}`;
      Object.assign(out, await describeTree(root, path));
    } else if (st.isSymbolicLink()) out[path] = `link:${await readlink(join(root, path))}`;
    else out[path] = `file:${mode}:${await readFile(join(root, path), 'utf8')}`;
  }
  return out;
}

/** Writes a .tar.gz made of exactly these entries, safe or not. */
export async function writeArchive(path: string, entries: TarWriteEntry[]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of writeTar(entries)) chunks.push(chunk);
  await writeFile(path, gzipSync(Buffer.concat(chunks)));
}

/** A file entry with text content. */
export function fileEntry(path: string, content: string, mode = 0o644): TarWriteEntry {
  const body = Buffer.from(content);
  return { path, type: 'file', mode, size: body.length, body: () => body };
}
