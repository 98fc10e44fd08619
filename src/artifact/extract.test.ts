import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { extractArchive } from './extract.js';
import { packDirectory } from './pack.js';
import type { TarWriteEntry } from './tar-writer.js';
import { FileStore } from './file-store.js';
import { describeTree, fileEntry, tempDir, writeArchive, writeTree } from './artifact-testing.js';

const LONG = `${'long-directory-name-'.repeat(4)}/${'and-a-long-file-name-'.repeat(3)}.txt`;

test('extract: a packed tree round-trips with files, modes, inner symlinks, empty dirs, long and unicode names', async () => {
  const t = await tempDir();
  try {
    // Given a tree with every kind of entry Slipway ships
    assert.ok(LONG.length > 100);
    await writeTree(join(t.dir, 'src'), {
      'index.js': 'console.log(1)\n',
      'bin/run': { content: '#!/bin/sh\n', mode: 0o755 },
      'lib/ünïcødé/日本.txt': 'こんにちは',
      [LONG]: 'long',
      empty: { dir: true },
      'lib/current': { link: 'ünïcødé/日本.txt' },
      up: { link: 'lib/../bin' },
    });
    // When it is packed and extracted
    const packed = await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    const extracted = await extractArchive(join(t.dir, 'a.tar.gz'), join(t.dir, 'release'));
    // Then the release is the tree, with normalised modes
    assert.equal(extracted.files, packed.files);
    assert.deepEqual(await describeTree(join(t.dir, 'release')), {
      bin: 'dir:755',
      'bin/run': 'file:755:#!/bin/sh\n',
      empty: 'dir:755',
      'index.js': 'file:644:console.log(1)\n',
      lib: 'dir:755',
      'lib/current': 'link:ünïcødé/日本.txt',
      'lib/ünïcødé': 'dir:755',
      'lib/ünïcødé/日本.txt': 'file:644:こんにちは',
      [LONG.split('/')[0]!]: 'dir:755',
      [LONG]: 'file:644:long',
      up: 'link:lib/../bin',
    });
    assert.equal(await readFile(join(t.dir, 'release', 'lib', 'current'), 'utf8'), 'こんにちは');
  } finally {
    await t.cleanup();
  }
});

/** Hostile archives, each with the entry the error must name. */
const HOSTILE: { name: string; entries: TarWriteEntry[]; code: string; names: string }[] = [
  {
    name: 'parent traversal',
    entries: [fileEntry('ok.txt', 'ok'), fileEntry('../evil', 'x')],
    code: 'ARTIFACT_UNSAFE_PATH',
    names: '../evil',
  },
  { name: 'nested traversal', entries: [fileEntry('a/../../evil', 'x')], code: 'ARTIFACT_UNSAFE_PATH', names: 'a/../../evil' },
  {
    name: 'absolute path',
    entries: [fileEntry('/tmp/slipway-abs-evil', 'x')],
    code: 'ARTIFACT_UNSAFE_PATH',
    names: '/tmp/slipway-abs-evil',
  },
  {
    name: 'file written through an escaping symlink',
    entries: [{ path: 'out', type: 'symlink', mode: 0o777, size: 0, linkTarget: '../outside' }, fileEntry('out/evil', 'x')],
    code: 'ARTIFACT_UNSAFE_LINK',
    names: 'out',
  },
  {
    name: 'file written through a symlink that looks harmless',
    entries: [
      { path: 'dir', type: 'directory', mode: 0o755, size: 0 },
      { path: 'l', type: 'symlink', mode: 0o777, size: 0, linkTarget: 'dir' },
      fileEntry('l/x', 'x'),
    ],
    code: 'ARTIFACT_UNSAFE_PATH',
    names: 'l/x',
  },
  {
    name: 'symlink to /etc',
    entries: [{ path: 'etc', type: 'symlink', mode: 0o777, size: 0, linkTarget: '/etc' }],
    code: 'ARTIFACT_UNSAFE_LINK',
    names: 'etc',
  },
  {
    name: 'symlink escaping through another symlink',
    entries: [
      { path: 'a/t', type: 'symlink', mode: 0o777, size: 0, linkTarget: 'up/../x' },
      { path: 'a/up', type: 'symlink', mode: 0o777, size: 0, linkTarget: '..' },
    ],
    code: 'ARTIFACT_UNSAFE_LINK',
    names: 'a/t',
  },
  {
    name: 'symlink replaced by a later file entry',
    entries: [{ path: 'x', type: 'symlink', mode: 0o777, size: 0, linkTarget: 'y' }, fileEntry('x', 'overwrite')],
    code: 'ARTIFACT_UNSAFE_PATH',
    names: 'x',
  },
  { name: 'fifo', entries: [{ path: 'pipe', type: 'fifo', mode: 0o644, size: 0 }], code: 'ARTIFACT_UNSUPPORTED_ENTRY', names: 'pipe' },
  {
    name: 'char device',
    entries: [{ path: 'null', type: 'char-device', mode: 0o666, size: 0 }],
    code: 'ARTIFACT_UNSUPPORTED_ENTRY',
    names: 'null',
  },
  {
    name: 'hard link',
    entries: [{ path: 'h', type: 'hardlink', mode: 0o644, size: 0, linkTarget: '/etc/passwd' }],
    code: 'ARTIFACT_UNSUPPORTED_ENTRY',
    names: 'h',
  },
];

for (const c of HOSTILE)
  for (const withStore of [false, true]) {
    const how = withStore ? ', assembling from a file store' : '';
    test(`extract: rejects ${c.name} (${c.code}) and leaves nothing behind${how}`, async () => {
      const t = await tempDir();
      try {
        const parent = join(t.dir, 'releases');
        const fileStore = withStore ? new FileStore(join(t.dir, 'files')) : undefined;
        await writeArchive(join(t.dir, 'evil.tar.gz'), [fileEntry('first.txt', 'written before the bad entry'), ...c.entries]);
        await assert.rejects(extractArchive(join(t.dir, 'evil.tar.gz'), join(parent, 'r1'), { fileStore }), (err: SlipwayError) => {
          assert.equal(err.code, c.code);
          assert.equal(err.kind, 'invalid');
          assert.ok(err.message.includes(`"${c.names}"`), `message names the entry: ${err.message}`);
          return true;
        });
        assert.deepEqual(await readdir(parent), [], 'no release and no temp dir left');
        if (fileStore) {
          // Content stored before the bad entry was found is linked by no release: the next sweep removes it.
          await fileStore.sweep();
          assert.deepEqual(await fileStore.usage(), { files: 0, bytes: 0, unusedFiles: 0 });
        }
        const expected = withStore ? ['evil.tar.gz', 'files', 'releases'] : ['evil.tar.gz', 'releases'];
        assert.deepEqual((await readdir(t.dir)).sort(), expected, 'nothing written outside');
        assert.equal(existsSync('/tmp/slipway-abs-evil'), false);
      } finally {
        await t.cleanup();
      }
    });
  }

test('extract: a truncated archive fails with ARTIFACT_CORRUPT and leaves nothing', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), { 'a.txt': 'a'.repeat(100_000), 'b.txt': 'b' });
    await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    const bytes = await readFile(join(t.dir, 'a.tar.gz'));
    await writeFile(join(t.dir, 'cut.tar.gz'), bytes.subarray(0, bytes.length - 10));
    await assert.rejects(
      extractArchive(join(t.dir, 'cut.tar.gz'), join(t.dir, 'rel', 'r1')),
      (err: SlipwayError) => err.code === 'ARTIFACT_CORRUPT',
    );
    assert.deepEqual(await readdir(join(t.dir, 'rel')), []);
  } finally {
    await t.cleanup();
  }
});

test('extract: an expected digest that does not match fails with ARTIFACT_DIGEST_MISMATCH and leaves nothing', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), { 'a.txt': 'a' });
    await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    const wrong = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      extractArchive(join(t.dir, 'a.tar.gz'), join(t.dir, 'rel', 'r1'), { expectedDigest: wrong }),
      (err: SlipwayError) => err.code === 'ARTIFACT_DIGEST_MISMATCH',
    );
    assert.deepEqual(await readdir(join(t.dir, 'rel')), []);
  } finally {
    await t.cleanup();
  }
});

test('extract: an existing destination is refused with ARTIFACT_DEST_EXISTS and left untouched', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), { 'a.txt': 'new' });
    await writeTree(join(t.dir, 'rel'), { 'a.txt': 'old' });
    await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    await assert.rejects(
      extractArchive(join(t.dir, 'a.tar.gz'), join(t.dir, 'rel')),
      (err: SlipwayError) => err.code === 'ARTIFACT_DEST_EXISTS' && err.kind === 'conflict',
    );
    assert.equal(await readFile(join(t.dir, 'rel', 'a.txt'), 'utf8'), 'old');
  } finally {
    await t.cleanup();
  }
});
