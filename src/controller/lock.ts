/**
 * One controller per project (docs/adr/0008-one-controller-per-project.md).
 *
 * The lock is a kernel lock: SQLite's exclusive lock (an fcntl record lock) on
 * `.slipway/controller.lock`, taken with `locking_mode = EXCLUSIVE` and held for as long as the
 * connection is open. The kernel drops it when the process dies, however it dies (even SIGKILL),
 * so there is no stale lock to detect and no window in which two processes both think they
 * cleaned one up. Who holds it is written beside it (`controller.lock.json`) for the error
 * message only; the lock itself never depends on that file.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { PRIVATE_DIR_MODE, writeJsonAtomic } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { pidAlive } from '../core/process.js';
import { readProcStat } from '../drivers/local/proc.js';
import type { ProjectPaths } from './paths.js';

/** What `controller.lock.json` holds. */
export interface LockOwner {
  version: 1;
  pid: number;
  /** Start time of `pid` (/proc/<pid>/stat field 22), to tell it from a later process with the same pid. */
  procStartTime: number | null;
  since: number;
  /** What took it: `controller`, `down`, `state restore`. */
  purpose: string;
}

/** A held project lock. */
export interface ProjectLock {
  /** Releases the lock (idempotent). The process exiting releases it too. */
  release(): void;
}

/**
 * Takes the project's lock, or throws CONTROLLER_RUNNING (conflict, exit 4) naming the pid that
 * holds it. A live holder is refused at once. While the lock is held but no live holder is known,
 * it tries again for up to `settleMs`: the holder is either still writing who it is, or dying (a
 * killed multi-threaded process shows as a zombie a moment before its last thread lets go of the lock).
 */
export async function acquireProjectLock(paths: ProjectPaths, purpose = 'controller', settleMs = 3000): Promise<ProjectLock> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const held = tryAcquire(paths, purpose);
    if (!(held instanceof SlipwayError)) return held;
    if ((held.details as { pid: number | null }).pid !== null || Date.now() >= deadline) throw held;
    await new Promise((r) => setTimeout(r, 25));
  }
}

function tryAcquire(paths: ProjectPaths, purpose: string): ProjectLock | SlipwayError {
  mkdirSync(paths.root, { recursive: true, mode: PRIVATE_DIR_MODE });
  // Created 0600 before SQLite opens it, whatever the umask. Only when missing: closing any fd of
  // the file would drop every fcntl lock this process holds on it (POSIX), a lock held here included.
  if (!existsSync(paths.lockFile)) closeSync(openSync(paths.lockFile, 'a', 0o600));
  const db = new Database(paths.lockFile, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE locking mode it is kept after COMMIT.
    db.exec(
      `BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (taken_at INTEGER NOT NULL); DELETE FROM lock; INSERT INTO lock VALUES (${Date.now()}); COMMIT;`,
    );
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    const owner = lockOwner(paths);
    const who = owner
      ? `pid ${owner.pid}${owner.purpose === 'controller' ? '' : `, running slipway ${owner.purpose}`}`
      : 'a process that is still starting';
    return SlipwayError.of('CONTROLLER_RUNNING', `a controller (${who}) already runs for ${paths.root.replace(/\/\.slipway$/, '')}`, {
      hint: 'Use it (slipway status), or stop it first: slipway down (stops everything), or kill that pid (instances keep serving).',
      details: { pid: owner?.pid ?? null },
    });
  }
  const owner: LockOwner = {
    version: 1,
    pid: process.pid,
    procStartTime: readProcStat(process.pid)?.startTime ?? null,
    since: Date.now(),
    purpose,
  };
  writeJsonAtomic(paths.lockOwnerFile, owner);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      if (lockOwner(paths)?.pid === process.pid) rmSync(paths.lockOwnerFile, { force: true });
      db.close();
    },
  };
}

/**
 * Who holds the lock according to `controller.lock.json`, if that process still lives. For
 * messages and for CLIs waiting on a controller another CLI started; not a lock check.
 */
export function lockOwner(paths: ProjectPaths): LockOwner | undefined {
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(paths.lockOwnerFile, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
  if (!pidAlive(owner.pid)) return undefined;
  const start = readProcStat(owner.pid)?.startTime;
  if (owner.procStartTime !== null && start !== undefined && start !== owner.procStartTime) return undefined;
  return owner;
}
