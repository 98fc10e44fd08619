/**
 * One controller per project: the lock is refused to a second holder (in this process or another),
 * names the holder, and is free again the moment the holder dies, even by SIGKILL.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireProjectLock, lockOwner } from './lock.js';
import { projectPaths } from './paths.js';
import { SlipwayError } from '../core/errors.js';
import { waitFor } from '../core/wait-for.js';
import { waitForExit } from '../core/process.js';

const LOCK_MODULE = fileURLToPath(new URL('./lock.js', import.meta.url));
const PATHS_MODULE = fileURLToPath(new URL('./paths.js', import.meta.url));

describe('project lock', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const project = () => {
    const d = mkdtempSync(join(tmpdir(), 'slipway-lock-'));
    dirs.push(d);
    return projectPaths(d);
  };

  it('refuses a second holder in the same process and names the first; free again once released', async () => {
    const paths = project();
    const first = await acquireProjectLock(paths);
    assert.equal(lockOwner(paths)?.pid, process.pid);
    await assert.rejects(
      acquireProjectLock(paths),
      (e: unknown) =>
        e instanceof SlipwayError && e.code === 'CONTROLLER_RUNNING' && e.exitCode === 4 && e.message.includes(`pid ${process.pid}`),
    );
    // The refused attempt must not have dropped the lock for other processes (POSIX locks vanish
    // when a process closes any fd of the file).
    const other = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { acquireProjectLock } = await import(${JSON.stringify(LOCK_MODULE)});
      const { projectPaths } = await import(${JSON.stringify(PATHS_MODULE)});
      try { await acquireProjectLock(projectPaths(${JSON.stringify(paths.root.replace(/\/\.slipway$/, ''))})); console.log('acquired'); }
      catch (e) { console.log(e.code); }
    `,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(other.stdout.trim(), 'CONTROLLER_RUNNING', other.stderr);
    first.release();
    assert.equal(lockOwner(paths), undefined);
    (await acquireProjectLock(paths)).release();
  });

  it('is held by another process until that process is killed with SIGKILL, then free at once', async () => {
    const paths = project();
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { acquireProjectLock } = await import(${JSON.stringify(LOCK_MODULE)});
      const { projectPaths } = await import(${JSON.stringify(PATHS_MODULE)});
      await acquireProjectLock(projectPaths(${JSON.stringify(paths.root.replace(/\/\.slipway$/, ''))}));
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      holder.stdout.on('data', (d) => {
        out += d;
      });
      await waitFor('the child to hold the lock', () => out.includes('held'), 10_000);
      await assert.rejects(
        acquireProjectLock(paths),
        (e: unknown) => e instanceof SlipwayError && e.code === 'CONTROLLER_RUNNING' && e.message.includes(`pid ${holder.pid}`),
      );
      holder.kill('SIGKILL');
      assert.ok(await waitForExit(holder.pid!, 10_000));
      // No stale-lock detection is involved: the kernel drops the lock as the process goes.
      const mine = await acquireProjectLock(paths);
      assert.equal(lockOwner(paths)?.pid, process.pid);
      mine.release();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
