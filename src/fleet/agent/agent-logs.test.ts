import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RESTART_POLICY } from '../../drivers/driver.js';
import { LocalDriver } from '../../drivers/local/local-driver.js';
import { waitFor } from '../../core/wait-for.js';
import { formatLogLine } from '../../drivers/local/log-line.js';
import { serviceLogs } from './agent-logs.js';
import type { LogCursor } from './protocol.js';

describe("the agent's serviceLogs", () => {
  let dir: string;
  let driver: LocalDriver;
  const T0 = Date.parse('2026-11-30T06:00:00Z');
  const id = 'web.production-1-abc123-on-10.0.0.1';
  /**
   * Line k of the instance, on stderr when k is a multiple of 3; lines come in bursts of 4 sharing
   * one stamp (the log writer stamps each read alike, across both streams).
   */
  const write = (from: number, to: number) => {
    for (let k = from; k < to; k++)
      appendFileSync(
        join(dir, 'driver', 'logs', `${id}.${k % 3 === 0 ? 'err' : 'out'}.log`),
        formatLogLine(T0 + Math.floor(k / 4), `line ${k}`),
      );
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-agent-logs-'));
    mkdirSync(join(dir, 'driver', 'logs'), { recursive: true });
    // A real driver that runs nothing: the instance is one it no longer runs (retired), its logs still on disk.
    driver = new LocalDriver({ stateDir: join(dir, 'driver') });
    await driver.init();
  });
  afterEach(async () => {
    await driver.detach();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages both streams after a cursor in time order, every line once, however small the page', async () => {
    write(0, 40);
    const got: string[] = [];
    let cursor: LogCursor = { at: 0 };
    for (let page = 0; page < 100; page++) {
      const a = await serviceLogs(driver, join(dir, 'driver'), { service: 'web.production', lines: 4, after: { [id]: cursor } });
      assert.equal(a.instances.length, 1);
      const i = a.instances[0]!;
      assert.deepEqual([i.id, i.listed, i.release], [id, false, null]);
      assert.ok(i.records.length <= 4);
      got.push(...i.records.map((r) => `${r.stream} ${r.text}`));
      cursor = i.cursor;
      if (page === 5) write(40, 50); // written while the reader pages
      if (!i.more && i.records.length === 0 && page > 5) break;
    }
    // Each line once; each stream in its order; lines of one stamp may come stdout first.
    const all = Array.from({ length: 50 }, (_, k) => `${k % 3 === 0 ? 'stderr' : 'stdout'} line ${k}`);
    assert.deepEqual([...got].sort(), [...all].sort());
    for (const s of ['stdout', 'stderr'])
      assert.deepEqual(
        got.filter((l) => l.startsWith(s)),
        all.filter((l) => l.startsWith(s)),
      );
    const stamp = (l: string) => Math.floor(Number(l.split(' ')[2]) / 4);
    assert.deepEqual(
      got.map(stamp),
      got.map(stamp).sort((a, b) => a - b),
      'in time order',
    );
  });

  it('a tail of 0 lines places the cursor after the newest line of a running instance: a follower then gets only new ones', async () => {
    const running = 'web.production-2-def456-on-10.0.0.1';
    await driver.start({
      id: running,
      service: 'web.production',
      release: 2,
      releaseDir: dir,
      command: 'for i in 0 1 2 3 4; do echo line $i; done; while [ ! -e more ]; do sleep 0.02; done; echo after; exec sleep 30',
      env: {},
      logMaxBytes: 1e6,
      logFiles: 1,
      restart: DEFAULT_RESTART_POLICY,
    });
    try {
      await waitFor('the first lines', async () => (await driver.readLogs(running, { lines: 10 })).length === 5);
      const ask = (q: { lines: number; after?: Record<string, LogCursor> }) =>
        serviceLogs(driver, join(dir, 'driver'), { service: 'web.production', ...q });
      const two = (await ask({ lines: 2 })).instances;
      assert.deepEqual(
        two.map((i) => [i.id, i.release, i.listed, i.records.map((r) => r.text)]),
        [[running, 2, true, ['line 3', 'line 4']]],
      );
      const none = (await ask({ lines: 0 })).instances[0]!;
      assert.deepEqual(none.records, []);
      appendFileSync(join(dir, 'more'), '');
      await waitFor('the new line', async () => (await driver.readLogs(running, { lines: 10 })).length === 6);
      const next = (await ask({ lines: 10, after: { [running]: none.cursor } })).instances;
      assert.deepEqual(
        next.map((i) => [i.id, i.records.map((r) => r.text)]),
        [[running, ['after']]],
      );
      // An id that is not a file name is nobody's.
      const odd = (await ask({ lines: 3, after: { '../x': { at: 0 } } })).instances.find((i) => i.id === '../x');
      assert.deepEqual(odd?.records, []);
    } finally {
      await driver.stop(running, { timeoutMs: 2000 });
    }
  });
});
