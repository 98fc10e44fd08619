/**
 * State that nobody else can touch, one controller per project, and a lost state database that
 * never costs a request. Real CLI, real processes; file reads as user nobody (the tests run as root).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TestProject, CLI } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import { waitForExit, pidAlive } from '../../src/core/process.js';

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    out.push(p);
    if (st.isDirectory()) walk(p, out);
  }
  return out;
}

/** Every live process that belongs to the project: its cwd, its command line or its environment names the project directory. */
function projectProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const pid = Number(name);
    let cwd = '';
    let cmdline = '';
    let environ = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      /* gone or a kernel thread */
    }
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* gone */
    }
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      /* gone */
    }
    if ((cwd === dir || cwd.startsWith(dir + '/') || cmdline.includes(dir) || environ.includes(dir)) && pidAlive(pid)) pids.push(pid);
  }
  return pids;
}

/** Runs the CLI without waiting for it: for starting two at the same moment. */
function startCli(p: TestProject, args: string[]): { pid: number; done: Promise<{ code: number; stderr: string }>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: p.dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code: code ?? -1, stderr })),
  );
  return { pid: child.pid!, done, stderr: () => stderr };
}

describe('state safety (real processes)', () => {
  const projects: TestProject[] = [];
  const project = () => {
    const p = new TestProject();
    projects.push(p);
    return p;
  };
  after(async () => {
    for (const p of projects) await p.cleanup();
  });

  it('keeps every file under .slipway/ out of reach of other users', async () => {
    const p = project();
    await p.writeConfig({ env: { VERSION: 'v1', SECRET_KEY: 'hunter2' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    const root = join(p.dir, '.slipway');
    const all = walk(root);
    const files = all.filter((f) => lstatSync(f).isFile());
    const names = files.map((f) => relative(root, f));
    for (const expected of ['state.db', 'state.db-wal', 'local/instances.json', 'controller.json', 'controller.log'])
      assert.ok(names.includes(expected), `${expected} exists (${names.join(', ')})`);
    assert.ok(
      names.some((n) => n.startsWith('backups/state-')),
      'a backup was taken after the rollout',
    );
    assert.ok(
      names.some((n) => n.startsWith('local/logs/')),
      'instance logs exist',
    );

    // Read every file as nobody: each read must be refused.
    const script = 'for f in "$@"; do if cat "$f" >/dev/null 2>&1; then echo "READABLE $f"; fi; done';
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script, 'sh', ...files], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '', 'files other users can read');
    const grep = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'grep', '-r', 'hunter2', root], {
      encoding: 'utf8',
    });
    assert.notEqual(grep.status, 0);
    assert.doesNotMatch(grep.stdout, /hunter2/);

    // And the modes themselves: .slipway/ and every directory 0700, state files 0600. Release
    // directories keep their packaged modes inside (instances need them) behind a 0700 parent; so
    // do the file store's entries, which are hard links of release files and so share their mode
    // (ADR 0011), behind 0700 directories.
    const mode = (f: string) => lstatSync(f).mode & 0o777;
    assert.equal(mode(root), 0o700);
    const isReleaseFile = (rel: string) =>
      /^releases\/[^/]+\/./.test(rel) ||
      /^artifacts\/files\/[0-9a-f]{2}\/[0-9a-f]{64}-[0-7]{3}$/.test(rel) ||
      // Build outputs saved by the build cache keep their modes, like release contents, behind 0700 directories.
      /^artifacts\/build-cache\/[0-9a-f]{32}\/[0-9a-f]{64}\/paths\/./.test(rel);
    const outsideReleases = all.filter((f) => !isReleaseFile(relative(root, f)));
    for (const f of outsideReleases) {
      const st = lstatSync(f);
      if (st.isDirectory()) assert.equal(mode(f), 0o700, `${relative(root, f)} is ${mode(f).toString(8)}`);
      else if (st.isFile()) assert.equal(mode(f) & 0o077, 0, `${relative(root, f)} is ${mode(f).toString(8)}`);
    }
    // The instances (same user) still read their release directory: they serve.
    assert.equal((await fetch(p.url)).status, 200);

    // An older project with world-readable files is fixed when its controller starts.
    spawnSync('chmod', ['-R', 'go+rX', root]);
    const controller = p.controllerPid();
    process.kill(controller, 'SIGTERM');
    assert.ok(await waitForExit(controller, 30_000));
    const again = await p.cli(['up']);
    assert.equal(again.code, 0, again.stderr);
    for (const f of ['', 'state.db', 'local', 'local/instances.json', 'controller.json'])
      assert.equal(mode(join(root, f)) & 0o077, 0, `${f || '.slipway'} after restart`);
  });

  it('runs one controller per project: a second is refused naming the first, and down leaves nothing running', async () => {
    const p = project();
    await p.writeConfig({ instances: 2 });
    const a = startCli(p, ['server']);
    const b = startCli(p, ['server']);
    const loser = await Promise.race([
      a.done.then((r) => ({ ...r, pid: a.pid, other: b.pid })),
      b.done.then((r) => ({ ...r, pid: b.pid, other: a.pid })),
    ]);
    assert.equal(loser.code, 4, loser.stderr);
    assert.match(loser.stderr, new RegExp(`pid ${loser.other}\\b`));
    await waitFor('the winner to listen', () => {
      try {
        return p.controllerPid() === loser.other;
      } catch {
        return false;
      }
    });
    assert.ok(pidAlive(loser.other));
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`controller already running \\(pid ${loser.other}\\)`));
    const web = (await p.status()).services[0]!;
    assert.equal(web.instances.length, 2);
    const known = [loser.other, ...web.instances.map((i) => i.pid!)];
    const all = projectProcesses(p.dir);
    for (const pid of known) assert.ok(all.includes(pid), `pid ${pid} found among the project's processes`);

    const down = await p.cli(['down']);
    assert.equal(down.code, 0, down.stderr);
    for (const pid of [...known, ...all]) assert.ok(await waitForExit(pid, 10_000), `pid ${pid} still runs after down`);
    assert.deepEqual(projectProcesses(p.dir), []);
  });

  it('two `up` at once end with one controller and the right number of instances', async () => {
    const p = project();
    await p.writeConfig({ instances: 2 });
    const [a, b] = await Promise.all([startCli(p, ['up']).done, startCli(p, ['up']).done]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const web = (await p.status()).services[0]!;
    assert.equal(web.instances.length, 2);
    assert.equal(web.health, 'Healthy');
    const procs = projectProcesses(p.dir);
    const controllers = procs.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('server'));
    assert.deepEqual(controllers, [p.controllerPid()]);
    const instances = procs.filter(
      (pid) =>
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .some((e) => e.startsWith('SLIPWAY_INSTANCE=')) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/bin/sh'),
    );
    assert.equal(instances.length, 2, 'instance processes');
    const down = await p.cli(['down']);
    assert.equal(down.code, 0, down.stderr);
    for (const pid of procs) assert.ok(await waitForExit(pid, 10_000), `pid ${pid} still runs after down`);
  });

  it('refuses to start on a lost or damaged state database while the data plane serves every request; restore brings it back', async () => {
    const p = project();
    await p.writeConfig({ instances: 2 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    const pidsBefore = (await p.status()).services[0]!.instances.map((i) => i.pid).sort();
    const db = join(p.dir, '.slipway/state.db');
    const load = startLoad(p.url);

    // Deleted while the controller runs, then the controller restarts.
    rmSync(db);
    const first = p.controllerPid();
    process.kill(first, 'SIGTERM');
    assert.ok(await waitForExit(first, 30_000));
    const missing = await p.cli(['server']);
    assert.equal(missing.code, 6, missing.stderr);
    assert.match(missing.stderr, /state database .* is missing, but 2 instance\(s\)/);
    assert.match(missing.stderr, /hint: .*\.slipway\/backups\/state-[^ ]+\.db.* slipway state restore/);
    const upMissing = await p.cli(['up']);
    assert.equal(upMissing.code, 6, upMissing.stderr);
    const restored = await p.cli(['state', 'restore']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /web: release 1 current/);
    const again = await p.cli(['up']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /release 1 is current, nothing changed/);

    // Damaged after a SIGKILL of the controller.
    process.kill(p.controllerPid(), 'SIGKILL');
    await waitFor('traffic while no controller runs', () => load.snapshot().ok > 20);
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    closeSync(fd);
    const damaged = await p.cli(['server']);
    assert.equal(damaged.code, 6, damaged.stderr);
    assert.match(damaged.stderr, /state database .* is damaged/);
    assert.match(damaged.stderr, /slipway state restore/);
    const restoredAgain = await p.cli(['state', 'restore']);
    assert.equal(restoredAgain.code, 0, restoredAgain.stderr);
    assert.match(restoredAgain.stdout, /kept as .*state\.db\.replaced-/);
    const upAgain = await p.cli(['up']);
    assert.equal(upAgain.code, 0, upAgain.stderr);

    const okBefore = load.snapshot().ok;
    await waitFor('traffic after the restore', () => load.snapshot().ok > okBefore + 20);
    const result = await load.stop();
    assert.deepEqual(result.failures, [], `${result.failed} of ${result.sent} requests failed`);
    assert.ok(result.ok > 100, `only ${result.ok} requests were sent`);
    const web = (await p.status()).services[0]!;
    assert.deepEqual(web.instances.map((i) => i.pid).sort(), pidsBefore, 'the instances were adopted, not replaced');
    assert.equal(web.health, 'Healthy');
  });

  it('after a restore from an older backup, leaves instances of a release it forgot serving until a deploy replaces them', async () => {
    const p = project();
    await p.writeConfig({ instances: 2, env: { VERSION: 'v1' } });
    assert.equal((await p.cli(['up'])).code, 0);
    await p.writeConfig({ instances: 2, env: { VERSION: 'v2' } });
    const deploy = await p.cli(['deploy', 'web', '--wait']);
    assert.equal(deploy.code, 0, deploy.stderr);
    const serving = (await p.status()).services[0]!.instances;
    assert.deepEqual(
      serving.map((i) => i.release),
      [2, 2],
    );
    const load = startLoad(p.url);

    // The database is lost and the only backup left is the one from before release 2.
    const controller = p.controllerPid();
    process.kill(controller, 'SIGTERM');
    assert.ok(await waitForExit(controller, 30_000));
    const old = readdirSync(join(p.dir, '.slipway/backups')).find((n) => n.endsWith('-web-rollout1.db'))!;
    const restore = await p.cli(['state', 'restore', '--from', join(p.dir, '.slipway/backups', old)]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, /web: release 1 current/);

    const server = startCli(p, ['server']);
    await waitFor('the controller to notice the release it does not know', () =>
      /release\(s\) 2 run but the state database does not know them/.test(server.stderr()),
    );
    const web = await waitFor('status with the same instances', async () => {
      const s = (await p.status()).services[0];
      return s && s.instances.length === 2 ? s : undefined;
    });
    assert.deepEqual(
      web.instances.map((i) => i.pid).sort(),
      serving.map((i) => i.pid).sort(),
      'instances of the forgotten release were replaced',
    );
    const okBefore = load.snapshot().ok;
    await waitFor('traffic while the controller runs on the restored state', () => load.snapshot().ok > okBefore + 50);
    assert.deepEqual(load.snapshot().failures, []);

    // A deploy replaces them with a release of a new number, without a failed request.
    const again = await p.cli(['deploy', 'web', '--wait']);
    assert.equal(again.code, 0, again.stderr);
    const after = (await p.status()).services[0]!;
    assert.deepEqual(
      after.instances.map((i) => i.release),
      [3, 3],
    );
    const result = await load.stop();
    assert.deepEqual(result.failures, [], `${result.failed} of ${result.sent} requests failed`);
    assert.match(await (await fetch(p.url)).text(), /v2/);
  });
});
