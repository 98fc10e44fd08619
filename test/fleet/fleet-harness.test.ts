/**
 * The test fleet itself: hosts come up with their own hostname, PID namespace and copy-on-write
 * root, faults do what they say, and teardown leaves nothing of the run on the machine.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Fleet } from '../support/fleet/fleet.js';

const run = promisify(execFile);
const skip = Fleet.skipReason();

/** Runs a command on a fleet host with the OpenSSH client (the harness's own check, not Slipway's transport). */
async function ssh(fleet: Fleet, i: number, command: string, timeoutSec = 2): Promise<string> {
  const { stdout } = await run('ssh', fleet.opensshArgs(i, command, [`ConnectTimeout=${timeoutSec}`]), {
    timeout: (timeoutSec + 3) * 1000,
  });
  return stdout.trim();
}

describe('test fleet', { skip }, () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await Fleet.start({ hosts: 2 });
  });
  after(async () => {
    await fleet?.stop();
  });

  it('gives each host its own hostname, processes and copy-on-write root', async () => {
    assert.equal(await ssh(fleet, 0, 'hostname'), 'h1');
    assert.equal(await ssh(fleet, 1, 'hostname'), 'h2');
    assert.ok(Number(await ssh(fleet, 0, 'ps -e --no-headers | wc -l')) < 20, 'a PID namespace of its own');
    await ssh(fleet, 0, `mkdir -p /etc/fleet-${fleet.id} && echo x > /etc/fleet-${fleet.id}/f`);
    assert.equal(existsSync(`/etc/fleet-${fleet.id}`), false, 'the machine does not see a host write');
    await assert.rejects(ssh(fleet, 1, `test -e /etc/fleet-${fleet.id}/f`), 'nor does another host');
  });

  it('cuts and heals a link, stops and starts sshd, freezes and thaws, crashes and boots', async () => {
    await fleet.cut(0);
    await assert.rejects(ssh(fleet, 0, 'true', 1));
    await fleet.heal(0);
    assert.equal(await ssh(fleet, 0, 'echo back'), 'back');

    await ssh(fleet, 1, 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > /root/sleeper.pid');
    await fleet.sshdStop(1);
    await assert.rejects(ssh(fleet, 1, 'true'), /refused|closed|reset/i);
    assert.match(
      await fleet.inHost(1, ['sh', '-c', 'kill -0 $(cat /root/sleeper.pid) && echo alive']),
      /alive/,
      'other processes keep running',
    );
    await fleet.sshdStart(1);
    assert.equal(await ssh(fleet, 1, 'echo up'), 'up');

    await fleet.freeze(1);
    await assert.rejects(ssh(fleet, 1, 'true', 1));
    await fleet.thaw(1);
    assert.equal(await ssh(fleet, 1, 'echo thawed'), 'thawed');

    await fleet.crash(1);
    await fleet.boot(1);
    assert.equal(await ssh(fleet, 1, 'test -f /root/sleeper.pid && echo disk kept'), 'disk kept');
    assert.equal(await ssh(fleet, 1, 'kill -0 $(cat /root/sleeper.pid) 2>/dev/null || echo gone'), 'gone', 'the crash ended its processes');
  });

  it('two fleets run side by side, and teardown leaves nothing of a run behind', async () => {
    const other = await Fleet.start({ hosts: 1 });
    try {
      assert.notEqual(other.subnet, fleet.subnet);
      assert.notEqual(other.bridge, fleet.bridge);
      assert.equal(await ssh(other, 0, 'hostname'), 'h1');
      assert.equal(await ssh(fleet, 0, 'hostname'), 'h1');
    } finally {
      await other.stop();
    }
    assert.deepEqual(await other.leftovers(), []);
    assert.equal(await ssh(fleet, 0, 'echo still here'), 'still here', "the other fleet's teardown left this one alone");
  });
});
