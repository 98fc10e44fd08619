/**
 * The conformance suite every RuntimeDriver passes: `describeDriverContract('local', (dir) => new LocalDriver({ stateDir: dir }))`.
 * It runs real processes (a tiny Node HTTP app written into a temporary release directory) and
 * talks to them over loopback HTTP; every test stops what it started and removes its files.
 */
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../core/wait-for.js';
import { pidAlive as alive } from '../core/process.js';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RESTART_POLICY, type InstanceSpec, type InstanceStatus, type RuntimeDriver } from './driver.js';

/**
 * The instance app: reports its pid and environment; /crash exits 7; IGNORE_TERM=1 ignores SIGTERM.
 * It exits by itself once the test process is gone, so a test run killed halfway leaves nothing behind.
 */
const APP = `
import http from 'node:http';
if (Number(process.env.TEST_OWNER_PID)) setInterval(() => { try { process.kill(Number(process.env.TEST_OWNER_PID), 0); } catch { process.exit(0); } }, 500).unref();
if (process.env.IGNORE_TERM === '1') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
const env = {};
for (const k of ['PORT', 'SLIPWAY_RELEASE', 'SLIPWAY_INSTANCE', 'SLIPWAY_SERVICE', 'GREETING']) env[k] = process.env[k];
http.createServer((req, res) => {
  if (req.url === '/crash') { res.end('bye'); setTimeout(() => process.exit(7), 10); return; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, cwd: process.cwd(), env }));
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on ' + process.env.PORT));
`;

/** A quick restart policy so crash tests take milliseconds, not seconds. */
export const FAST_RESTART = {
  initialBackoffMs: 30,
  maxBackoffMs: 200,
  crashLoopExits: 3,
  crashLoopWindowMs: 10_000,
  crashLoopRetryMs: 0,
  crashLoopMaxRetryMs: 0,
};

interface AppReply {
  pid: number;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** GET over a fresh connection; rejects when nothing answers. */
function get(host: string, port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** What a driver that is not the local one needs from the suite. */
export interface ContractOptions {
  /** Turns the suite's spec into one the driver runs (the podman driver adds its test image). */
  adapt?: (spec: InstanceSpec) => InstanceSpec;
  /** Skips the whole suite, saying why (e.g. podman is not usable here). */
  skip?: string;
  /** Set-up and tear-down around the whole suite (building and removing a test image). */
  before?: () => Promise<void> | void;
  after?: () => Promise<void> | void;
  /** After each test, once its instances are stopped and before its state directory is removed (the ssh driver ends the host agent that used it). */
  cleanup?: (stateDir: string) => Promise<void>;
  /**
   * For a driver whose instances run on another host (drivers/ssh): where the suite's temporary
   * directories go (a directory that host sees at the same path), and how the suite reaches that
   * host's processes, ports and files. Defaults: this machine's.
   */
  remote?: {
    tempRoot: () => string;
    alive: (pid: number) => Promise<boolean>;
    /** SIGKILL to the process group `pid` leads. */
    killGroup: (pid: number) => Promise<void>;
    get: (host: string, port: number, path?: string) => Promise<{ status: number; body: string }>;
    exists: (path: string) => Promise<boolean>;
  };
}

/** This machine: the default of ContractOptions.remote. */
const LOCAL = {
  tempRoot: () => tmpdir(),
  alive: async (pid: number) => alive(pid),
  killGroup: async (pid: number) => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  },
  get,
  exists: async (path: string) => existsSync(path),
};

/** Runs the RuntimeDriver conformance suite against drivers made by `makeDriver` on a state directory. */
export function describeDriverContract(name: string, makeDriver: (stateDir: string) => RuntimeDriver, opts: ContractOptions = {}): void {
  const on = opts.remote ?? LOCAL;
  const get = on.get;
  const isAlive = on.alive;
  async function getApp(s: InstanceStatus): Promise<AppReply> {
    const r = await get(s.host, s.port);
    assert.equal(r.status, 200);
    return JSON.parse(r.body) as AppReply;
  }
  describe(`RuntimeDriver contract: ${name}`, { skip: opts.skip ?? false }, () => {
    if (opts.before) before(opts.before);
    if (opts.after) after(opts.after);
    let root: string;
    let stateDir: string;
    let releaseDir: string;
    let drivers: RuntimeDriver[];
    const node = JSON.stringify(process.execPath);

    /** A driver on the shared state directory, initialised, remembered for clean-up. */
    async function driver(): Promise<RuntimeDriver> {
      const d = makeDriver(stateDir);
      drivers.push(d);
      await d.init();
      return d;
    }

    function spec(over: Partial<InstanceSpec> = {}): InstanceSpec {
      const base: InstanceSpec = {
        id: 'web-1',
        service: 'web',
        release: 3,
        releaseDir,
        command: `${node} app.mjs`,
        env: { GREETING: 'hello', TEST_OWNER_PID: String(process.pid) },
        logMaxBytes: 1_000_000,
        logFiles: 2,
        restart: FAST_RESTART,
        ...over,
      };
      return opts.adapt ? opts.adapt(base) : base;
    }

    async function statusOf(d: RuntimeDriver, id: string): Promise<InstanceStatus | undefined> {
      return d.list().find((s) => s.id === id);
    }

    beforeEach(() => {
      root = mkdtempSync(join(on.tempRoot(), 'slipway-driver-'));
      stateDir = join(root, 'state');
      releaseDir = join(root, 'release');
      mkdirSync(releaseDir, { recursive: true });
      writeFileSync(join(releaseDir, 'app.mjs'), APP);
      drivers = [];
    });

    afterEach(async () => {
      // Stop through the newest driver (it knows adopted instances too), then make sure by pid.
      // Clean-up must finish even when a stop fails: a live timer would keep the test process running.
      const pids = new Set<number>();
      try {
        for (const d of drivers) for (const s of d.list()) if (s.pid) pids.add(s.pid);
        const last = drivers.at(-1);
        if (last) for (const s of last.list()) await last.stop(s.id, { timeoutMs: 1000 }).catch(() => {});
      } finally {
        for (const d of drivers) await d.detach().catch(() => {});
        for (const pid of pids) await on.killGroup(pid).catch(() => undefined);
        await opts.cleanup?.(stateDir).catch(() => undefined);
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('start gives a reachable port and sets PORT, SLIPWAY_* and spec env in the release directory', async () => {
      const d = await driver();
      const s = await d.start(spec());
      assert.equal(s.state, 'running');
      assert.ok(s.pid && s.pid > 0);
      assert.ok(s.port > 0);
      assert.deepEqual([s.id, s.service, s.release, s.restarts, s.lastExit], ['web-1', 'web', 3, 0, null]);
      const app = await waitFor('the app to answer', () => getApp(s));
      assert.deepEqual(app.env, {
        PORT: String(s.port),
        SLIPWAY_RELEASE: '3',
        SLIPWAY_INSTANCE: 'web-1',
        SLIPWAY_SERVICE: 'web',
        GREETING: 'hello',
      });
      assert.equal(app.cwd, releaseDir);
    });

    it('start is idempotent per id, even when called concurrently', async () => {
      const d = await driver();
      const [a, b] = await Promise.all([d.start(spec()), d.start(spec())]);
      const c = await d.start(spec());
      assert.equal(a.pid, b.pid);
      assert.equal(a.pid, c.pid);
      assert.equal(a.port, c.port);
      assert.equal(d.list().length, 1);
    });

    it('stop terminates the whole process group, forgets the instance and keeps its logs', async () => {
      const d = await driver();
      const s = await d.start(spec({ command: `sleep 60 & echo $! > bg.pid; ${node} app.mjs` }));
      await waitFor('the app to answer', () => getApp(s));
      const bg = Number(readFileSync(join(releaseDir, 'bg.pid'), 'utf8'));
      assert.ok(await isAlive(bg), 'the background process runs before stop');
      const changes: InstanceStatus[] = [];
      d.onChange((x) => changes.push(x));
      await d.stop('web-1', { timeoutMs: 5000 });
      assert.equal(await isAlive(s.pid!), false, 'the shell is gone');
      assert.equal(await isAlive(bg), false, 'the background process of the group is gone');
      await assert.rejects(get(s.host, s.port));
      assert.deepEqual(d.list(), []);
      assert.equal(changes.at(-1)?.state, 'stopped');
      assert.ok(
        (await d.logTail('web-1', 10)).some((l) => l.includes('listening on')),
        'logs survive stop',
      );
      await d.stop('web-1', { timeoutMs: 100 });
      await d.stop('no-such-instance', { timeoutMs: 100 });
    });

    it('stop escalates to SIGKILL after timeoutMs when SIGTERM is ignored', async () => {
      const d = await driver();
      const s = await d.start(spec({ env: { IGNORE_TERM: '1', TEST_OWNER_PID: String(process.pid) } }));
      const app = await waitFor('the app to answer', () => getApp(s));
      const t0 = Date.now();
      await d.stop('web-1', { timeoutMs: 400 });
      const took = Date.now() - t0;
      assert.ok(took >= 390, `stop returned after ${took}ms: SIGTERM should have been ignored`);
      assert.ok(took < 5000, `stop took ${took}ms`);
      assert.equal(await isAlive(app.pid), false);
      assert.ok((await d.logTail('web-1', 10)).includes('ignoring SIGTERM'));
    });

    it('an unexpected exit restarts the instance on the same port after backoff', async () => {
      const d = await driver();
      const states: string[] = [];
      d.onChange((x) => states.push(x.state));
      const s = await d.start(spec());
      const before = await waitFor('the app to answer', () => getApp(s));
      await get(s.host, s.port, '/crash');
      const after = await waitFor('a restarted app on the same port', async () => {
        const a = await getApp(s);
        return a.pid !== before.pid && a;
      });
      assert.ok(!(await isAlive(before.pid)));
      assert.equal(after.env.PORT, String(s.port));
      const now = (await statusOf(d, 'web-1'))!;
      assert.deepEqual([now.state, now.restarts, now.port, now.lastExit?.code], ['running', 1, s.port, 7]);
      assert.notEqual(now.pid, s.pid);
      assert.deepEqual(states, ['running', 'restarting', 'running']);
    });

    it('a crash loop marks the instance failed, with its exit code and log tail', async () => {
      const d = await driver();
      // The default policy: an instance that can never start is given up on after crashLoopExits quick exits.
      const noHealing = { ...DEFAULT_RESTART_POLICY, crashLoopRetryMs: 0 };
      await d.start(spec({ command: 'echo "boom: DATABASE_URL is not set" >&2; exit 3', restart: noHealing }));
      const failed = await waitFor(
        'failed',
        async () => {
          const x = await statusOf(d, 'web-1');
          return x?.state === 'failed' && x;
        },
        // A deadline, not a measurement: how fast a crash loop is given up on is the policy's
        // backoff plus each start's cost (a container's is seconds on a busy machine).
        30_000,
      );
      assert.equal(failed.lastExit?.code, 3);
      assert.equal(failed.pid, null);
      assert.equal(failed.nextRestartAt, null, 'with crashLoopRetryMs 0 it is not tried again');
      assert.equal(failed.restarts, DEFAULT_RESTART_POLICY.crashLoopExits - 1);
      const tail = await d.logTail('web-1', 50);
      assert.equal(tail.filter((l) => l === 'boom: DATABASE_URL is not set').length, DEFAULT_RESTART_POLICY.crashLoopExits);
      const again = await d.start(spec({ command: 'echo "boom: DATABASE_URL is not set" >&2; exit 3', restart: noHealing }));
      assert.equal(again.state, 'failed', 'start of a failed id reports it, and does not restart it');
    });

    it('a crash loop is healed: failed, then tried again with a doubling delay until it runs (CrashLoopBackOff)', async () => {
      const d = await driver();
      const seen: InstanceStatus[] = [];
      d.onChange((x) => seen.push(x));
      // Exits quickly 5 times (a crash loop after 3), then serves: a dependency that came back.
      const command = `n=$(cat tries 2>/dev/null || echo 0); echo $((n + 1)) > tries; [ "$n" -ge 5 ] && exec ${node} app.mjs; echo "try $n: not yet" >&2; exit 3`;
      const healing = { ...FAST_RESTART, crashLoopRetryMs: 100, crashLoopMaxRetryMs: 1000 };
      const t0 = Date.now();
      await d.start(spec({ command, restart: healing }));
      const back = await waitFor(
        'the instance to run again after its crash loop',
        async () => {
          const x = await statusOf(d, 'web-1');
          return x?.state === 'running' && x.restarts === 5 && x;
        },
        10_000,
      );
      await waitFor('the app to answer', () => getApp(back));
      const failures = seen.filter((x) => x.state === 'failed');
      // Exits 3, 4 and 5 each fail (the 3rd detects the loop; every later quick exit fails again), retried after 100, 200, 400 ms.
      assert.deepEqual(
        failures.map((x) => x.nextRestartAt! - x.lastExit!.at),
        [100, 200, 400],
      );
      assert.ok(Date.now() - t0 >= 700, 'the retries waited out their backoff');
      assert.equal(back.nextRestartAt, null);
    });

    it('logTail and readLogs return the last lines of stdout and stderr in the order written; logFiles names the files', async () => {
      const d = await driver();
      // Each stream's next line is written only once the previous one is stored: the order is the
      // test's, not the scheduler's (a busy machine could otherwise deliver two pipes' lines in one wake-up).
      const s = await d.start(
        spec({
          command: `for i in 1 2 3 4 5; do echo "out $i"; done; until [ -e go1 ]; do sleep 0.01; done; echo "err 1" >&2; until [ -e go2 ]; do sleep 0.01; done; ${node} app.mjs`,
        }),
      );
      for (const [line, go] of [
        ['out 5', 'go1'],
        ['err 1', 'go2'],
      ] as const) {
        await waitFor(`"${line}" in the log`, async () => (await d.logTail('web-1', 100)).includes(line));
        writeFileSync(join(releaseDir, go), '');
      }
      await waitFor('the app to answer', () => getApp(s));
      await waitFor('the listening line', async () => (await d.logTail('web-1', 100)).includes('listening on ' + s.port));
      const all = await d.logTail('web-1', 100);
      // In the order written: stdout and stderr interleaved by time.
      assert.deepEqual(all, ['out 1', 'out 2', 'out 3', 'out 4', 'out 5', 'err 1', `listening on ${s.port}`]);
      assert.deepEqual(await d.logTail('web-1', 3), ['out 5', 'err 1', `listening on ${s.port}`]);
      const records = await d.readLogs('web-1', { lines: 100 });
      assert.deepEqual(
        records.map((r) => [r.stream, r.text]),
        all.map((t) => [t.startsWith('err') ? 'stderr' : 'stdout', t]),
      );
      const times = records.map((r) => r.at);
      if (times.every((t) => t !== null)) {
        assert.ok(
          times.every((t, i) => i === 0 || t! >= times[i - 1]!),
          'capture times never go back',
        );
        assert.ok(Math.abs(times.at(-1)! - Date.now()) < 60_000, 'capture times are wall-clock times');
        assert.deepEqual(
          (await d.readLogs('web-1', { lines: 100, sinceMs: times[5]! })).map((r) => r.text),
          all.slice(5),
        );
      }
      const files = d.logFiles('web-1');
      assert.ok(files && (await on.exists(files.stdout)) && (await on.exists(files.stderr)));
      assert.equal(d.logFiles('unknown'), undefined);
      assert.deepEqual(await d.logTail('unknown', 5), []);
    });

    it('a new driver on the same state directory adopts running instances without restarting them', async () => {
      const d1 = await driver();
      const s = await d1.start(spec());
      const app = await waitFor('the app to answer', () => getApp(s));
      await d1.detach();
      assert.equal((await getApp(s)).pid, app.pid, 'detach leaves the instance running');

      const d2 = await driver();
      const adopted = (await statusOf(d2, 'web-1'))!;
      assert.deepEqual([adopted.state, adopted.pid, adopted.port, adopted.restarts], ['running', s.pid, s.port, 0]);
      assert.equal((await getApp(adopted)).pid, app.pid, 'same process, not a restart');
      assert.equal(d2.list().length, 1);
      assert.deepEqual(await d2.start(spec()), adopted, 'starting an adopted id again is a no-op');

      await d2.stop('web-1', { timeoutMs: 2000 });
      assert.equal(await isAlive(app.pid), false, 'an adopted instance can be stopped');
    });

    it('an adopted instance that dies is restarted on its port, its exit code unknown', async () => {
      const d1 = await driver();
      const s = await d1.start(spec());
      const app = await waitFor('the app to answer', () => getApp(s));
      await d1.detach();
      const d2 = await driver();
      await on.killGroup(s.pid!);
      const restarted = await waitFor(
        'restart',
        async () => {
          const x = await statusOf(d2, 'web-1');
          return x?.state === 'running' && x.restarts === 1 && x;
        },
        5000,
      );
      assert.equal(restarted.lastExit?.code, null, 'not our child: its exit status is unknown');
      assert.equal(restarted.port, s.port);
      const again = await waitFor('the restarted app to answer', () => getApp(restarted));
      assert.notEqual(again.pid, app.pid);
    });
  });
}
