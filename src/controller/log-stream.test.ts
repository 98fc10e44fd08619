/**
 * Following an instance's log files (streamLocalLogs) where the tail ends and the follow begins:
 * real files written as the log writer writes them (whole reads stamped with one time, rotated by
 * rename), read by the real follower. The instance list is data given here, not a process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamLocalLogs } from './log-stream.js';
import { formatLogLine } from '../drivers/local/log-line.js';
import { logPaths } from '../drivers/local/log-files.js';
import { systemClock } from '../core/clock.js';
import { waitFor } from '../core/wait-for.js';
import type { InstanceStatus } from '../drivers/driver.js';
import type { LogLine } from '../api/types.js';

function follow(dir: string, lines: number) {
  const files = logPaths(dir, 'web-1-abc');
  const driver = {
    list: () => [{ id: 'web-1-abc', service: 'web', release: 1 } as InstanceStatus],
    logFiles: () => files,
    readLogs: () => Promise.resolve([]),
  };
  const got: LogLine[] = [];
  const abort = new AbortController();
  const done = streamLocalLogs({ driver, clock: systemClock }, 'web', { lines, follow: true, signal: abort.signal, pollMs: 10 }, (l) =>
    got.push(l),
  );
  return {
    files,
    got,
    texts: () => got.map((l) => l.line),
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

describe('following an instance log from the end of its tail', () => {
  it('takes the rest of a read cut by a rotation, stamped with the same time as the tail’s last line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-logstream-'));
    const t = Date.parse('2026-11-30T09:00:00.000Z');
    const f = logPaths(dir, 'web-1-abc');
    writeFileSync(f.stdout, formatLogLine(t, 'a') + formatLogLine(t + 1, 'b1'));
    const s = follow(dir, 10);
    try {
      await waitFor('the tail', () => s.texts().includes('b1'));
      // The writer flushed the first part of one read, rotated, and writes the rest to the new file.
      renameSync(f.stdout, `${f.stdout}.1`);
      writeFileSync(f.stdout, formatLogLine(t + 1, 'b2') + formatLogLine(t + 2, 'c'));
      await waitFor('the next lines', () => s.texts().includes('c'));
      assert.deepEqual(s.texts(), ['a', 'b1', 'b2', 'c']);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends every line once when the stream starts while lines are written, half lines included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-logstream-'));
    const f = logPaths(dir, 'web-1-abc');
    const t = Date.now();
    const want: string[] = [];
    let n = 0;
    // Reads of 50 lines, each read stamped with one time; a line may be written in two parts.
    const writeRead = () => {
      const lines = Array.from({ length: 50 }, () => `line ${n++}`);
      want.push(...lines);
      const text = lines.map((l) => formatLogLine(t + n / 1000, l)).join('');
      const cut = Math.floor(text.length / 2) + 3;
      appendFileSync(f.stdout, text.slice(0, cut));
      appendFileSync(f.stdout, text.slice(cut));
    };
    for (let i = 0; i < 10; i++) writeRead();
    const s = follow(dir, 100_000);
    try {
      for (let i = 0; i < 200; i++) {
        writeRead();
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      await waitFor('every line', () => s.got.length >= want.length);
      assert.deepEqual(s.texts(), want);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
