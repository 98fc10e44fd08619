/**
 * `slipway logs` on a fleet (docs/servers.md, ADR 0026 "Logs from hosts"), on three real sshd
 * hosts: every host's instance lines merged in capture order, each with its host; `-n` and
 * `--since`; `-f` sees a new line from each host within seconds, follows a rollout to the new
 * instances and loses no line across an agent killed or a link cut; a cut host is named on stderr
 * (exit 1) while the others' lines print.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { LogHostNotice, LogLine } from '../../src/api/types.js';
import { ControllerClient } from '../../src/client/client.js';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { CLI, get } from '../support/project.js';

describe('slipway logs on a fleet', { skip: FleetProject.skipReason() }, () => {
  const p = new FleetProject({ hosts: 3 });
  const address = (i: number) => p.fleet.hosts[i]!.address;
  const write = (env: Record<string, string>, start?: string) =>
    p.writeConfig({ env: { LOG_REQUESTS: '1', ...env }, ...(start ? { start } : {}) });
  /** One request to host i's router: its instance logs "request <path>". */
  const hit = async (i: number, path: string) => assert.equal((await get(`${p.urls()[i]!}${path}`)).status, 200);
  const json = async (args: string[]): Promise<LogLine[]> => {
    const r = await p.cli(['logs', 'web', '--env', 'production', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  };
  const requests = (lines: LogLine[], tag: string) => lines.filter((l) => l.line.startsWith(`request /${tag}`));

  /** `slipway logs -f` running: its JSON lines and notices as they come; stopped by its pid (SIGINT, as Ctrl-C). */
  const follow = (args: string[]) => {
    const child: ChildProcess = spawn(process.execPath, [CLI, 'logs', 'web', '--env', 'production', '-f', '--json', ...args], {
      cwd: p.dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: LogLine[] = [];
    const notices: LogHostNotice[] = [];
    let stderr = '';
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const o = JSON.parse(buf.slice(0, nl)) as LogLine | LogHostNotice;
        buf = buf.slice(nl + 1);
        if ('problem' in o) notices.push(o);
        else lines.push(o);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return {
      lines,
      notices,
      stderr: () => stderr,
      stop: async () => {
        child.kill('SIGINT');
        return exited;
      },
    };
  };

  before(() => p.startServing(() => write({ VERSION: 'v1' })));
  after(() => p.stop());

  it("merges every host's lines in capture order, each with its host; -n counts over the fleet; --since cuts by time", async () => {
    for (let k = 0; k < 5; k++) for (let i = 0; i < 3; i++) await hit(i, `early-h${i}-${k}`);
    await waitFor('the early lines of every host', async () => requests(await json(['-n', '1000']), 'early-').length === 15, 20_000);
    const cut = new Date().toISOString();
    await waitFor('a new millisecond', () => new Date().toISOString() > cut);
    for (let k = 0; k < 5; k++) for (let i = 0; i < 3; i++) await hit(i, `late-h${i}-${k}`);
    const lines = await waitFor(
      'the late lines of every host',
      async () => {
        const l = await json(['-n', '1000']);
        return requests(l, 'late-').length === 15 && l;
      },
      20_000,
    );
    const times = lines.map((l) => l.at!);
    assert.deepEqual(times, [...times].sort(), 'in capture order over every host');
    for (const l of requests(lines, '')) {
      const i = Number(/-h(\d)-/.exec(l.line)![1]);
      assert.equal(l.host, address(i), `${l.line} comes from the host it was sent to`);
      assert.ok(l.instance.endsWith(`-on-${address(i)}`), l.instance);
      assert.equal(l.release, 1);
    }
    assert.equal(new Set(requests(lines, '').map((l) => l.host)).size, 3, 'every host');

    // -n counts lines over the whole fleet; text names each line's host and instance.
    assert.deepEqual(await json(['-n', '4']), lines.slice(-4));
    const text = await p.cli(['logs', 'web', '--env', 'production', '-n', '3']);
    assert.equal(text.code, 0, text.stderr);
    const shown = text.stdout.trimEnd().split('\n');
    assert.equal(shown.length, 3, text.stdout);
    shown.forEach((s, k) => {
      const l = lines.at(k - 3)!;
      assert.equal(s, `${l.at} ${l.host} ${l.instance} | ${l.line}`);
    });
    // More lines than an agent sends at once (5,000 per instance) are read page by page: the same lines here.
    assert.deepEqual(await json(['-n', '6000']), lines);

    const since = await json(['--since', cut]);
    assert.deepEqual(
      requests(since, '')
        .map((l) => l.line)
        .sort(),
      requests(lines, 'late-')
        .map((l) => l.line)
        .sort(),
    );
    assert.ok(since.every((l) => l.at! >= cut));
    assert.deepEqual(requests(await json(['--since', cut, '-n', '2']), ''), requests(lines, 'late-').slice(-2));
  });

  it('-f sees a new line of each host within seconds, follows a rollout to the new instances, every line once', async (t) => {
    const f = follow(['-n', '1']);
    try {
      // The first line is the tail's: following has begun.
      await waitFor('the tail', () => f.lines.length >= 1, 20_000);
      for (let i = 0; i < 3; i++) {
        const sent = Date.now();
        await hit(i, `follow-h${i}`);
        await waitFor(`the line of host ${i}`, () => f.lines.some((l) => l.line === `request /follow-h${i}`), 10_000, 20);
        t.diagnostic(`host ${i}: seen ${Date.now() - sent} ms after the request`);
      }
      const before = new Set(f.lines.map((l) => l.instance));

      await write({ VERSION: 'v2' });
      const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
      assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
      for (let i = 0; i < 3; i++) await hit(i, `rolled-h${i}`);
      await waitFor("the new instances' lines", () => requests(f.lines, 'rolled-').length === 3, 15_000);
      for (const l of requests(f.lines, 'rolled-')) {
        assert.equal(l.release, 2, l.line);
        assert.ok(!before.has(l.instance), `${l.instance} is a new instance`);
      }
      const seen = requests(f.lines, '').map((l) => l.line);
      assert.deepEqual(seen, [...new Set(seen)], 'no line twice');
      assert.equal(await f.stop(), 0, f.stderr());
      assert.deepEqual(f.notices, []);
    } finally {
      await f.stop();
    }
  });

  it('-f loses no line across an agent killed on a host (its lines come once the agent is back)', async () => {
    const f = follow(['-n', '1']);
    try {
      await waitFor('the tail', () => f.lines.length >= 1, 20_000);
      const pid = (await p.fleet.inHost(2, ['cat', '/var/lib/slipway/run/agent.pid'])).split(' ')[0]!;
      await p.fleet.inHost(2, ['kill', '-KILL', pid]);
      // Written on the host while it has no agent (its log writers go on alone).
      for (let k = 0; k < 5; k++) await hit(2, `agentless-${k}`);
      await waitFor('the lines written without an agent', () => requests(f.lines, 'agentless-').length === 5, 30_000);
      // Each line once. Their order over the host's two instances is their capture times', which
      // two log writers may take in either order for lines a moment apart; within one instance it is the order written.
      const got = requests(f.lines, 'agentless-');
      assert.deepEqual(
        got.map((l) => l.line).sort(),
        Array.from({ length: 5 }, (_, k) => `request /agentless-${k}`),
      );
      for (const id of new Set(got.map((l) => l.instance))) {
        const mine = got.filter((l) => l.instance === id).map((l) => l.line);
        assert.deepEqual(mine, [...mine].sort(), `${id}'s lines in the order written`);
      }
      assert.equal(await f.stop(), 0, f.stderr());
    } finally {
      await f.stop();
    }
  });

  it("a cut host is named once on stderr (exit 1) while the others' lines print; -f then gets its lines written meanwhile", async (t) => {
    const f = follow(['-n', '1']);
    try {
      await waitFor('the tail', () => f.lines.length >= 1, 20_000);
      await p.fleet.cut(1);
      const asked = Date.now();
      const cut = await p.cli(['logs', 'web', '--env', 'production', '-n', '100']);
      t.diagnostic(`logs with a cut host answered in ${Date.now() - asked} ms`);
      assert.equal(cut.code, 1, cut.stderr);
      const named = cut.stderr.split('\n').filter((l) => l.includes(address(1)));
      assert.equal(named.length, 1, cut.stderr);
      assert.match(named[0]!, /its lines are missing: (SSH|AGENT)_[A-Z_]+: /);
      const hosts = new Set(
        cut.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.split(' ')[1]),
      );
      assert.deepEqual([...hosts].sort(), [address(0), address(2)].sort(), "the other hosts' lines print");

      for (const i of [0, 2]) await hit(i, `while-cut-h${i}`);
      await waitFor("the others' lines while the host is cut", () => requests(f.lines, 'while-cut-h').length === 2, 15_000);
      await waitFor('the follower to name the cut host', () => f.notices.some((n) => n.host === address(1) && n.problem), 20_000);
      // Written on the cut host itself (from inside it): it reaches the follower once the link is back.
      await p.fleet.inHost(1, ['curl', '-sf', `http://127.0.0.1:${p.port}/during-cut-h1`]);
      await p.fleet.heal(1);
      await waitFor("the cut host's line", () => requests(f.lines, 'during-cut-h1').length === 1, 30_000);
      assert.deepEqual(
        f.notices.map((n) => [n.host, n.problem === null]),
        [
          [address(1), false],
          [address(1), true],
        ],
      );
      assert.match(f.stderr(), new RegExp(`${address(1).replaceAll('.', '\\.')}: reachable again`));
      assert.equal(await f.stop(), 0, f.stderr());
    } finally {
      await p.fleet.heal(1).catch(() => undefined);
      await f.stop();
    }
  });

  it('a large log is read page by page: every line once, in order (timings printed)', async (t) => {
    // Each instance prints 10,000 lines as it starts: 60,000 over the fleet, more than an agent sends at once.
    const bulk = 10_000;
    // A follower from before the rollout gets them all too, as they are written (pages of 5,000 per instance).
    const f = follow(['-n', '1']);
    try {
      await waitFor('the tail', () => f.lines.length >= 1, 20_000);
      await write({ VERSION: 'v3' }, `seq -f bulk-%05g 1 ${bulk}; exec node server.js`);
      const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
      assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
      await waitFor('the follower to get every line', () => f.lines.filter((l) => l.line.startsWith('bulk-')).length >= 6 * bulk, 60_000);
      const followed = f.lines.filter((l) => l.line.startsWith('bulk-')).map((l) => `${l.instance} ${l.line}`);
      assert.equal(followed.length, 6 * bulk);
      assert.equal(new Set(followed).size, 6 * bulk, 'no line twice');
      assert.equal(await f.stop(), 0, f.stderr());
    } finally {
      await f.stop();
    }
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    // Timings over the API (no CLI start): every line since, and the last 100.
    const client = ControllerClient.connect(p.dir, 'production');
    for (const [what, q] of [
      ['since (60,000+ lines)', { lines: 1_000_000, since }],
      ['-n 100', { lines: 100 }],
    ] as const) {
      const t1 = Date.now();
      let n = 0;
      await client.logs('web', { ...q, follow: false }, () => n++);
      t.diagnostic(`API ${what}: ${n} lines in ${Date.now() - t1} ms`);
    }
    let t0 = Date.now();
    const all = await p.cli(['logs', 'web', '--env', 'production', '--since', since], { timeoutMs: 120_000 });
    t.diagnostic(`logs --since: ${all.stdout.length} bytes in ${Date.now() - t0} ms`);
    assert.equal(all.code, 0, all.stderr);
    const rows = all.stdout.trimEnd().split('\n');
    const bulkRows = rows.filter((r) => / \| bulk-\d{5}$/.test(r));
    assert.equal(bulkRows.length, 6 * bulk, 'every line of every instance once');
    const byInstance = new Map<string, string[]>();
    for (const r of bulkRows) {
      const [, host, instance] = r.split(' ');
      assert.ok(instance!.endsWith(`-on-${host}`), r);
      byInstance.set(instance!, [...(byInstance.get(instance!) ?? []), r.slice(-5)]);
    }
    assert.equal(byInstance.size, 6);
    for (const [id, seq] of byInstance)
      assert.deepEqual(
        seq,
        Array.from({ length: bulk }, (_, k) => String(k + 1).padStart(5, '0')),
        `${id}: in order`,
      );
    const times = rows.map((r) => r.split(' ')[0]!);
    assert.deepEqual(times, [...times].sort(), 'in capture order over the fleet');

    t0 = Date.now();
    const last = await p.cli(['logs', 'web', '--env', 'production', '-n', '100']);
    t.diagnostic(`logs -n 100: ${Date.now() - t0} ms`);
    assert.deepEqual(last.stdout.trimEnd().split('\n'), rows.slice(-100));
  });
});
