/**
 * An instance on a real host without systemd: started detached (the SSH command returns), serving
 * on the host's address, seen as running through its pid and start time, not confused with a
 * process that got its pid after a host crash and reboot, and stopped with its process group.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { remoteProcessState, startRemoteProcess, stopRemoteProcess, type RemoteProcessSpec } from '../../src/fleet/remote-process.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import type { SshTarget } from '../../src/ssh/transport.js';
import { Fleet } from '../support/fleet/fleet.js';

describe('an instance process on a host (no systemd)', { skip: Fleet.skipReason() }, () => {
  let fleet: Fleet;
  let target: SshTarget;
  const pool = new SshPool(new Ssh2Transport());
  const get = async (url: string) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.text();
  };

  before(async () => {
    fleet = await Fleet.start({ hosts: 1 });
    const known = join(fleet.dir, 'known_hosts');
    await writeFile(known, fleet.knownHosts());
    target = {
      host: fleet.hosts[0]!.address,
      port: 22,
      user: 'root',
      identityFile: fleet.keyFile,
      knownHosts: known,
      keepaliveIntervalMs: 500,
    };
  });
  after(async () => {
    await pool.closeAll();
    await fleet?.stop();
  });

  it('starts detached, serves, survives the SSH connection, is told apart from a reused pid, and stops', async () => {
    const address = fleet.hosts[0]!.address;
    const spec: RemoteProcessSpec = {
      name: 'web-1',
      runDir: '/srv/slipway/run',
      cwd: '/',
      logFile: '/srv/slipway/web-1.log',
      argv: ['node', '-e', "require('http').createServer((q, r) => r.end('hello ' + process.env.WHO)).listen(8080, process.env.ADDR)"],
      env: { WHO: "h1's; $(instance)", ADDR: address },
    };
    let host = await pool.get(target);
    await host.run(['mkdir', '-p', '/srv/slipway']);
    const first = await startRemoteProcess(host, spec);
    assert.equal(first.started, true);
    assert.equal(await waitFor('the instance to serve', () => get(`http://${address}:8080/`), 10_000), "hello h1's; $(instance)");
    assert.deepEqual(await startRemoteProcess(host, spec), { pid: first.pid, started: false }, 'a running instance is not started twice');

    host.close(); // the instance does not depend on the connection that started it
    host = await pool.get(target);
    assert.deepEqual(await remoteProcessState(host, spec.runDir, spec.name), { state: 'running', pid: first.pid });

    // After a crash and reboot, PIDs start low again: make some process hold the old pid if we can,
    // and check the pid file is not taken for it either way.
    await fleet.crash(0);
    await fleet.boot(0);
    host = await pool.get(target);
    assert.deepEqual(await remoteProcessState(host, spec.runDir, spec.name), { state: 'stopped' });
    const pidNow = await host.run(['sh', '-c', `sleep 60 </dev/null >/dev/null 2>&1 & echo $!`]);
    await host.run(['sh', '-c', `printf '%s 1\\n' "$1" > /srv/slipway/run/fake.pid`, 'sh', pidNow.stdout.trim()]);
    assert.deepEqual(
      await remoteProcessState(host, spec.runDir, 'fake'),
      { state: 'stopped' },
      'a live pid with another start time is not the instance',
    );

    const again = await startRemoteProcess(host, spec);
    assert.equal(again.started, true);
    await waitFor('the instance to serve again', () => get(`http://${address}:8080/`), 10_000);
    assert.equal(await stopRemoteProcess(host, spec.runDir, spec.name, 5000), 'stopped');
    assert.deepEqual(await remoteProcessState(host, spec.runDir, spec.name), { state: 'stopped' });
    await assert.rejects(get(`http://${address}:8080/`));
    assert.equal(await stopRemoteProcess(host, spec.runDir, spec.name), 'not running');
  });
});
