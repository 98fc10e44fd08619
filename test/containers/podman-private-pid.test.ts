/**
 * The podman driver as the controller runs it (a private pid namespace, the image's own
 * entrypoint, no release directory): a secret reaches the container's environment and no file of
 * ours, a crash is restarted on the same port, and after stop nothing of the container, its
 * secret included, is left in podman's store.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podmanScratch, podmanSkipReason, type PodmanScratch } from '../support/podman-scratch.js';
import { get } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import { PodmanDriver } from '../../src/drivers/podman/podman-driver.js';
import { FAST_RESTART } from '../../src/drivers/driver-contract.js';
import type { InstanceSpec } from '../../src/drivers/driver.js';

const APP = `
const http = require('node:http');
const { createHash } = require('node:crypto');
http.createServer((req, res) => {
  if (req.url === '/crash') { res.end('bye'); setTimeout(() => process.exit(7), 10); return; }
  res.end(process.pid + ' ' + createHash('sha256').update(process.env.DB_PASSWORD || 'unset').digest('hex'));
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => process.exit(0));
`;
const SECRET = 'pw-' + createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 16);

describe('podman driver with a private pid namespace', { skip: podmanSkipReason() }, () => {
  let scratch: PodmanScratch;
  let stateDir: string;
  let driver: PodmanDriver;
  let image: string;

  before(() => {
    scratch = podmanScratch();
    stateDir = mkdtempSync(join(tmpdir(), 'slipway-podman-state-'));
    image = scratch.buildNodeImage('localhost/slipway-secret:test', { '/app/server.js': APP });
  });
  after(async () => {
    try {
      for (const s of driver?.list() ?? []) await driver.stop(s.id, { timeoutMs: 1000 }).catch(() => undefined);
      await driver?.detach();
    } finally {
      scratch.teardown();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('gives the secret to the container only, restarts a crash on its port, and leaves nothing after stop', async () => {
    driver = new PodmanDriver({ stateDir, cli: scratch.cli, secretEnv: async () => ({ DB_PASSWORD: SECRET }) });
    await driver.init();
    const spec: InstanceSpec = {
      id: 'web-1',
      service: 'web',
      release: 1,
      releaseDir: '',
      command: '',
      image,
      env: {},
      secrets: ['DB_PASSWORD'],
      logMaxBytes: 1_000_000,
      logFiles: 2,
      restart: FAST_RESTART,
    };
    const s = await driver.start(spec);
    const url = `http://${s.host}:${s.port}/`;
    const first = await waitFor('the app to answer', async () => (await get(url)).body);
    const [pid, hash] = first.split(' ');
    assert.equal(hash, createHash('sha256').update(SECRET).digest('hex'), 'the secret arrived');
    assert.equal(pid, '1', 'the app is pid 1 of its own namespace');
    assert.notEqual(s.pid, 1, 'the driver knows its pid on this machine');
    assert.ok(!readFileSync(join(stateDir, 'instances.json'), 'utf8').includes(SECRET), 'no value in the driver state');

    await get(url + 'crash');
    const back = await waitFor('a restart on the same port', async () => {
      const now = driver.list()[0];
      return now?.state === 'running' && now.restarts === 1 && now.pid !== s.pid && (await get(url)).status === 200 && now;
    });
    assert.equal(back.lastExit?.code, 7);
    assert.equal(back.port, s.port);

    await driver.stop('web-1', { timeoutMs: 3000 });
    assert.deepEqual(driver.list(), []);
    const left = execFileSync('podman', ['ps', '-aq'], { env: { ...process.env, ...scratch.env }, encoding: 'utf8' }).trim();
    await waitFor(
      'the restarted container and the crashed one to be removed',
      async () => {
        const ids = (await scratch.cli.podman(['ps', '-aq'])).trim();
        return ids === '' || undefined;
      },
      10_000,
    ).catch(() => assert.fail(`containers left: ${left}`));
    // With its containers gone, no file of ours or of the containers holds the value. podman's own
    // database keeps it in freed pages (bolt does not zero them): readable by root only, and
    // written down in docs/adr/0022-container-releases.md as the exposure this choice has.
    let found = '';
    try {
      found = execFileSync('grep', ['-rl', SECRET, join(scratch.dir, 'storage'), join(scratch.dir, 'run'), stateDir], { encoding: 'utf8' });
    } catch {
      /* no match */
    }
    const db = join(scratch.dir, 'storage/libpod/bolt_state.db');
    assert.deepEqual(
      found.split('\n').filter((f) => f && f !== db),
      [],
    );
    assert.equal(statSync(db).mode & 0o077, 0, 'podman database private to root');
  });
});
