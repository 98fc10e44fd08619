import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSameProcessAlive, processGroupAlive, readProcStat } from './proc.js';

describe('proc', () => {
  it('reads our own stat, including a command name with spaces and parentheses', async () => {
    const me = readProcStat(process.pid)!;
    assert.equal(me.state.length, 1);
    assert.ok(me.startTime > 0);
    assert.equal(isSameProcessAlive(process.pid, me.startTime), true);
    assert.equal(isSameProcessAlive(process.pid, me.startTime + 1), false, 'a different start time is another process');
    // comm of a script is its file name: one with ") " in it tests the parsing of field 2.
    const dir = mkdtempSync(join(tmpdir(), 'slipway-proc-'));
    const script = join(dir, 'odd ) na me');
    writeFileSync(script, '#!/bin/sh\nsleep 30\n', { mode: 0o755 });
    const child = spawn(script, [], { detached: true, stdio: 'ignore' });
    try {
      await until(() => readFileSync(`/proc/${child.pid}/stat`, 'utf8').includes('odd ) na me'));
      const stat = readProcStat(child.pid!);
      assert.ok(stat);
      assert.equal(stat.pgrp, child.pid, 'detached: leader of its own group');
      assert.equal(processGroupAlive(child.pid!), true);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(processGroupAlive(child.pid!), false);
    assert.equal(readProcStat(child.pid!), undefined);
  });
});

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
