/**
 * ADR 0015: a build reuses the previous archive's segments for unchanged files and the release is
 * assembled from the archive's index by hard links; whatever the path, the release is the one a
 * clean extraction of the archive gives, and the archive is the one a fresh pack gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore } from './artifact-store.js';
import { readIndex, writeIndex } from './archive-index.js';
import { buildArtifact } from './build.js';
import { extractArchive } from './extract.js';
import { packDirectory } from './pack.js';
import { describeTree, tempDir, writeTree, type TreeSpec } from './artifact-testing.js';

const TREE: TreeSpec = {
  'package.json': '{"name":"app"}\n',
  'src/index.js': 'console.log("v1")\n',
  'src/lib/a.js': 'export const a = 1;\n',
  'bin/start': { content: '#!/bin/sh\nexec node src/index.js\n', mode: 0o755 },
  empty: '',
  current: { link: 'src' },
  'big.bin': 'x'.repeat(400 * 1024),
};

interface Project {
  /** The temporary directory everything lives in. */
  dir: string;
  src: string;
  store: ArtifactStore;
  build: () => ReturnType<typeof buildArtifact>;
  /** Builds v1 and materializes it under `dir/releases`, changes one file (src/index.js) and builds v2. */
  twoBuilds: () => Promise<{ v1: Awaited<ReturnType<typeof buildArtifact>>; v2: Awaited<ReturnType<typeof buildArtifact>> }>;
}

/** Runs `fn` on TREE in a fresh temporary directory with a store of its own, removed afterwards. */
async function withProject(fn: (p: Project) => Promise<void>): Promise<void> {
  const t = await tempDir();
  try {
    const src = join(t.dir, 'src');
    await writeTree(src, TREE);
    // Older than the pack cache's racy window, so the cache trusts the stat fields.
    const old = new Date(Date.now() - 60_000);
    for (const f of ['package.json', 'src/index.js', 'src/lib/a.js', 'bin/start', 'empty', 'big.bin']) await utimes(join(src, f), old, old);
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const build = () => buildArtifact({ sourceDir: src, workRoot: join(t.dir, 'work'), store });
    const twoBuilds = async () => {
      const v1 = await build();
      await store.materialize(v1.digest, join(t.dir, 'releases'));
      await writeFile(join(src, 'src/index.js'), 'console.log("v2")\n');
      return { v1, v2: await build() };
    };
    await fn({ dir: t.dir, src, store, build, twoBuilds });
  } finally {
    await t.cleanup();
  }
}

async function cleanExtraction(store: ArtifactStore, digest: string, dir: string): Promise<Record<string, string>> {
  await extractArchive(store.path(digest), dir);
  return describeTree(dir);
}

test('index: a one-file change reuses every other segment, gives the bytes of a fresh pack, and assembles the clean extraction', () =>
  withProject(async ({ dir, src, store, twoBuilds }) => {
    const { v1, v2 } = await twoBuilds();
    assert.equal(v1.reused, 0);
    assert.notEqual(v2.digest, v1.digest);
    const entries = store.indexed(v2.digest)!.index.entries.length;
    assert.equal(v2.reused, entries - 1, 'only the changed file was compressed');
    const fresh = await packDirectory(src, join(dir, 'fresh.tar.gz'));
    assert.equal(fresh.digest, v2.digest, 'same bytes as packing from scratch');
    // The release comes from the index: unchanged files are links to v1's, the changed one read from its segment.
    const r1 = await store.materialize(v1.digest, join(dir, 'releases'));
    const r2 = await store.materialize(v2.digest, join(dir, 'releases'));
    assert.equal((await stat(join(r2, 'big.bin'))).ino, (await stat(join(r1, 'big.bin'))).ino);
    assert.notEqual((await stat(join(r2, 'src/index.js'))).ino, (await stat(join(r1, 'src/index.js'))).ino);
    assert.deepEqual(await describeTree(r2), await cleanExtraction(store, v2.digest, join(dir, 'clean')));
  }));

test('index: an unchanged tree is the previous archive (not even written again)', () =>
  withProject(async ({ store, build }) => {
    const v1 = await build();
    const before = (await stat(store.path(v1.digest))).mtimeMs;
    const again = await build();
    assert.equal(again.digest, v1.digest);
    assert.equal((await stat(store.path(v1.digest))).mtimeMs, before);
  }));

test('index: a file rewritten with the same size and its old mtime put back is still packed anew (ctime)', () =>
  withProject(async ({ src, build }) => {
    const v1 = await build();
    const path = join(src, 'src/lib/a.js');
    const { mtime, atime } = await stat(path);
    await writeFile(path, 'export const a = 9;\n');
    await utimes(path, atime, mtime);
    const v2 = await build();
    assert.notEqual(v2.digest, v1.digest);
  }));

test('index: an index that does not agree with its archive is not trusted: the release is the clean extraction', () =>
  withProject(async ({ dir, store, twoBuilds }) => {
    const { v2 } = await twoBuilds();
    // Tamper with v2's index: the changed file's entry points at another file's segment.
    const path = store.indexPath(v2.digest);
    const index = readIndex(path, v2.digest)!;
    const changed = index.entries.find((e) => e.path === 'src/index.js')!;
    const other = index.entries.find((e) => e.path === 'package.json')!;
    Object.assign(changed, { offset: other.offset, length: other.length });
    writeIndex(path, index);
    const fresh = new ArtifactStore(store.root); // no parsed index kept in memory
    const release = await fresh.materialize(v2.digest, join(dir, 'releases'));
    assert.equal(await readFile(join(release, 'src/index.js'), 'utf8'), 'console.log("v2")\n');
    assert.deepEqual(await describeTree(release), await cleanExtraction(store, v2.digest, join(dir, 'clean')));
  }));

test('index: a corrupt archive is refused even when its index is intact', () =>
  withProject(async ({ dir, store, twoBuilds }) => {
    const { v2 } = await twoBuilds();
    const path = store.path(v2.digest);
    const bytes = await readFile(path);
    bytes[bytes.length - 3]! ^= 0xff; // the gzip trailer: no segment is read from there
    await chmod(path, 0o644);
    await writeFile(path, bytes);
    await assert.rejects(store.materialize(v2.digest, join(dir, 'releases')), { code: 'ARTIFACT_DIGEST_MISMATCH' });
  }));

test('disk use: the file store count follows stores and sweeps without a walk, and equals a walk', () =>
  withProject(async ({ dir, store, twoBuilds }) => {
    const releases = join(dir, 'releases');
    const { v1, v2 } = await twoBuilds();
    await store.materialize(v2.digest, releases);
    const walked = await store.files.usage();
    let disk = await store.diskUsage(releases);
    assert.deepEqual(disk.files, { count: walked.files, bytes: walked.bytes });
    assert.equal(disk.artifacts.count, 2);
    assert.equal(disk.releases.count, 2);
    assert.ok(disk.releases.bytes > 0 && disk.caches.bytes > 0);
    // A fresh store object (a restarted controller) reads the saved count: no walk needed.
    assert.deepEqual((await new ArtifactStore(store.root).diskUsage(releases)).files, disk.files);
    // Dropping v1 and sweeping frees its one different file.
    await store.dematerialize(v1.digest, releases);
    const swept = await store.sweepFiles();
    assert.equal(swept.files, 1);
    disk = await store.diskUsage(releases);
    assert.equal(disk.files.count, walked.files - 1);
    assert.equal(disk.releases.count, 1);
  }));
