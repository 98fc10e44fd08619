/**
 * `slipway logs` end to end: lines of all instances merged in capture order, with their times in
 * text and JSON, `--since`, and following across rotations without losing or repeating a line.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject, get } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';
import type { LogLine } from '../../src/api/types.js';

describe('slipway logs (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    // Small files, so that following crosses many rotations.
    await p.writeConfig({ env: { VERSION: 'v1', LOG_REQUESTS: '1' }, extra: '    logs: { maxSize: 2KB, files: 2 }' });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
  });
  after(() => p.cleanup());

  const json = async (args: string[]): Promise<LogLine[]> => {
    const r = await p.cli(['logs', 'web', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  };

  it('merges the instances in capture order, each line with its time, in JSON and text; --since cuts by time', async () => {
    for (let i = 0; i < 10; i++) await get(`${p.url}early-${i}`);
    // Once the early lines are in the log they carry their capture times; every later line is captured after `cut`.
    await waitFor('the early lines in the log', async () => (await json(['-n', '1000'])).some((x) => x.line === 'request /early-9'));
    const cut = new Date().toISOString();
    await waitFor('a new millisecond', () => new Date().toISOString() > cut);
    for (let i = 0; i < 10; i++) await get(`${p.url}late-${i}`);
    const lines = await waitFor('the late lines in the log', async () => {
      const l = await json(['-n', '1000']);
      return l.some((x) => x.line === 'request /late-9') && l;
    });
    const times = lines.map((l) => l.at!);
    assert.ok(
      times.every((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(t)),
      'every line has a capture time',
    );
    assert.deepEqual(times, [...times].sort(), 'in time order over all instances');
    assert.equal(
      new Set(lines.filter((l) => l.line.startsWith('request /')).map((l) => l.instance)).size,
      2,
      'both instances served and logged',
    );
    // Each instance's lines in the order it served them, and the early ones (captured before `cut`)
    // before the late ones. Lines of two instances written within a few milliseconds of each other
    // may come in either order: each is stamped when its own writer reads it (ADR 0009).
    const requests = lines.filter((l) => /^request \/(early|late)-/.test(l.line));
    assert.equal(requests.length, 20);
    assert.deepEqual(
      requests.map((l) => l.line.split('-')[0]),
      [...Array(10).fill('request /early'), ...Array(10).fill('request /late')],
    );
    for (const id of new Set(requests.map((l) => l.instance))) {
      const mine = requests.filter((l) => l.instance === id).map((l) => l.line);
      const order = (l: string) => (l.includes('late') ? 10 : 0) + Number(l.split('-')[1]);
      assert.deepEqual(
        mine,
        [...mine].sort((a, b) => order(a) - order(b)),
        `lines of ${id} in the order served`,
      );
    }

    const since = await json(['--since', cut]);
    assert.deepEqual(
      since
        .filter((l) => l.line.startsWith('request /'))
        .map((l) => l.line)
        .sort(),
      Array.from({ length: 10 }, (_, i) => `request /late-${i}`).sort(),
    );
    assert.ok(since.every((l) => l.at! >= cut));

    const text = await p.cli(['logs', 'web', '-n', '3']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z web-1-\w+ \| request \/late-9$/m);
    // -n counts lines overall, across the service's instances, not per instance.
    assert.equal(text.stdout.trimEnd().split('\n').length, 3, text.stdout);
    const last3 = await json(['-n', '3']);
    assert.equal(last3.length, 3);

    const bad = await p.cli(['logs', 'web', '--since', 'last tuesday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /since=last tuesday is not a time/);
  });

  it('follows across many rotations by rename: every line once, in order', async () => {
    const client = ControllerClient.connect(p.dir);
    const abort = new AbortController();
    const got: LogLine[] = [];
    const following = client
      .logs('web', { lines: 0, follow: true, signal: abort.signal }, (l) => got.push(l))
      .catch((err: Error) => {
        if (!abort.signal.aborted) throw err;
      });
    try {
      // The stream starts at the end of the files once the controller has the request: poke until it shows.
      await waitFor(
        'the stream to follow',
        async () => {
          await get(`${p.url}ready`);
          return got.some((l) => l.line === 'request /ready');
        },
        10_000,
        100,
      );
      // 600 lines of ~70 bytes: about 20 rotations of 2 KB files per instance while we follow.
      const n = 600;
      for (let i = 0; i < n; i += 4) await Promise.all([0, 1, 2, 3].map((k) => get(`${p.url}follow-${String(i + k).padStart(4, '0')}`)));
      await waitFor('every line to arrive', () => got.filter((l) => l.line.startsWith('request /follow-')).length >= n, 20_000);
      const seen = got.filter((l) => l.line.startsWith('request /follow-')).map((l) => Number(l.line.slice('request /follow-'.length)));
      assert.equal(seen.length, n, 'no line repeated');
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
        'no line lost',
      );
      // Each instance's lines in time order (across instances, only within one poll of the files).
      for (const id of new Set(got.map((l) => l.instance))) {
        const times = got.filter((l) => l.instance === id).map((l) => l.at!);
        assert.deepEqual(times, [...times].sort(), `followed lines of ${id} come in time order`);
      }
    } finally {
      abort.abort();
      await following;
    }
  });
});
