import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJsonIfExists } from '../../src/core/atomic-file.js';
import type { SlipwayError } from '../../src/core/errors.js';
import { LocalRouter } from '../../src/router/local-router.js';
import { pidAlive as isProcessAlive } from '../../src/core/process.js';
import type { RouterInfoFile } from '../../src/router/state-files.js';
import { get, route, startUpstream, tempDir } from './helpers.js';
import { waitFor } from '../../src/core/wait-for.js';
import { processesWithArg } from '../support/processes.js';

const LOCAL_ROUTER_JS = fileURLToPath(new URL('../../src/router/local-router.js', import.meta.url));

function info(stateDir: string): RouterInfoFile {
  return readJsonIfExists<RouterInfoFile>(join(stateDir, 'router.json'))!;
}

/** Pids of the processes started for this state directory (supervisor, worker, standby worker): their command line names it. */
const routerProcesses = processesWithArg;

test('a second client adopts the running router instead of starting another', async () => {
  const stateDir = tempDir();
  const first = new LocalRouter({ stateDir });
  let pids: number[] = [];
  try {
    const how = await first.ensureRunning();
    assert.deepEqual(how, { started: true, pid: first.pid, replaced: null });
    const second = new LocalRouter({ stateDir });
    const [a, b] = await Promise.all([second.ensureRunning(), second.ensureRunning()]);
    assert.equal(second.pid, first.pid);
    assert.equal(a.started, false);
    assert.equal(b.started, false);
    assert.equal(info(stateDir).version, 1);
    const h = await first.health();
    // The supervisor, the worker and (soon) a standby worker.
    await waitFor('standby worker forked', () => routerProcesses(stateDir).length === 3);
    pids = routerProcesses(stateDir);
    assert.ok(pids.includes(h.pid) && pids.includes(h.workerPid));
  } finally {
    await first.shutdown();
    rmSync(stateDir, { recursive: true, force: true });
  }
  assert.equal(isProcessAlive(first.pid ?? -1), false);
  await waitFor('every router process gone', () => pids.every((p) => !isProcessAlive(p)));
});

test('a killed router restarts with its routes and serves them on the same ports', async () => {
  const stateDir = tempDir();
  const up = await startUpstream('kept');
  const router = new LocalRouter({ stateDir });
  try {
    await router.ensureRunning();
    const r1 = await router.applyRoute(route('alpha', [{ release: 1, weight: 1, backends: [up.backend('a1')] }]));
    const r2 = await router.applyRoute(
      route('beta', [
        { release: 2, weight: 2, backends: [up.backend('b1')] },
        { release: 3, weight: 0, backends: [] },
      ]),
    );
    const before = await router.routes();
    const oldPid = router.pid!;
    const oldBoot = (await router.stats()).bootId;

    process.kill(oldPid, 'SIGKILL');
    await waitFor('old router gone', () => !isProcessAlive(oldPid));

    const again = new LocalRouter({ stateDir });
    await again.ensureRunning();
    assert.notEqual(again.pid, oldPid);
    assert.deepEqual(await again.routes(), before);
    assert.notEqual((await again.stats()).bootId, oldBoot, 'counts restart with a new boot id');
    assert.equal((await get(r1.listen.port)).body, 'kept');
    assert.equal((await get(r2.listen.port)).body, 'kept');
    await again.shutdown();
  } finally {
    await router.shutdown().catch(() => undefined);
    await up.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('the router survives the process that started it being SIGKILLed', async () => {
  const stateDir = tempDir();
  const script = join(stateDir, 'parent.mjs');
  writeFileSync(
    script,
    [
      `import { LocalRouter } from ${JSON.stringify(pathToFileURL(LOCAL_ROUTER_JS).href)};`,
      `const r = new LocalRouter({ stateDir: ${JSON.stringify(stateDir)} });`,
      'await r.ensureRunning();',
      'console.log(`ready ${r.pid}`);',
      'setInterval(() => {}, 1000);',
    ].join('\n'),
  );
  const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let routerPid = 0;
  try {
    let out = '';
    parent.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor('parent started the router', () => /ready \d+/.test(out), 15_000);
    routerPid = Number(/ready (\d+)/.exec(out)![1]);

    parent.kill('SIGKILL');
    await new Promise((resolve) => parent.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200)); // give a wrongly attached child time to die

    assert.ok(isProcessAlive(routerPid), 'router still running');
    const adopter = new LocalRouter({ stateDir });
    await adopter.ensureRunning();
    assert.equal(adopter.pid, routerPid, 'adopted, not restarted');
    await adopter.shutdown();
    assert.equal(isProcessAlive(routerPid), false);
  } finally {
    if (parent.exitCode === null) parent.kill('SIGKILL');
    if (routerPid > 0 && isProcessAlive(routerPid)) process.kill(routerPid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('SIGTERM stops accepting, finishes requests in flight and exits 0', async () => {
  const stateDir = tempDir();
  const held: ServerResponse[] = [];
  const up = await startUpstream('slow', (req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('quick');
  });
  const router = new LocalRouter({ stateDir });
  try {
    await router.ensureRunning();
    const r = await router.applyRoute(route('term', [{ release: 1, weight: 1, backends: [up.backend('t1')] }]));
    const inflight = get(r.listen.port, '/hold');
    await waitFor('request in flight', () => held.length === 1);
    const pid = router.pid!;
    process.kill(pid, 'SIGTERM');
    await waitFor('listener closed', async () =>
      get(r.listen.port, '/probe').then(
        () => false,
        () => true,
      ),
    );
    assert.ok(isProcessAlive(pid), 'still finishing the request in flight');
    held[0]!.end('finished');
    const reply = await inflight;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'finished');
    await waitFor('router exited', () => !isProcessAlive(pid));
    assert.match(readLog(stateDir), /router stopped/);
    assert.equal(readJsonIfExists(join(stateDir, 'router.json')), undefined, 'router.json removed on a clean stop');
  } finally {
    await router.shutdown().catch(() => undefined);
    await up.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a router that cannot start fails ensureRunning with the log tail', async () => {
  const stateDir = tempDir();
  const entry = join(stateDir, 'broken.mjs');
  writeFileSync(entry, 'console.error("boom: cannot start for a test reason"); process.exit(1);\n');
  try {
    const router = new LocalRouter({ stateDir, entry, startTimeoutMs: 5000 });
    const err = await router.ensureRunning().then(
      () => undefined,
      (e: SlipwayError) => e,
    );
    assert.ok(err);
    assert.equal(err.code, 'ROUTER_START_FAILED');
    assert.match(err.message, /boom: cannot start for a test reason/);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

function readLog(stateDir: string): string {
  return readFileSync(join(stateDir, 'router.log'), 'utf8');
}
