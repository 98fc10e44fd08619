import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStreamAfter, type LogPosition } from './log-after.js';
import { formatLogLine } from './log-line.js';

describe('reading a log forward from a cursor', () => {
  let dir: string;
  let path: string;
  let n = 0;
  const T0 = Date.parse('2026-11-30T06:00:00Z');
  /** Appends `count` stamped lines ("line <k>") to the current file, each 1 ms after the last. */
  const write = (count: number) => {
    for (let i = 0; i < count; i++, n++) appendFileSync(path, formatLogLine(T0 + n, `line ${n} ${'x'.repeat(n % 50)}`));
  };
  /** Rotation by rename, as the log writer does: `.2` → `.3`, `.1` → `.2`, current → `.1`. */
  const rotate = () => {
    for (let g = 3; g >= 1; g--) if (existsSync(`${path}.${g}`)) renameSync(`${path}.${g}`, `${path}.${g + 1}`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, '');
  };
  /** Pages through everything after `from`, `max` at a time, with or without position hints; `between` runs after each page. */
  const readAll = async (from: number, max: number, hints: boolean, between: () => void = () => undefined) => {
    const got: string[] = [];
    let at = from;
    let hint: LogPosition | undefined;
    for (let page = 0; page < 1000; page++) {
      const p = await readStreamAfter(path, 'stdout', at, max, hints ? hint : undefined);
      assert.ok(p.records.length <= max);
      got.push(...p.records.map((r) => r.text.split(' ').slice(0, 2).join(' ')));
      at = p.records.at(-1)?.at ?? at;
      hint = p.end;
      between();
      if (!p.more && p.records.length === 0) return got;
    }
    throw new Error('did not finish');
  };
  const expected = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-log-after-'));
    path = join(dir, 'web-1.out.log');
    n = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('pages through rotated generations oldest first, every line once, with and without position hints', async () => {
    write(30);
    rotate();
    write(30);
    rotate();
    write(25);
    for (const hints of [true, false]) assert.deepEqual(await readAll(-1, 7, hints), expected(0, 85), `hints: ${hints}`);
    // From a cursor inside the middle generation: only what follows it.
    assert.deepEqual(await readAll(T0 + 40, 7, false), expected(41, 85));
  });

  it('loses and repeats nothing while the file is written and rotated between pages', async () => {
    write(10);
    let rounds = 0;
    const grow = () => {
      if (rounds++ >= 12) return;
      write(9);
      if (rounds % 3 === 0) rotate();
    };
    for (const hints of [true, false]) {
      rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), 'slipway-log-after-'));
      path = join(dir, 'web-1.out.log');
      n = 0;
      rounds = 0;
      write(10);
      assert.deepEqual(await readAll(-1, 5, hints, grow), expected(0, 10 + 12 * 9), `hints: ${hints}`);
    }
  });

  it('leaves a line still being written; takes it once whole', async () => {
    write(2);
    appendFileSync(path, formatLogLine(T0 + 2, 'line 2 half').slice(0, 20));
    const first = await readStreamAfter(path, 'stdout', -1, 10);
    assert.deepEqual(
      first.records.map((r) => r.text),
      ['line 0 ', 'line 1 x'],
    );
    appendFileSync(path, formatLogLine(T0 + 2, 'line 2 half').slice(20));
    const next = await readStreamAfter(path, 'stdout', first.records.at(-1)!.at!, 10, first.end);
    assert.deepEqual(
      next.records.map((r) => r.text),
      ['line 2 half'],
    );
    assert.deepEqual(await readStreamAfter(join(dir, 'missing.log'), 'stdout', 0, 10), { records: [], more: false, end: undefined });
  });
});
