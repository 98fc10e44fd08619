import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { groupStillOurs, isSameProcessAlive, processGroupAlive, readProcStat } from './proc.js';

describe('proc', () => {
  it('reads our own stat, including a command name with spaces and parentheses', async () => {
    const me = readProcStat(process.pid)!;
    assert.equal(me.state.length, 1);
    assert.ok(me.startTime > 0);
    assert.equal(isSameProcessAlive(process.pid, me.startTime), true);
    assert.equal(isSameProcessAlive(process.pid, me.startTime + 1), false, 'a different start time is another process');
    // process.title sets comm (field 2): one with ") " in it tests the parsing.
    const child = spawn(process.execPath, ['-e', "process.title = 'odd ) na me'; setInterval(() => {}, 1000)"], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      await until(() => readFileSync(`/proc/${child.pid}/stat`, 'utf8').includes('odd ) na me'));
      const stat = readProcStat(child.pid!);
      assert.ok(stat);
      assert.equal(stat.pgrp, child.pid, 'detached: leader of its own group');
      assert.equal(processGroupAlive(child.pid!), true);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await once(child, 'exit');
    }
    await until(() => !processGroupAlive(child.pid!));
    assert.equal(readProcStat(child.pid!), undefined);
  });

  it('groupStillOurs: yes while the leader lives or its pid is unused, no once the pid names another process', () => {
    const me = readProcStat(process.pid)!;
    assert.equal(groupStillOurs(process.pid, me.startTime), true);
    assert.equal(groupStillOurs(process.pid, me.startTime - 1), false, 'pid reused by a later process');
    assert.equal(groupStillOurs(2 ** 22 + 7, 123), true, 'no such pid: only our group could still use the number');
  });
});

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
