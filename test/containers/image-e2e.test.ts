/**
 * End to end with real containers: the CLI, controller and built-in router deploy a service whose
 * `image: { build }` is built here with podman (FROM scratch: this machine's node and the test
 * fixture app), roll v1 → v2 under steady load with zero failed requests, and roll back to the
 * old digest. A second project declares a loopback `docker-registry`: the release records the
 * registry's digest, and a fresh podman store pulls that digest and runs it.
 * Everything runs in a scratch podman configuration (never the machine's default store) passed to
 * the controller through its environment; every container, image and mount is removed at the end.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, freePort, get } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { podmanScratch, podmanSkipReason, type PodmanScratch } from '../support/podman-scratch.js';
import { waitFor } from '../../src/core/wait-for.js';
import { config, FIXTURE } from './image-project.js';
import type { HistoryResponse, StatusResponse } from '../../src/api/types.js';

const skip = podmanSkipReason();
describe('image services under podman, through the built-in router', { skip }, () => {
  let scratch: PodmanScratch;
  const p = new TestProject();
  const cli = (args: string[]) => p.cli(args, { env: scratch.env, timeoutMs: 180_000 });
  const status = async () => JSON.parse((await cli(['status', '--json'])).stdout) as StatusResponse;

  before(async () => {
    scratch = podmanScratch();
    p.port = await freePort();
    // The context: the rootfs with the fixture app; VERSION comes from the service's env.
    scratch.writeContext(join(p.dir, 'web'), { '/app/server.js': readFileSync(FIXTURE, 'utf8') });
    writeFileSync(join(p.dir, 'slipway.yaml'), config(p.port, 'v1'));
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
  after(async () => {
    await cli(['down']).catch(() => undefined);
    await p.cleanup();
    scratch.teardown();
  });

  it('serves the first release from containers, and status says podman runs it by local image id', async () => {
    const r = await get(p.url);
    assert.equal(r.status, 200);
    assert.match(r.body, /^v1 release=1 /);
    const web = (await status()).services[0]!;
    assert.equal(web.runtime?.kind, 'podman');
    assert.equal(web.runtime?.where, 'local');
    const history = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.match(history.releases[0]!.digest, /^sha256:[a-f0-9]{64}$/);
    // The instances are containers of that image, labelled with their instance ids.
    const ps = await scratch.cli.podman(['ps', '--format', '{{.Labels}} {{.ImageID}}', '--filter', 'label=io.slipway.service']);
    const lines = ps.trim().split('\n');
    assert.equal(lines.length, 2, ps);
    for (const l of lines) assert.ok(l.includes(history.releases[0]!.digest.slice(7, 19)), l);
    const rendered = (await cli(['status'])).stdout;
    assert.match(rendered, /runtime podman · image [a-f0-9]{64} \(local image id: no registry declared/);
  });

  it('an unchanged context builds the same image: `slipway plan` sees no change and `slipway up` records no new release', async () => {
    const plan = await cli(['plan', '--detailed-exitcode']);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    const history = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.equal(history.releases.length, 1);
  });

  it('rolls v1 → v2 under load with zero failed requests, then back to the old digest', async () => {
    writeFileSync(join(p.dir, 'slipway.yaml'), config(p.port, 'v2'));
    // A changed context too: a new image, not only a new env.
    writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), 'v2\n');
    let load = startLoad(p.url);
    const deploy = await cli(['deploy', 'web', '--wait']);
    let result = await load.stop();
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.deepEqual(result.failures, []);
    assert.ok(result.ok > 50, `only ${result.ok} requests succeeded`);
    assert.match((await get(p.url)).body, /^v2 release=2 /);
    let history = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    const [v2, v1] = history.releases;
    assert.notEqual(v2!.digest, v1!.digest, 'a changed context is a new image');

    load = startLoad(p.url);
    const rb = await cli(['rollback', 'web']);
    result = await load.stop();
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(result.failures, []);
    await waitFor('release 1 to serve again', async () => /^v1 release=1 /.test((await get(p.url)).body));
    history = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.deepEqual(
      history.releases.map((r) => [r.number, r.current]),
      [
        [2, false],
        [1, true],
      ],
    );
    // The old digest runs again: the containers are of release 1's image.
    const ps = await scratch.cli.podman(['ps', '--format', '{{.ImageID}}', '--filter', 'label=io.slipway.release=1']);
    assert.equal(ps.trim().split('\n').length, 2);
    for (const id of ps.trim().split('\n')) assert.ok(v1!.digest.includes(id.trim()), `${id} is not ${v1!.digest}`);
  });

  it('a controller killed with SIGKILL fails no request; the next one adopts the containers without restarting them', async () => {
    const before = (await status()).services[0]!.instances.map((i) => [i.id, i.pid]);
    const load = startLoad(p.url);
    process.kill(p.controllerPid(), 'SIGKILL');
    await waitFor('some requests while the controller is dead', () => load.snapshot().ok > 50);
    // `slipway up` starts a new controller, which adopts what runs (nothing changed: no deploy).
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    const after = (await status()).services[0]!.instances.map((i) => [i.id, i.pid]);
    const result = await load.stop();
    assert.deepEqual(result.failures, []);
    assert.deepEqual(after, before, 'same containers, same processes');
  });

  it('slipway down stops and removes every container it started', async () => {
    const down = await cli(['down']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal((await scratch.cli.podman(['ps', '-aq', '--filter', 'label=io.slipway.service'])).trim(), '');
  });
});

describe('image releases through a loopback registry', { skip }, () => {
  let scratch: PodmanScratch;
  let registry: ChildProcess | undefined;
  let regDir: string;
  const p = new TestProject();
  const cli = (args: string[]) => p.cli(args, { env: scratch.env, timeoutMs: 180_000 });

  before(async () => {
    scratch = podmanScratch();
    regDir = join(scratch.dir, 'registry');
    mkdirSync(join(regDir, 'data'), { recursive: true });
    const regPort = await freePort();
    writeFileSync(
      join(regDir, 'config.yml'),
      `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${regDir}/data}}\nhttp: {addr: "127.0.0.1:${regPort}", secret: test-only}\n`,
    );
    registry = spawn('docker-registry', ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' });
    await waitFor('the registry to answer', async () => (await get(`http://127.0.0.1:${regPort}/v2/`)).status === 200, 10_000);
    // Pulls go to the registry over plain HTTP (registries.conf); pushes say so themselves (insecure: true).
    writeFileSync(scratch.env.CONTAINERS_REGISTRIES_CONF, `[[registry]]\nlocation = "127.0.0.1:${regPort}"\ninsecure = true\n`);
    p.port = await freePort();
    scratch.writeContext(join(p.dir, 'web'), { '/app/server.js': readFileSync(FIXTURE, 'utf8') });
    writeFileSync(join(p.dir, 'slipway.yaml'), config(p.port, 'v1', `registry: { url: "127.0.0.1:${regPort}", insecure: true }\n`));
  });
  after(async () => {
    await cli(['down']).catch(() => undefined);
    await p.cleanup();
    if (registry?.pid) registry.kill('SIGTERM');
    scratch.teardown();
  });

  it('pushes by digest, records the registry digest, and a fresh store pulls and runs that digest', async () => {
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    const history = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    const digest = history.releases[0]!.digest;
    const web = (JSON.parse((await cli(['status', '--json'])).stdout) as StatusResponse).services[0]!;
    assert.deepEqual([web.runtime?.kind, web.runtime?.where], ['podman', 'registry']);
    assert.ok(web.runtime!.image!.endsWith(`/test/web@${digest}`), web.runtime!.image);
    // The registry serves that very manifest digest.
    const regUrl = web.runtime!.image!.split('/')[0]!;
    const head = await fetch(`http://${regUrl}/v2/test/web/manifests/${digest}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), digest);

    // A fresh store (another machine, as far as podman knows) pulls by digest and runs it.
    const fresh = join(scratch.dir, 'fresh');
    const other = ['--root', join(fresh, 'root'), '--runroot', join(fresh, 'run')];
    try {
      await scratch.cli.podman([...other, 'pull', '-q', web.runtime!.image!]);
      const port = await freePort();
      await scratch.cli.podman([
        ...other,
        'run',
        '-d',
        '--name',
        'fresh-web',
        '--network',
        'host',
        '-e',
        `PORT=${port}`,
        '-e',
        'VERSION=pulled',
        web.runtime!.image!,
      ]);
      await waitFor('the pulled image to serve', async () => /^pulled /.test((await get(`http://127.0.0.1:${port}/`)).body), 15_000);
    } finally {
      await scratch.cli.podman([...other, 'rm', '-f', '-t', '0', '-a']).catch(() => undefined);
      await scratch.cli.podman([...other, 'rmi', '-af']).catch(() => undefined);
      for (const m of readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1] ?? ''))
        if (m.startsWith(fresh + '/')) await new Promise((r) => spawn('umount', [m]).on('exit', r));
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
