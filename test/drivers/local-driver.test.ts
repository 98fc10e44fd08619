import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describeDriverContract, FAST_RESTART } from '../../src/drivers/driver-contract.js';
import type { InstanceSpec, InstanceStatus } from '../../src/drivers/driver.js';
import { LocalDriver } from '../../src/drivers/local/local-driver.js';
import { readProcStat } from '../../src/drivers/local/proc.js';
import { parseLogLine } from '../../src/drivers/local/log-line.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive as processAlive } from '../../src/core/process.js';

describeDriverContract('local', (stateDir) => new LocalDriver({ stateDir, adoptedPollMs: 50 }));

const node = JSON.stringify(process.execPath);
// Fixtures exit by themselves once the test process is gone, so a test run killed halfway leaves nothing behind.
const SERVER = `
import http from 'node:http';
if (Number(process.env.TEST_OWNER_PID)) setInterval(() => { try { process.kill(Number(process.env.TEST_OWNER_PID), 0); } catch { process.exit(0); } }, 500).unref();
http.createServer((req, res) => { if (req.url !== '/') console.log('served ' + req.url); res.end(String(process.pid)); })
  .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
`;
/** Writes numbered 100-byte lines as fast as it can, one write each (console.log to a file is synchronous). */
const CHATTY = `
if (Number(process.env.TEST_OWNER_PID)) setInterval(() => { try { process.kill(Number(process.env.TEST_OWNER_PID), 0); } catch { process.exit(0); } }, 500).unref();
let i = 0;
setInterval(() => { for (let k = 0; k < 20; k++) console.log(String(i++).padStart(8, '0') + ' ' + 'x'.repeat(90)); }, 2);
`;

function get(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('LocalDriver (local specifics)', () => {
  let root: string;
  let stateDir: string;
  let releaseDir: string;
  const drivers: LocalDriver[] = [];
  const pids = new Set<number>();

  async function driver(props: Partial<ConstructorParameters<typeof LocalDriver>[0]> = {}): Promise<LocalDriver> {
    const d = new LocalDriver({ stateDir, adoptedPollMs: 50, ...props });
    drivers.push(d);
    d.onChange((s) => {
      if (s.pid) pids.add(s.pid);
    });
    await d.init();
    return d;
  }
  const spec = (over: Partial<InstanceSpec> = {}): InstanceSpec => ({
    id: 'web-1',
    service: 'web',
    release: 1,
    releaseDir,
    command: `${node} server.mjs`,
    env: { TEST_OWNER_PID: String(process.pid) },
    logMaxBytes: 1_000_000,
    logFiles: 2,
    restart: FAST_RESTART,
    ...over,
  });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-local-'));
    stateDir = join(root, 'state');
    releaseDir = join(root, 'release');
    mkdirSync(releaseDir);
    writeFileSync(join(releaseDir, 'server.mjs'), SERVER);
    writeFileSync(join(releaseDir, 'chatty.mjs'), CHATTY);
  });
  afterEach(async () => {
    // Clean up even when a stop fails: a timer left running would keep the test process alive,
    // and a process left running would outlive the test.
    try {
      const last = drivers.at(-1);
      if (last)
        for (const s of last.list()) {
          if (s.pid) pids.add(s.pid);
          await last.stop(s.id, { timeoutMs: 1000 }).catch(() => {});
        }
    } finally {
      for (const d of drivers.splice(0)) await d.detach();
      for (const pid of pids) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      pids.clear();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('records instances durably: versioned instances.json with pid, process start time and port', async () => {
    const d = await driver();
    const s = await d.start(spec());
    const file = JSON.parse(readFileSync(join(stateDir, 'instances.json'), 'utf8'));
    assert.equal(file.version, 1);
    assert.equal(file.instances.length, 1);
    const rec = file.instances[0];
    assert.deepEqual([rec.spec.id, rec.pid, rec.port, rec.state, rec.restarts], ['web-1', s.pid, s.port, 'running', 0]);
    assert.equal(rec.procStartTime, readProcStat(s.pid!)?.startTime);
    await d.stop('web-1', { timeoutMs: 1000 });
    assert.deepEqual(JSON.parse(readFileSync(join(stateDir, 'instances.json'), 'utf8')).instances, []);
  });

  it('rotates a growing log by rename while the instance writes, losing and splitting no line, keeping logFiles old files', async () => {
    const d = await driver();
    await d.start(spec({ command: `${node} chatty.mjs`, logMaxBytes: 20_000, logFiles: 2 }));
    const out = d.logFiles('web-1')!.stdout;
    await waitFor('two rotated generations', () => existsSync(`${out}.2`), 10_000);
    // Let a few more rotations happen, so .2 has itself been replaced by a later generation.
    const firstOf2 = readFileSync(`${out}.2`, 'utf8').slice(0, 40);
    await waitFor('a later rotation', () => readFileSync(`${out}.2`, 'utf8').slice(0, 40) !== firstOf2, 10_000);
    await d.stop('web-1', { timeoutMs: 1000 });
    assert.equal(existsSync(`${out}.3`), false, 'no more than logFiles old files');
    const line = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \d{8} x{90}$/;
    const numbers: number[] = [];
    let lastAt = 0;
    for (const f of [`${out}.2`, `${out}.1`, out]) {
      const text = readFileSync(f, 'utf8');
      assert.ok(text.endsWith('\n'), `${f} ends with a whole line`);
      const lines = text.slice(0, -1).split('\n');
      const bad = lines.find((l) => !line.test(l));
      assert.equal(bad, undefined, `${f} holds whole stamped lines only`);
      for (const l of lines) {
        const { at, text: body } = parseLogLine(l);
        assert.ok(at! >= lastAt, 'times never go back');
        lastAt = at!;
        numbers.push(Number(body.slice(0, 8)));
      }
      assert.ok(statSync(f).size <= 20_000, `${f} stays within logMaxBytes`);
    }
    // Every line from the oldest kept to the last written, each exactly once: none lost, none split.
    const gaps = numbers.flatMap((n, i) => (i > 0 && n !== numbers[i - 1]! + 1 ? [`${numbers[i - 1]} → ${n}`] : []));
    assert.deepEqual(gaps, [], 'consecutive line numbers across rotations');
    assert.ok(numbers.length > 200, `only ${numbers.length} lines kept`);
  });

  it('rotates an oversized log when an instance starts', async () => {
    const d = await driver();
    mkdirSync(join(stateDir, 'logs'), { recursive: true });
    const out = join(stateDir, 'logs', 'web-1.out.log');
    writeFileSync(out, 'old line\n'.repeat(1000));
    const s = await d.start(spec({ logMaxBytes: 1000 }));
    await waitFor('the server', () => get(s.port));
    // The log writer is its own process: it rotates when it opens the file, which may be after the
    // app already answers (seen under load in CI), so wait for the rotation rather than assume it.
    await waitFor('the oversized log rotated', () => existsSync(`${out}.1`));
    assert.equal(readFileSync(`${out}.1`, 'utf8'), 'old line\n'.repeat(1000));
    await waitFor('the listening line', () => readFileSync(out, 'utf8') !== '');
    assert.deepEqual(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => parseLogLine(l).text),
      ['listening'],
    );
  });

  it('does not adopt a recorded pid now used by another process (pid reuse), and does not signal it', async () => {
    const d1 = await driver();
    const s = await d1.start(spec());
    await waitFor('the server', () => get(s.port));
    await d1.stop('web-1', { timeoutMs: 1000 });
    await d1.detach();
    // Fake the history: the instance's record names the pid of an unrelated live process.
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const stat = readProcStat(stranger.pid!)!;
      const rec = {
        spec: spec(),
        port: s.port,
        pid: stranger.pid,
        procStartTime: stat.startTime - 1,
        startedAt: Date.now() - 60_000,
        restarts: 0,
        state: 'running',
        lastExit: null,
        quickExits: 0,
        stopRequested: false,
      };
      writeFileSync(join(stateDir, 'instances.json'), JSON.stringify({ version: 1, instances: [rec] }));
      const d2 = await driver();
      const restarted = await waitFor(
        'a fresh instance',
        () => d2.list().find((x) => x.state === 'running' && x.pid !== stranger.pid),
        5000,
      );
      assert.equal(restarted.lastExit?.code, null);
      assert.match(await waitFor('the fresh server on the recorded port', () => get(s.port)), /^\d+$/);
      await d2.stop('web-1', { timeoutMs: 1000 });
      assert.equal(processAlive(stranger.pid!), true, 'the unrelated process was left alone');
    } finally {
      stranger.kill('SIGKILL');
      await once(stranger, 'exit');
    }
  });

  it("instances keep serving when the driver's process is SIGKILLed, and a new driver adopts them", async () => {
    // Given a controller-like process that started an instance through the compiled driver
    const parentScript = join(root, 'parent.mjs');
    writeFileSync(
      parentScript,
      `
      const { LocalDriver } = await import(process.argv[2]);
      const d = new LocalDriver({ stateDir: process.argv[3] });
      await d.init();
      const s = await d.start(JSON.parse(process.argv[4]));
      process.stdout.write(JSON.stringify(s) + '\\n');
      setInterval(() => {}, 1000);
    `,
    );
    const driverUrl = new URL('../../src/drivers/local/local-driver.js', import.meta.url).href;
    const parent = spawn(process.execPath, [parentScript, driverUrl, stateDir, JSON.stringify(spec())], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let started: InstanceStatus;
    try {
      const [line] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
      started = JSON.parse(line) as InstanceStatus;
      pids.add(started.pid!);
      const appPid = await waitFor('the instance to answer', () => get(started.port));

      // When the controller is killed with SIGKILL while traffic flows
      let failures = 0;
      let served = 0;
      let killedAt = 0;
      const traffic = (async () => {
        while (killedAt === 0 || Date.now() - killedAt < 500) {
          try {
            await get(started.port);
            served++;
          } catch {
            failures++;
          }
        }
      })();
      await waitFor('some traffic', () => served >= 20);
      parent.kill('SIGKILL');
      await once(parent, 'exit');
      killedAt = Date.now();
      await traffic;

      // Then not one request failed, and the same process still serves
      assert.equal(failures, 0, `${failures} requests failed around the controller's death`);
      assert.equal(await get(started.port), appPid);
      assert.equal(processAlive(started.pid!), true);

      // And its output is still captured: the log writer outlived the controller too
      await get(started.port, '/after-the-kill');
      const d = await driver();
      await waitFor('the line written after the kill', async () => (await d.logTail('web-1', 5)).includes('served /after-the-kill'));

      // And a new driver adopts it without a restart
      const [adopted] = d.list();
      assert.deepEqual(
        [adopted?.id, adopted?.state, adopted?.pid, adopted?.port, adopted?.restarts],
        ['web-1', 'running', started.pid, started.port, 0],
      );
      assert.equal(await get(started.port), appPid);
      await d.stop('web-1', { timeoutMs: 2000 });
      assert.equal(processAlive(started.pid!), false);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) {
        parent.kill('SIGKILL');
        await once(parent, 'exit');
      }
    }
  });
});
