import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLines, lastLinesOfInstance, lastLinesOfStream, logPaths, openForAppend, rotateIfLarger } from './log-files.js';

describe('log files', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'slipway-logs-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lastLines reads across chunk boundaries, without and with a trailing newline', async () => {
    const p = join(dir, 'a.log');
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'y'.repeat(i % 97)}`);
    writeFileSync(p, lines.join('\n') + '\n');
    assert.deepEqual(await lastLines(p, 3), lines.slice(-3));
    assert.deepEqual(await lastLines(p, 2000), lines.slice(-2000));
    writeFileSync(p, 'a\nb\nc');
    assert.deepEqual(await lastLines(p, 2), ['b', 'c']);
    assert.deepEqual(await lastLines(p, 10), ['a', 'b', 'c']);
  });

  it('lastLines copes with a line longer than a read chunk, and missing or empty files', async () => {
    const p = join(dir, 'b.log');
    const long = 'z'.repeat(200_000);
    writeFileSync(p, `first\n${long}\nlast\n`);
    assert.deepEqual(await lastLines(p, 2), [long, 'last']);
    assert.deepEqual(await lastLines(join(dir, 'missing.log'), 5), []);
    writeFileSync(p, '');
    assert.deepEqual(await lastLines(p, 5), []);
  });

  it('lastLines reads only the end of a large file', async () => {
    const p = join(dir, 'big.log');
    const fd = openForAppend(p);
    const block = Buffer.from(('x'.repeat(99) + '\n').repeat(10_000)); // 1 MB
    for (let i = 0; i < 50; i++) writeSync(fd, block);
    writeSync(fd, 'the end\n');
    closeSync(fd);
    const t0 = performance.now();
    assert.deepEqual(await lastLines(p, 1), ['the end']);
    assert.ok(performance.now() - t0 < 200, 'a tail of a 50 MB file must not read the whole file');
  });

  it('rotateIfLarger copies then truncates, shifting older files and keeping at most `keep`', () => {
    const p = join(dir, 'web.out.log');
    for (let gen = 1; gen <= 4; gen++) {
      writeFileSync(p, `generation ${gen}\n`.repeat(100));
      assert.equal(rotateIfLarger(p, 100, 2), true);
      assert.equal(statSync(p).size, 0);
    }
    assert.match(readFileSync(`${p}.1`, 'utf8'), /^generation 4\n/);
    assert.match(readFileSync(`${p}.2`, 'utf8'), /^generation 3\n/);
    assert.equal(existsSync(`${p}.3`), false);
    writeFileSync(p, 'small\n');
    assert.equal(rotateIfLarger(p, 100, 2), false);
    assert.equal(rotateIfLarger(join(dir, 'missing.log'), 100, 2), false);
  });

  it('a writer with O_APPEND keeps writing at the start after truncation (no hole of zeros)', () => {
    const p = join(dir, 'w.log');
    const fd = openForAppend(p);
    writeSync(fd, 'a'.repeat(1000) + '\n');
    rotateIfLarger(p, 10, 1);
    writeSync(fd, 'after\n');
    closeSync(fd);
    assert.equal(readFileSync(p, 'utf8'), 'after\n');
  });

  it('lastLinesOfStream reaches into the rotated file; lastLinesOfInstance puts stderr last', async () => {
    const paths = logPaths(dir, 'web-1');
    writeFileSync(`${paths.stdout}.1`, 'o1\no2\n');
    writeFileSync(paths.stdout, 'o3\n');
    assert.deepEqual(await lastLinesOfStream(paths.stdout, 2), ['o2', 'o3']);
    writeFileSync(paths.stderr, 'e1\ne2\ne3\n');
    assert.deepEqual(await lastLinesOfInstance(paths, 10), ['o1', 'o2', 'o3', 'e1', 'e2', 'e3']);
    assert.deepEqual(await lastLinesOfInstance(paths, 4), ['o2', 'o3', 'e2', 'e3']);
    assert.deepEqual(await lastLinesOfInstance(paths, 0), []);
  });
});
