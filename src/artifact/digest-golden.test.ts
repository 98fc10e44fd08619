import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { ArtifactStore } from './artifact-store.js';
import { buildArtifact } from './build.js';
import { packDirectory } from './pack.js';
import { describeTree, tempDir } from './artifact-testing.js';
import { extractArchive } from './extract.js';
import { IgnoreRules } from './ignore-rules.js';
import { ALWAYS_EXCLUDED, listSourceTree } from './source-tree.js';
import { writeTar } from './tar-writer.js';

/**
 * The artifact digest is part of the format (ADR 0003): a rollback or a "nothing changed" check
 * compares digests made by different Slipway versions. These digests were recorded when ADR 0015
 * made every tar entry its own deflate segment (so a one-file change reuses the other segments);
 * every way of packing (fresh, reusing a previous archive's segments, through a build copy) must
 * give exactly the same bytes for the same tree. If one of these fails, the artifact format
 * changed: that needs an ADR, not a new constant. (They assume the zlib shipped with Node 20–24,
 * whose level-6 deflate output has not changed.)
 */
const GOLDEN = {
  mixed: 'sha256:3f79cd50867846904b7b9da1cdaa2c2cea9bb85813fa64bc97b181b8e0c104bc',
  many: 'sha256:cf1ef750dd599932a43a788899b8d727038572530e8de2bacd041ec2293c559b',
  large: 'sha256:45afc6dd48f11c24976e4f1584137c8166c5d953c1af76c299453f179dcc3ea3',
  /** `mixed` through buildArtifact: node_modules left out by the copy. */
  mixedBuilt: 'sha256:694257e5eb341c2d8c29d87dd350fbf01d2d21a38178935136fe358edcf79f34',
};

/**
 * The same trees in the format before ADR 0015 (one deflate stream over the whole tar), as
 * recorded then. Releases made before the change have these digests; they must still materialize
 * (and so roll back) exactly.
 */
const GOLDEN_BEFORE_0015 = {
  mixed: 'sha256:2cee9285fdce2f7caceb8bb65db983687cc4ee9f8cdfcf8d6f1c741ebbccc61d',
  many: 'sha256:c7c10d6fbfc95d42d35a083fe596879ee87eb3656c0d64067a0a75db61c65999',
  large: 'sha256:b77168f9338cc6822c25b54e50bb3f6635b080e38a08a260f9602339f9755076',
};

/** A deterministic byte generator (LCG), so fixtures are the same on every machine. */
function bytes(seed: number, length: number, text: boolean): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = text ? 0x20 + ((x >>> 16) % 90) : (x >>> 16) & 0xff;
  }
  if (text) for (let i = 63; i < length; i += 64) out[i] = 0x0a;
  return out;
}

async function put(root: string, rel: string, content: Buffer | string, mode = 0o644): Promise<void> {
  const abs = join(root, rel);
  await mkdir(dirname(abs), { recursive: true });
  await writeFile(abs, content);
  await chmod(abs, mode);
}

/** Every kind of entry the format has: PAX paths and link targets, UTF-8 names, odd sizes, modes. */
async function mixedTree(root: string): Promise<void> {
  await put(root, 'package.json', '{"name":"app"}\n');
  await put(root, 'src/index.js', 'console.log("hi")\n');
  await put(root, 'bin/start', '#!/bin/sh\nexec node src/index.js\n', 0o750);
  await put(root, 'empty-file', '');
  await put(root, 'exactly-512', bytes(1, 512, true));
  await put(root, 'one-over-512', bytes(2, 513, true));
  await put(root, 'multi-chunk.bin', bytes(3, 70_000, false));
  await put(root, 'dé/ünïcødé-名前.txt', 'utf-8 names go in PAX records\n');
  await put(root, `${'long-directory-name/'.repeat(6)}and-a-file-whose-path-is-over-100-bytes.txt`, 'pax path\n');
  await put(root, '.slipwayignore', '*.log\n/tmp/\n');
  await put(root, 'debug.log', 'ignored\n');
  await put(root, 'tmp/scratch', 'ignored\n');
  await put(root, 'node_modules/dep/index.js', 'module.exports = 1;\n');
  await mkdir(join(root, 'empty-dir'));
  await symlink('src', join(root, 'current'));
  await symlink(`${'long-directory-name/'.repeat(6)}and-a-file-whose-path-is-over-100-bytes.txt`, join(root, 'long-link'));
  await symlink('missing-but-inside', join(root, 'dangling'));
}

/** Many small files of varied sizes in nested directories, as a dependency tree has. */
async function manyTree(root: string): Promise<void> {
  let seed = 42;
  for (let d = 0; d < 12; d++) {
    for (let f = 0; f < 30; f++) {
      seed = (Math.imul(seed, 69069) + 1) >>> 0;
      const size = seed % 9000;
      const rel = d % 3 === 0 ? `pkg${d}/lib/deep/f${f}.js` : `pkg${d}/f${f}.js`;
      await put(root, rel, bytes(seed, size, f % 5 !== 0), f % 7 === 0 ? 0o755 : 0o644);
    }
  }
}

/** Big bodies: incompressible and highly compressible, larger than any stream buffer. */
async function largeTree(root: string): Promise<void> {
  await put(root, 'random.bin', bytes(7, 3 * 1024 * 1024 + 17, false));
  await put(root, 'zeros.bin', Buffer.alloc(5 * 1024 * 1024));
  await put(root, 'small.txt', 'after the big ones\n');
}

const TREES = { mixed: mixedTree, many: manyTree, large: largeTree } as const;

for (const [name, make] of Object.entries(TREES)) {
  test(`digest golden: the "${name}" fixture tree packs to its recorded digest`, async () => {
    const t = await tempDir();
    try {
      await make(join(t.dir, 'tree'));
      const packed = await packDirectory(join(t.dir, 'tree'), join(t.dir, 'out.tar.gz'));
      assert.equal(packed.digest, GOLDEN[name as keyof typeof TREES]);
    } finally {
      await t.cleanup();
    }
  });
}

for (const [name, make] of Object.entries(TREES)) {
  test(`digest golden: the "${name}" tree packs to the same bytes when the previous archive's segments are reused`, async () => {
    const t = await tempDir();
    try {
      const tree = join(t.dir, 'tree');
      await make(tree);
      await writeFile(join(tree, 'extra.txt'), 'a file the next build will not have\n');
      const first = await packDirectory(tree, join(t.dir, 'first.tar.gz'));
      await rm(join(tree, 'extra.txt'));
      const reused = await packDirectory(tree, join(t.dir, 'again.tar.gz'), {
        previous: { archive: join(t.dir, 'first.tar.gz'), index: first.index },
      });
      assert.ok(reused.reused > 0, 'segments were copied from the previous archive');
      assert.equal(reused.digest, GOLDEN[name as keyof typeof TREES]);
      const gunzipped = gunzipSync(await readFile(join(t.dir, 'again.tar.gz')));
      assert.equal(gunzipped.length % 512, 0, 'a whole tar, CRC and length checked by gunzip');
    } finally {
      await t.cleanup();
    }
  });

  test(`digest golden: a "${name}" release packed before ADR 0015 still materializes exactly (rollback to it)`, async () => {
    const t = await tempDir();
    try {
      const tree = join(t.dir, 'tree');
      await make(tree);
      const old = join(t.dir, 'old.tar.gz');
      await packBefore0015(tree, old);
      const store = new ArtifactStore(join(t.dir, 'store'));
      const digest = await store.put(old);
      assert.equal(digest, GOLDEN_BEFORE_0015[name as keyof typeof TREES]);
      // A newer release of the same tree goes through the new format and fills the file store…
      const built = await buildArtifact({ sourceDir: tree, workRoot: join(t.dir, 'work'), store });
      assert.notEqual(built.digest, digest);
      await store.materialize(built.digest, join(t.dir, 'releases'));
      // …and the old one (no index) is extracted from its archive, as before.
      const dir = await store.materialize(digest, join(t.dir, 'releases'));
      const clean = join(t.dir, 'clean');
      await extractArchive(store.path(digest), clean);
      assert.deepEqual(await describeTree(dir), await describeTree(clean));
    } finally {
      await t.cleanup();
    }
  });
}

/** The packer before ADR 0015: the whole tar through one gzip stream at level 6, canonical header. */
async function packBefore0015(dir: string, out: string): Promise<void> {
  const entries = await listSourceTree(dir, { excludeNames: [...ALWAYS_EXCLUDED], ignore: await IgnoreRules.load(dir) });
  const chunks: Buffer[] = [];
  const tarEntries = entries.map((e) => ({
    path: e.relPath,
    type: e.type,
    mode: e.type === 'directory' ? 0o755 : e.type === 'symlink' ? 0o777 : e.mode & 0o111 ? 0o755 : 0o644,
    size: e.type === 'file' ? e.size : 0,
    linkTarget: e.linkTarget,
    mtime: 0,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    body: e.type === 'file' ? () => createReadStream(e.absPath) : undefined,
  }));
  for await (const chunk of writeTar(tarEntries)) chunks.push(chunk);
  const gz = gzipSync(Buffer.concat(chunks), { level: 6 });
  Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]).copy(gz, 0);
  await writeFile(out, gz);
}

for (const buildCommand of [undefined, 'true']) {
  const how = buildCommand === undefined ? 'no build command: the source packed directly' : 'a build command: a clean copy, then pack';
  test(`digest golden: buildArtifact without node_modules gives the recorded digest (${how})`, async () => {
    const t = await tempDir();
    try {
      await mixedTree(join(t.dir, 'tree'));
      const store = new ArtifactStore(join(t.dir, 'store'));
      const built = await buildArtifact({ sourceDir: join(t.dir, 'tree'), workRoot: join(t.dir, 'work'), store, buildCommand });
      assert.equal(built.digest, GOLDEN.mixedBuilt);
      assert.ok(store.has(built.digest));
    } finally {
      await t.cleanup();
    }
  });
}
