import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArtifactStore } from './artifact-store.js';
import { buildArtifact } from './build.js';
import { packDirectory } from './pack.js';
import { tempDir } from './artifact-testing.js';

/**
 * The artifact digest is part of the format (ADR 0003): a rollback or a "nothing changed" check
 * compares digests made by different Slipway versions. These digests were recorded with the
 * one-entry-at-a-time writer that predates the fast paths (issue 13); every later way of packing
 * must give exactly the same bytes for the same tree. If one of these fails, the artifact format
 * changed: that needs an ADR, not a new constant. (They assume the zlib shipped with Node 20–24,
 * whose level-6 deflate output has not changed.)
 */
const GOLDEN = {
  mixed: 'sha256:2cee9285fdce2f7caceb8bb65db983687cc4ee9f8cdfcf8d6f1c741ebbccc61d',
  many: 'sha256:c7c10d6fbfc95d42d35a083fe596879ee87eb3656c0d64067a0a75db61c65999',
  large: 'sha256:b77168f9338cc6822c25b54e50bb3f6635b080e38a08a260f9602339f9755076',
  /** `mixed` through buildArtifact: node_modules left out by the copy. */
  mixedBuilt: 'sha256:06a5bf04a06ec59f55bb809f5d021a0ea1d2bf19fcc99b98723b8c324929198d',
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
  test(`digest golden: the "${name}" fixture tree packs to the digest recorded before the fast paths`, async () => {
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
