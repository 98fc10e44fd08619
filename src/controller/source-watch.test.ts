import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, renameSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceFingerprint, watchedSourceFingerprint } from './drift.js';
import { closeSourceWatches } from './source-watch.js';

describe('watched source fingerprint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-watch-'));
  after(() => {
    closeSourceWatches();
    rmSync(dir, { recursive: true, force: true });
  });

  it('equals a fresh walk after every kind of change, with no wait in between', async () => {
    writeFileSync(join(dir, 'a.js'), 'one');
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib/b.js'), 'two');
    const same = async (what: string) =>
      assert.equal(await watchedSourceFingerprint(dir, undefined), await sourceFingerprint(dir, undefined), what);
    await same('first walk');
    await same('second walk (now trusted)');
    await same('kept');
    // The same size and a later mtime: only a watch (or a walk) can tell.
    writeFileSync(join(dir, 'lib/b.js'), 'TWO');
    utimesSync(join(dir, 'lib/b.js'), new Date(), new Date(Date.now() + 5000));
    await same('a file edited in place, in a subdirectory');
    await same('again');
    mkdirSync(join(dir, 'lib/deep'));
    await same('a new directory');
    await same('and trusted');
    writeFileSync(join(dir, 'lib/deep/c.js'), 'three');
    await same('a file in the new directory (watched too)');
    renameSync(join(dir, 'a.js'), join(dir, 'a2.js'));
    await same('a rename');
    rmSync(join(dir, 'lib'), { recursive: true });
    await same('a directory removed');
    writeFileSync(join(dir, '.slipwayignore'), 'a2.js\n');
    await same('an ignore file');
  });
});
