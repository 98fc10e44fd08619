import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import type { InstanceSpec, InstanceStatus } from '../driver.js';
import { LocalDriver } from './local-driver.js';
import { isSameProcessAlive, readProcStat } from './proc.js';

async function until<T>(what: string, cond: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LocalDriver supervision timing (injected clock)', () => {
  let dir: string;
  let driver: LocalDriver;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-local-'));
  });
  afterEach(async () => {
    try {
      for (const s of driver.list()) await driver.stop(s.id, { timeoutMs: 500 }).catch(() => {});
    } finally {
      await driver.detach();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const spec = (over: Partial<InstanceSpec> = {}): InstanceSpec => ({
    id: 'job-1',
    service: 'job',
    release: 1,
    releaseDir: dir,
    command: 'exit 3',
    env: {},
    logMaxBytes: 1e6,
    logFiles: 1,
    restart: {
      initialBackoffMs: 60_000,
      maxBackoffMs: 600_000,
      crashLoopExits: 3,
      crashLoopWindowMs: 10_000,
      crashLoopRetryMs: 0,
      crashLoopMaxRetryMs: 0,
    },
    ...over,
  });
  const current = () => driver.list()[0];

  it('waits out the backoff on the injected clock, doubling it, then fails the crash loop', async () => {
    const clock = new ManualClock();
    driver = new LocalDriver({ stateDir: join(dir, 'state'), clock });
    await driver.init();
    await driver.start(spec());
    await until('first exit', () => current()?.state === 'restarting');
    assert.deepEqual([current()?.restarts, current()?.lastExit?.code, current()?.lastExit?.uptimeMs], [0, 3, 0]);

    clock.advance(59_999);
    await new Promise((r) => setImmediate(r));
    assert.equal(current()?.restarts, 0, 'no restart before the backoff has passed');
    clock.advance(1);
    await until('second exit', () => current()?.restarts === 1 && current()?.state === 'restarting');

    clock.advance(60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(current()?.restarts, 1, 'the second backoff is twice the first');
    clock.advance(60_000);
    await until('crash loop detected', () => current()?.state === 'failed');
    assert.equal(current()?.restarts, 2);
  });

  it('a failed instance is retried on the injected clock, and a successor driver keeps its retry time', async () => {
    const clock = new ManualClock();
    const stateDir = join(dir, 'state');
    driver = new LocalDriver({ stateDir, clock });
    await driver.init();
    const restart = {
      initialBackoffMs: 1000,
      maxBackoffMs: 1000,
      crashLoopExits: 2,
      crashLoopWindowMs: 10_000,
      crashLoopRetryMs: 60_000,
      crashLoopMaxRetryMs: 300_000,
    };
    await driver.start(spec({ restart }));
    await until('first exit', () => current()?.state === 'restarting');
    clock.advance(1000);
    const failed = await until('crash loop detected', () => current()?.state === 'failed' && current());
    assert.equal(failed.nextRestartAt, failed.lastExit!.at + 60_000);

    // The controller is replaced while the instance waits for its retry.
    await driver.detach();
    driver = new LocalDriver({ stateDir, clock });
    await driver.init();
    assert.deepEqual([current()?.state, current()?.nextRestartAt], ['failed', failed.nextRestartAt]);
    clock.advance(59_999);
    await new Promise((r) => setImmediate(r));
    assert.equal(current()?.restarts, 1, 'no retry before its time');
    clock.advance(1);
    const again = await until(
      'the retry, failing again at once with a doubled delay',
      () => current()?.restarts === 2 && current()?.state === 'failed' && current(),
    );
    assert.equal(again.nextRestartAt! - again.lastExit!.at, 120_000);
  });

  it('an exit after a run longer than the crash-loop window does not count toward failure', async () => {
    const clock = new ManualClock();
    driver = new LocalDriver({ stateDir: join(dir, 'state'), clock });
    await driver.init();
    const seen: InstanceStatus[] = [];
    driver.onChange((s) => seen.push(s));
    // The process waits for a file the test creates once the clock says it has run long enough.
    await driver.start(spec({ command: 'while [ ! -e go ]; do sleep 0.02; done; rm go; exit 1' }));
    for (let i = 1; i <= 4; i++) {
      clock.advance(10_000);
      writeFileSync(join(dir, 'go'), '');
      await until(`exit ${i}`, () => current()?.state === 'restarting' && current()?.lastExit?.at === clock.now() && current());
      assert.equal(current()?.lastExit?.uptimeMs, 10_000);
      clock.advance(60_000);
      await until(`restart ${i}`, () => current()?.state === 'running' && current()?.restarts === i);
    }
    assert.equal(seen.filter((s) => s.state === 'failed').length, 0);
  });

  it('a restart whose spawn throws counts as a quick exit (so it ends in a crash loop) and says why in the log', async () => {
    // Before the supervisor was shared, a spawn that threw kept the previous start time: every
    // failed restart looked like a run as long as its backoff, reset the crash-loop count, and the
    // instance was restarted for ever without a word in its log.
    const clock = new ManualClock();
    let calls = 0;
    // The second value has a NUL byte, which makes spawn throw (a secret store can return anything).
    const secretEnv = async () => ({ TOKEN: calls++ === 0 ? 'fine' : 'bad\0value' });
    driver = new LocalDriver({ stateDir: join(dir, 'state'), clock, secretEnv, log: silentLogger });
    await driver.init();
    await driver.start(spec({ secrets: ['TOKEN'] }));
    await until('first exit', () => current()?.state === 'restarting');
    clock.advance(60_000);
    await until('the restart failed', () => current()?.restarts === 1 && current()?.state === 'restarting');
    assert.equal(current()?.lastExit?.uptimeMs, 0, 'a start that failed ran for no time');
    clock.advance(120_000);
    await until('crash loop detected', () => current()?.state === 'failed');
    assert.match((await driver.logTail('job-1', 5)).join('\n'), /slipway: cannot start instance: .*null bytes/);
  });

  it('a successor driver ends what a shell that died unwatched left running in its group, then restarts it', async () => {
    const clock = new ManualClock();
    const stateDir = join(dir, 'state');
    driver = new LocalDriver({ stateDir, clock });
    await driver.init();
    // The shell does not exec its app: the app is a second member of the instance's process group.
    await driver.start(spec({ command: 'sleep 300 & echo $! > app.pid; wait', restart: { ...spec().restart, initialBackoffMs: 0 } }));
    const shell = await until('the app started', () => {
      const s = current();
      return s?.state === 'running' && s.pid !== null && readProcStatSafe(join(dir, 'app.pid')) !== undefined && s;
    });
    const appPid = Number(readFileSync(join(dir, 'app.pid'), 'utf8'));
    const appStart = readProcStat(appPid)!.startTime;

    // The controller goes away, then the shell dies: nobody sees the exit, the app lives on.
    await driver.detach();
    try {
      process.kill(shell.pid!, 'SIGKILL');
      await until('the shell gone', () => !isSameProcessAlive(shell.pid!, readProcStat(shell.pid!)?.startTime ?? -1) || undefined);
      assert.ok(isSameProcessAlive(appPid, appStart), 'the orphaned app still runs before a driver resumes');

      driver = new LocalDriver({ stateDir, clock });
      await driver.init();
      await until('the orphaned app ended', () => !isSameProcessAlive(appPid, appStart));
      clock.advance(0); // the restart's backoff (0 ms) on the injected clock
      const again = await until('restarted', () => current()?.state === 'running' && current()?.restarts === 1 && current());
      assert.notEqual(again.pid, shell.pid);
    } finally {
      if (isSameProcessAlive(appPid, appStart)) process.kill(appPid, 'SIGKILL'); // only when the driver failed to
    }
  });
});

/** The pid in a file once it has been written, else undefined. */
function readProcStatSafe(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8'));
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
