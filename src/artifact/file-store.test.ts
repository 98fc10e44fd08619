import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore } from './artifact-store.js';
import { extractArchive } from './extract.js';
import { packDirectory } from './pack.js';
import { describeTree, tempDir, writeTree, type TreeSpec } from './artifact-testing.js';

const TREE: TreeSpec = {
  'package.json': '{"name":"app"}\n',
  'src/index.js': 'console.log("v1")\n',
  'src/lib/a.js': 'export const a = 1;\n',
  'src/lib/b.js': 'export const b = 2;\n',
  'src/lib/same-as-a.js': 'export const a = 1;\n',
  'bin/start': { content: '#!/bin/sh\nexec node src/index.js\n', mode: 0o755 },
  empty: '',
  static: { dir: true },
  current: { link: 'src' },
  'big.bin': 'x'.repeat(400 * 1024), // over the in-memory limit: streamed, then stored
};

/** Packs `spec` into the store; returns the digest. */
async function release(dir: string, store: ArtifactStore, name: string, spec: TreeSpec): Promise<string> {
  await writeTree(join(dir, name), spec);
  const packed = await packDirectory(join(dir, name), join(dir, `${name}.tar.gz`));
  return store.put(join(dir, `${name}.tar.gz`), packed.digest);
}

async function inode(path: string): Promise<number> {
  return (await stat(path)).ino;
}

test('file store: a release that differs in one file is linked from the last one and is identical to a clean extraction', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const releases = join(t.dir, 'releases');
    const v1 = await release(t.dir, store, 'v1', TREE);
    // v2: one file changed, one file that only changes its executable bit, one new file.
    const v2 = await release(t.dir, store, 'v2', {
      ...TREE,
      'src/index.js': 'console.log("v2")\n',
      'src/lib/b.js': { content: 'export const b = 2;\n', mode: 0o755 },
      'src/new.js': 'new\n',
    });
    const dir1 = await store.materialize(v1, releases);
    const dir2 = await store.materialize(v2, releases);

    // What a user sees is exactly what a plain extraction gives, for both releases.
    await extractArchive(store.path(v1), join(t.dir, 'clean1'));
    await extractArchive(store.path(v2), join(t.dir, 'clean2'));
    assert.deepEqual(await describeTree(dir1), await describeTree(join(t.dir, 'clean1')));
    assert.deepEqual(await describeTree(dir2), await describeTree(join(t.dir, 'clean2')));
    assert.equal((await readFile(join(dir2, 'big.bin'))).length, 400 * 1024);

    // Unchanged files (small and big) are the same inode in both releases: no copy, no disk.
    for (const f of ['package.json', 'src/lib/a.js', 'bin/start', 'empty', 'big.bin']) {
      assert.equal(await inode(join(dir2, f)), await inode(join(dir1, f)), `${f} should be shared`);
    }
    // Identical content is shared across paths, even within the first release (written at once);
    // a different mode is a different file.
    assert.equal(await inode(join(dir1, 'src/lib/same-as-a.js')), await inode(join(dir1, 'src/lib/a.js')));
    assert.notEqual(await inode(join(dir2, 'src/lib/b.js')), await inode(join(dir1, 'src/lib/b.js')));
    assert.notEqual(await inode(join(dir2, 'src/index.js')), await inode(join(dir1, 'src/index.js')));

    // The store holds each content once: v1 has 7 distinct files (a.js = same-as-a.js); v2 adds
    // index.js v2, b.js as 0755 and new.js.
    const usage = await store.files.usage();
    assert.equal(usage.files, 10);
    assert.equal(usage.unusedFiles, 0);
  } finally {
    await t.cleanup();
  }
});

test('file store: garbage collection removes what only a pruned release used, never a file a kept release links', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const releases = join(t.dir, 'releases');
    const v1 = await release(t.dir, store, 'v1', TREE);
    const v2 = await release(t.dir, store, 'v2', { ...TREE, 'src/index.js': 'console.log("v2")\n' });
    await store.materialize(v1, releases);
    const dir2 = await store.materialize(v2, releases);
    const before = await describeTree(dir2);

    // Prune v1 (what retention does), then sweep.
    await store.dematerialize(v1, releases);
    const freed = await store.sweepFiles();
    assert.equal(freed.files, 1, "only v1's src/index.js was used by v1 alone");
    assert.equal(freed.bytes, 'console.log("v1")\n'.length);

    // v2 is untouched, and a later release reuses what v2 still holds.
    assert.deepEqual(await describeTree(dir2), before);
    const usage = await store.files.usage();
    assert.equal(usage.unusedFiles, 0);
    assert.equal(usage.files, 7);
    const again = await store.materialize(v1, releases);
    await extractArchive(store.path(v1), join(t.dir, 'clean1'));
    assert.deepEqual(await describeTree(again), await describeTree(join(t.dir, 'clean1')));

    // Once no release is left, the store empties.
    await store.dematerialize(v1, releases);
    await store.dematerialize(v2, releases);
    await store.sweepFiles();
    assert.deepEqual(await store.files.usage(), { files: 0, bytes: 0, unusedFiles: 0 });
  } finally {
    await t.cleanup();
  }
});

test('file store: a file changed in place in one release is not linked into the next one', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const releases = join(t.dir, 'releases');
    const v1 = await release(t.dir, store, 'v1', TREE);
    const v2 = await release(t.dir, store, 'v2', { ...TREE, 'src/index.js': 'console.log("v2")\n' });
    const dir1 = await store.materialize(v1, releases);
    // The app (or a person) edits shipped files in its release directory: content, then mode.
    await appendFile(join(dir1, 'src/lib/a.js'), '// patched in production\n');
    await chmod(join(dir1, 'package.json'), 0o600);
    await writeFile(join(dir1, 'src/lib/b.js'), 'export const b = 3;\n');

    const dir2 = await store.materialize(v2, releases);
    await extractArchive(store.path(v2), join(t.dir, 'clean2'));
    assert.deepEqual(await describeTree(dir2), await describeTree(join(t.dir, 'clean2')));
  } finally {
    await t.cleanup();
  }
});
