import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStreamAfter, tailStream, type LogPosition } from './log-after.js';
import { formatLogLine } from './log-line.js';

describe('reading a log forward from a cursor', () => {
  let dir: string;
  let path: string;
  let n = 0;
  const T0 = Date.parse('2026-11-30T06:00:00Z');
  /**
   * Appends `count` stamped lines ("line <k>") to the current file. Lines come in bursts of `burst`
   * sharing one stamp, as the log writer stamps every line of one read alike; bursts are 1 ms apart.
   */
  let burst = 1;
  const write = (count: number) => {
    for (let i = 0; i < count; i++, n++) appendFileSync(path, formatLogLine(T0 + Math.floor(n / burst), `line ${n} ${'x'.repeat(n % 50)}`));
  };
  /** Rotation by rename, as the log writer does: `.2` → `.3`, `.1` → `.2`, current → `.1`. */
  const rotate = () => {
    for (let g = 3; g >= 1; g--) if (existsSync(`${path}.${g}`)) renameSync(`${path}.${g}`, `${path}.${g + 1}`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, '');
  };
  /** Pages through everything from `from` on, `max` at a time, each page from the last one's position; `between` runs after each page. */
  const readAll = async (from: number, max: number, between: () => void = () => undefined) => {
    const got: string[] = [];
    let at = from;
    let hint: LogPosition | undefined;
    for (let page = 0; page < 1000; page++) {
      const p = await readStreamAfter(path, 'stdout', at, max, hint);
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
    burst = 1;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('pages through rotated generations oldest first, every line once, also through bursts sharing one stamp', async () => {
    for (const b of [1, 40]) {
      burst = b;
      n = 0;
      for (const g of ['', '.1', '.2', '.3']) rmSync(path + g, { force: true });
      write(30);
      rotate();
      write(30);
      rotate();
      write(25);
      assert.deepEqual(await readAll(-1, 7), expected(0, 85), `bursts of ${b}`);
    }
    // Without a position (none yet, or its file rotated away): the lines stamped at or after the time
    // (in bursts of 40, lines 40 to 79 share stamp T0 + 1).
    const fromTime = await readStreamAfter(path, 'stdout', T0 + 1, 1000);
    assert.deepEqual(
      fromTime.records.map((r) => r.text.split(' ').slice(0, 2).join(' ')),
      expected(40, 85),
    );
  });

  it('loses and repeats nothing while the file is written and rotated between pages', async () => {
    burst = 4;
    let rounds = 0;
    const grow = () => {
      if (rounds++ >= 12) return;
      write(9);
      if (rounds % 3 === 0) rotate();
    };
    write(10);
    assert.deepEqual(await readAll(-1, 5, grow), expected(0, 10 + 12 * 9));
  });

  it('a tail ends at the newest whole line: reading on from its position gives exactly what was written since', async () => {
    burst = 3;
    write(20);
    rotate();
    write(4);
    const tail = await tailStream(path, 'stdout', 6);
    assert.deepEqual(
      tail.records.map((r) => r.text.split(' ').slice(0, 2).join(' ')),
      expected(18, 24),
    );
    appendFileSync(path, formatLogLine(T0 + 8, 'line 24').slice(0, 15));
    assert.deepEqual(
      (await tailStream(path, 'stdout', 1)).records.at(-1)!.text.split(' ')[1],
      '23',
      'a line half written is not in a tail',
    );
    appendFileSync(path, formatLogLine(T0 + 8, 'line 24').slice(15));
    n = 25;
    write(3);
    const on = await readStreamAfter(path, 'stdout', tail.records.at(-1)!.at!, 100, tail.end);
    assert.deepEqual(
      on.records.map((r) => r.text.split(' ').slice(0, 2).join(' ')),
      ['line 24', ...expected(25, 28)],
    );
    assert.deepEqual((await tailStream(path, 'stdout', 0)).records, []);
    // --since cuts the tail by time (ties included).
    assert.deepEqual(
      (await tailStream(path, 'stdout', 100, T0 + 8)).records.map((r) => r.text.split(' ').slice(0, 2).join(' ')),
      expected(24, 28),
    );
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
