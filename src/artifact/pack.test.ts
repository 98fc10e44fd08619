import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { SlipwayError } from '../core/errors.js';
import { packDirectory } from './pack.js';
import { readTar } from './tar-reader.js';
import { tempDir, writeTree, type TreeSpec } from './artifact-testing.js';

const TREE: TreeSpec = {
  'package.json': '{"name":"app"}\n',
  'src/index.js': 'console.log("hi")\n',
  'src/lib/util.js': 'export const x = 1;\n',
  'bin/start': { content: '#!/bin/sh\nexec node src/index.js\n', mode: 0o750 },
  empty: { dir: true },
  current: { link: 'src' },
};

async function listArchive(
  file: string,
): Promise<{ path: string; type: string; mode: number; mtime: number | undefined; uid: number | undefined; uname: string | undefined }[]> {
  const out = [];
  for await (const { header } of readTar(Readable.from([gunzipSync(await readFile(file))]))) {
    out.push({ path: header.path, type: header.type, mode: header.mode, mtime: header.mtime, uid: header.uid, uname: header.uname });
  }
  return out;
}

test('pack: the same tree packs to the same digest regardless of mtimes, creation order and umask-dependent modes', async () => {
  const t = await tempDir();
  try {
    // Given the same tree created twice, in opposite orders, with different mtimes and modes
    await writeTree(join(t.dir, 'one'), TREE);
    const reversed = Object.fromEntries(Object.entries(TREE).reverse());
    await writeTree(join(t.dir, 'two'), reversed);
    await utimes(join(t.dir, 'two', 'package.json'), new Date('2001-01-01'), new Date('2001-01-01'));
    await chmod(join(t.dir, 'two', 'src', 'index.js'), 0o600);
    await chmod(join(t.dir, 'two', 'bin', 'start'), 0o700);
    await chmod(join(t.dir, 'two', 'src'), 0o700);

    // When both are packed
    const a = await packDirectory(join(t.dir, 'one'), join(t.dir, 'out', 'a.tar.gz'));
    const b = await packDirectory(join(t.dir, 'two'), join(t.dir, 'out', 'b.tar.gz'));

    // Then the archives are byte-identical
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(a.digest, b.digest);
    assert.deepEqual(await readFile(join(t.dir, 'out', 'a.tar.gz')), await readFile(join(t.dir, 'out', 'b.tar.gz')));
    assert.equal(a.files, 5);
    assert.equal(a.bytes, (await readFile(join(t.dir, 'out', 'a.tar.gz'))).length);

    // And changing one byte changes the digest
    await writeFile(join(t.dir, 'two', 'src', 'lib', 'util.js'), 'export const x = 2;\n');
    const c = await packDirectory(join(t.dir, 'two'), join(t.dir, 'out', 'c.tar.gz'));
    assert.notEqual(c.digest, a.digest);
  } finally {
    await t.cleanup();
  }
});

test('pack: entries are sorted, with normalised modes, zero mtime/uid and empty owner names', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), TREE);
    await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    const entries = await listArchive(join(t.dir, 'a.tar.gz'));
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.mode.toString(8)]),
      [
        ['bin', 'directory', '755'],
        ['bin/start', 'file', '755'],
        ['current', 'symlink', '777'],
        ['empty', 'directory', '755'],
        ['package.json', 'file', '644'],
        ['src', 'directory', '755'],
        ['src/index.js', 'file', '644'],
        ['src/lib', 'directory', '755'],
        ['src/lib/util.js', 'file', '644'],
      ],
    );
    assert.ok(entries.every((e) => e.mtime === 0 && e.uid === 0 && e.uname === ''));
  } finally {
    await t.cleanup();
  }
});

test('pack: the gzip header carries no mtime, no file name and a fixed OS byte', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), TREE);
    await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    const head = (await readFile(join(t.dir, 'a.tar.gz'))).subarray(0, 10);
    assert.deepEqual([...head], [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
  } finally {
    await t.cleanup();
  }
});

test('pack: .git, .slipway and .slipwayignore matches are left out', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), {
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.slipway/state.json': '{}',
      '.slipwayignore': '# build leftovers\n*.log\n/secrets/\ntmp/\ndocs/**/draft-*.md\n',
      'app.js': 'x',
      'debug.log': 'x',
      'nested/deep/trace.log': 'x',
      'secrets/key': 'x',
      'nested/secrets/kept': 'x',
      'nested/tmp/x': 'x',
      tmp: { dir: true },
      'docs/a/b/draft-1.md': 'x',
      'docs/a/final.md': 'x',
    });
    await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz'));
    const paths = (await listArchive(join(t.dir, 'a.tar.gz'))).map((e) => e.path);
    assert.deepEqual(paths, [
      '.slipwayignore',
      'app.js',
      'docs',
      'docs/a',
      'docs/a/b',
      'docs/a/final.md',
      'nested',
      'nested/deep',
      'nested/secrets',
      'nested/secrets/kept',
    ]);
  } finally {
    await t.cleanup();
  }
});

test('pack: a symlink leading outside the tree is refused at pack time with ARTIFACT_UNSAFE_LINK', async () => {
  const t = await tempDir();
  try {
    await writeTree(join(t.dir, 'src'), { ok: 'x', passwd: { link: '/etc/passwd' } });
    await assert.rejects(
      packDirectory(join(t.dir, 'src'), join(t.dir, 'a.tar.gz')),
      (err: SlipwayError) => err.code === 'ARTIFACT_UNSAFE_LINK' && err.message.includes('passwd'),
    );
  } finally {
    await t.cleanup();
  }
});

test('pack: a missing source directory fails with SOURCE_NOT_FOUND naming the path', async () => {
  const t = await tempDir();
  try {
    const missing = join(t.dir, 'nope');
    await assert.rejects(
      packDirectory(missing, join(t.dir, 'a.tar.gz')),
      (err: SlipwayError) => err.kind === 'invalid' && err.code === 'SOURCE_NOT_FOUND' && err.message.includes(missing),
    );
  } finally {
    await t.cleanup();
  }
});
