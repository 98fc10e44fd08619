/**
 * Slipway writes its own tar (ADR 0003: digests depend on its exact bytes). This proves the
 * archives are ordinary ones: GNU tar lists and extracts a packed tree with a long path, non-ASCII
 * names, a symlink and an executable bit exactly as Slipway's own extraction does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeTree, tempDir, writeTree } from './artifact-testing.js';
import { extractArchive } from './extract.js';
import { packDirectory } from './pack.js';

const gnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' });
const skip = gnuTar.status === 0 && gnuTar.stdout.includes('GNU tar') ? false : 'GNU tar is not installed';

test('GNU tar lists and extracts a packed tree exactly as Slipway extracts it', { skip }, async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const src = join(dir, 'src');
    const longDir = Array.from({ length: 8 }, (_, i) => `directory-number-${i}`).join('/');
    await writeTree(src, {
      [`${longDir}/a-file-whose-path-is-longer-than-one-hundred-bytes.txt`]: 'long\n',
      'données/über-größe-日本語.txt': 'non-ascii\n',
      'bin/start.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'link-to-start': { link: 'bin/start.sh' },
      'empty/.keep': '',
    });
    assert.ok(
      `${longDir}/a-file-whose-path-is-longer-than-one-hundred-bytes.txt`.length > 155,
      'the long path needs more than ustar prefix+name',
    );
    const archive = join(dir, 'a.tar.gz');
    await packDirectory(src, archive);

    const listed = spawnSync('tar', ['-tvzf', archive], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.ok(
      lines.some((l) => l.startsWith('-rwxr-xr-x') && l.endsWith(' bin/start.sh')),
      listed.stdout,
    );
    assert.ok(
      lines.some((l) => l.startsWith('lrwxrwxrwx') && l.endsWith(' link-to-start -> bin/start.sh')),
      listed.stdout,
    );
    assert.ok(
      lines.some((l) => l.endsWith(' données/über-größe-日本語.txt')),
      listed.stdout,
    );
    assert.ok(
      lines.some((l) => l.endsWith('a-file-whose-path-is-longer-than-one-hundred-bytes.txt')),
      listed.stdout,
    );
    assert.equal(listed.stderr, '', 'GNU tar warns about nothing');

    const byGnu = join(dir, 'gnu');
    const bySlipway = join(dir, 'slipway');
    await mkdir(byGnu);
    const x = spawnSync('tar', ['-xzf', archive, '-C', byGnu], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    await extractArchive(archive, bySlipway);
    const gnuTree = await describeTree(byGnu);
    assert.deepEqual(gnuTree, await describeTree(bySlipway));
    assert.deepEqual(gnuTree, await describeTree(src));
  } finally {
    await cleanup();
  }
});
