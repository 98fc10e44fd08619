import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLines, lastLinesOfInstance, linesBackward, logPaths, readInstanceLogs, readStream } from './log-files.js';
import { formatLogLine, formatLogTime, mergeByTime, parseLogLine, parseSince } from './log-line.js';
import { LineSplitter, MAX_LINE_BYTES, RotatingLogFile, Stamper } from './log-writer.js';

describe('log files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-logs-'));
  });
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
    const block = Buffer.from(('x'.repeat(99) + '\n').repeat(10_000)); // 1 MB
    for (let i = 0; i < 50; i++) appendFileSync(p, block);
    appendFileSync(p, 'the end\n');
    const t0 = performance.now();
    assert.deepEqual(await lastLines(p, 1), ['the end']);
    assert.ok(performance.now() - t0 < 200, 'a tail of a 50 MB file must not read the whole file');
  });

  it('linesBackward yields every line newest first, across chunks, empty lines and a missing final newline', async () => {
    const p = join(dir, 'back.log');
    const lines = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? '' : `line ${i} ${'y'.repeat(i % 131)}`));
    for (const [text, want] of [
      [lines.join('\n') + '\n', lines],
      [lines.join('\n'), lines],
      ['\n', ['']],
      ['\na\n', ['', 'a']],
      ['', []],
    ] as const) {
      writeFileSync(p, text);
      const got: string[] = [];
      for await (const l of linesBackward(p)) got.push(l);
      assert.deepEqual(got.reverse(), want);
    }
  });

  it('a stamped line keeps its time to the microsecond; lines of older files have none', () => {
    const at = Date.parse('2026-11-29T15:45:22.123Z') + 0.456;
    assert.equal(formatLogLine(at, 'hello world'), '2026-11-29T15:45:22.123456Z hello world\n');
    assert.deepEqual(parseLogLine('2026-11-29T15:45:22.123456Z hello world'), { at, text: 'hello world' });
    assert.deepEqual(parseLogLine('listening on 8080'), { at: null, text: 'listening on 8080' });
    assert.equal(formatLogTime(Date.parse('2026-01-01T00:00:00.999Z') + 0.9999), '2026-01-01T00:00:01.000000Z');
    assert.equal(parseSince('90s', 100_000), 10_000);
    assert.equal(parseSince('2026-11-29T15:45:22.123456Z', 0), at);
    assert.equal(parseSince('2026-11-29T15:45:22Z', 0), Date.parse('2026-11-29T15:45:22Z'));
    assert.equal(parseSince('yesterday-ish', 0), undefined);
  });

  it('Stamper hands out strictly increasing times on the microsecond grid, even within one millisecond', () => {
    const s = new Stamper(() => 1000);
    const seen = Array.from({ length: 5 }, () => s.next());
    assert.deepEqual(
      seen.map(formatLogTime),
      ['000', '001', '002', '003', '004'].map((u) => `1970-01-01T00:00:01.000${u}Z`),
    );
  });

  it('LineSplitter returns whole lines across chunks, keeps multi-byte characters, cuts over-long lines', () => {
    const sp = new LineSplitter();
    const bytes = Buffer.from('héllo wörld\nsecond\r\nthi');
    assert.deepEqual(sp.push(bytes.subarray(0, 2)), []); // cuts "é" in half
    assert.deepEqual(sp.push(bytes.subarray(2)), ['héllo wörld', 'second']);
    assert.deepEqual(sp.push(Buffer.from('rd')), []);
    assert.equal(sp.end(), 'third');
    assert.equal(sp.end(), undefined);
    const long = sp.push(Buffer.from('z'.repeat(MAX_LINE_BYTES * 2 + 10) + '\n'));
    assert.deepEqual(
      long.map((l) => l.length),
      [MAX_LINE_BYTES, MAX_LINE_BYTES, 10],
    );
  });

  it('RotatingLogFile rotates by rename between whole lines, keeping at most `keep` old files', () => {
    const p = join(dir, 'web.out.log');
    writeFileSync(p, 'x'.repeat(500) + '\n'); // an oversized file left behind rotates on open
    const f = new RotatingLogFile(p, 300, 2);
    assert.equal(readFileSync(`${p}.1`, 'utf8').length, 501);
    for (let i = 0; i < 100; i++) f.writeLines([`line ${String(i).padStart(3, '0')}`, `more ${String(i).padStart(3, '0')}`], 1000 + i);
    f.close();
    assert.deepEqual(readdirSync(dir).sort(), ['web.out.log', 'web.out.log.1', 'web.out.log.2']);
    const all = [`${p}.2`, `${p}.1`, p].flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      assert.ok(Buffer.byteLength(text) <= 300, `${file} stays within maxBytes`);
      assert.ok(text.endsWith('\n'));
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => parseLogLine(l).text);
    });
    // The newest lines, none split, none missing in between.
    const expected = Array.from({ length: 100 }, (_, i) => [
      `line ${String(i).padStart(3, '0')}`,
      `more ${String(i).padStart(3, '0')}`,
    ]).flat();
    assert.deepEqual(all, expected.slice(expected.length - all.length));
  });

  it('readInstanceLogs merges stdout and stderr by time, reaches into rotated files, and honours since', async () => {
    const paths = logPaths(dir, 'web-1');
    const t = (s: number) => Date.parse('2026-11-29T10:00:00Z') + s * 1000;
    writeFileSync(`${paths.stdout}.1`, formatLogLine(t(1), 'o1') + formatLogLine(t(3), 'o2'));
    writeFileSync(paths.stdout, formatLogLine(t(5), 'o3'));
    writeFileSync(paths.stderr, formatLogLine(t(2), 'e1') + formatLogLine(t(4), 'e2') + formatLogLine(t(6), 'e3'));
    assert.deepEqual(
      (await readStream(paths.stdout, 'stdout', { lines: 2 })).map((e) => e.text),
      ['o2', 'o3'],
    );
    assert.deepEqual(await lastLinesOfInstance(paths, 10), ['o1', 'e1', 'o2', 'e2', 'o3', 'e3']);
    assert.deepEqual(await lastLinesOfInstance(paths, 3), ['e2', 'o3', 'e3']);
    assert.deepEqual(await lastLinesOfInstance(paths, 0), []);
    const since = await readInstanceLogs(paths, { lines: 100, sinceMs: t(3) });
    assert.deepEqual(
      since.map((e) => [e.stream, e.text, e.at]),
      [
        ['stdout', 'o2', t(3)],
        ['stderr', 'e2', t(4)],
        ['stdout', 'o3', t(5)],
        ['stderr', 'e3', t(6)],
      ],
    );
    assert.equal(existsSync(join(dir, 'missing.out.log')), false);
    assert.deepEqual(await readInstanceLogs(logPaths(dir, 'missing'), { lines: 5 }), []);
  });

  it('mergeByTime keeps an unstamped line in its place in its stream', () => {
    const merged = mergeByTime([
      [
        { at: 1, stream: 'stdout', text: 'a' },
        { at: null, stream: 'stdout', text: 'old b' },
        { at: 5, stream: 'stdout', text: 'c' },
      ],
      [{ at: 3, stream: 'stderr', text: 'x' }],
    ]);
    assert.deepEqual(
      merged.map((e) => e.text),
      ['a', 'old b', 'x', 'c'],
    );
  });
});
