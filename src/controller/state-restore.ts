/**
 * `slipway state restore`: puts a backup of the state database in place while no controller runs.
 * The database being replaced is kept beside it (renamed, with its -wal and -shm), never deleted.
 */
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { PRIVATE_FILE_MODE } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { fsyncPath, listBackups, verifyBackup, type BackupFile } from '../store/backup.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { acquireProjectLock } from './lock.js';
import type { ProjectPaths } from './paths.js';

export interface RestoreResult {
  /** The backup restored. */
  from: string;
  /** Where the replaced database went, if there was one. */
  keptAside: string | undefined;
  /** Per service, the release current in the restored state. */
  services: { service: string; current: number | null }[];
}

/**
 * Restores `from` (default: the newest backup) as the project's state database.
 * @throws CONTROLLER_RUNNING (a controller runs: stop it first), STATE_NO_BACKUP, STATE_BACKUP_INVALID.
 */
export async function restoreState(
  paths: ProjectPaths,
  opts: { from?: string; environment?: string; now?: number } = {},
): Promise<RestoreResult> {
  const lock = await acquireProjectLock(paths, 'state restore');
  try {
    const from = opts.from !== undefined ? resolve(opts.from) : newest(paths);
    if (!existsSync(from))
      throw SlipwayError.of('STATE_NO_BACKUP', `no backup file ${from}`, {
        hint: `Backups are in ${paths.backups}; see them with: slipway state list`,
      });
    verifyBackup(from);
    const stamp = new Date(opts.now ?? Date.now()).toISOString().replace(/[-:.]/g, '');
    let keptAside: string | undefined;
    if (existsSync(paths.stateDb)) {
      keptAside = `${paths.stateDb}.replaced-${stamp}`;
      renameSync(paths.stateDb, keptAside);
    }
    // A -wal or -shm left by the replaced database belongs to it, not to the restored one.
    for (const suffix of ['-wal', '-shm']) {
      if (!existsSync(paths.stateDb + suffix)) continue;
      if (keptAside) renameSync(paths.stateDb + suffix, keptAside + suffix);
      else rmSync(paths.stateDb + suffix, { force: true });
    }
    const tmp = `${paths.stateDb}.restoring-${process.pid}`;
    copyFileSync(from, tmp);
    chmodSync(tmp, PRIVATE_FILE_MODE);
    fsyncPath(tmp, false);
    renameSync(tmp, paths.stateDb);
    fsyncPath(paths.root, true);

    const store = new SqliteStore(paths.stateDb);
    try {
      await store.migrate();
      const env = opts.environment ?? 'local';
      const services = await Promise.all(
        (await store.listServices(env)).map(async (service) => ({ service, current: await store.getCurrentRelease(env, service) })),
      );
      return { from, keptAside, services };
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}

/** The project's backups, newest first. */
export function backups(paths: ProjectPaths): BackupFile[] {
  return listBackups(paths.backups);
}

function newest(paths: ProjectPaths): string {
  const [b] = listBackups(paths.backups);
  if (!b)
    throw SlipwayError.of('STATE_NO_BACKUP', `there is no backup in ${paths.backups}`, {
      hint: 'Backups are taken after every finished rollout; name another copy of state.db with --from FILE.',
    });
  return b.file;
}
