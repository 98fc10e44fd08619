/**
 * Backups of the state database: `<dir>/state-<UTC time>-<label>.db`, taken with SQLite's online
 * backup after every finished rollout, the newest few kept, each 0600. A backup is checked (it
 * opens, passes its integrity check and has the expected schema) before it is restored.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { MIGRATIONS } from './migrations.js';
import { schemaDifference } from './schema-check.js';
import type { Store } from './store.js';

/** How many backups are kept. @default 5 */
export const BACKUPS_KEPT = 5;

export interface BackupFile {
  file: string;
  /** When it was taken (file modification time, ms). */
  takenAt: number;
  bytes: number;
}

/** Backups in `dir`, newest first. */
export function listBackups(dir: string): BackupFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return (
    names
      .filter((n) => /^state-.*\.db$/.test(n))
      .map((n) => {
        const file = join(dir, n);
        const st = statSync(file);
        return { file, takenAt: st.mtimeMs, bytes: st.size };
      })
      // Names start with the UTC time, so they sort by age; the time of day alone could tie.
      .sort((a, b) => (a.file < b.file ? 1 : a.file > b.file ? -1 : 0))
  );
}

/**
 * Copies the store into `dir` with the store's own online backup (consistent while writers go on),
 * under a temporary name first so a crash never leaves a half backup looking like a whole one, then
 * removes all but the newest `keep`. Returns the file, or undefined when the store cannot back up.
 */
export async function takeBackup(
  store: Store,
  dir: string,
  label: string,
  keep = BACKUPS_KEPT,
  now = Date.now(),
): Promise<string | undefined> {
  if (!store.backup) return undefined;
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d+)Z$/, '$1Z');
  const file = join(dir, `state-${stamp}-${label.replace(/[^A-Za-z0-9_-]/g, '_')}.db`);
  const tmp = join(dir, `.partial-${process.pid}-${now}.tmp`);
  try {
    await store.backup(tmp);
    fsyncPath(tmp, false);
    renameSync(tmp, file);
    fsyncPath(dir, true);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  for (const old of listBackups(dir).slice(keep)) rmSync(old.file, { force: true });
  return file;
}

/** Throws STATE_BACKUP_INVALID unless `file` is a sound Slipway state database. */
export function verifyBackup(file: string): void {
  let db: Database.Database | undefined;
  const bad = (why: string, cause?: unknown) =>
    SlipwayError.of('STATE_BACKUP_INVALID', `${file} cannot be restored: ${why}`, {
      hint: 'Pick another backup with --from (they are in .slipway/backups/, newest last by name).',
      cause,
      details: { file },
    });
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
    if (check.length !== 1 || check[0]!.quick_check !== 'ok')
      throw bad(
        `it fails its integrity check (${check
          .slice(0, 3)
          .map((r) => r.quick_check)
          .join('; ')})`,
      );
    const problem = schemaDifference(db, MIGRATIONS);
    if (problem) throw bad(problem);
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw bad((err as Error).message, err);
  } finally {
    db?.close();
  }
}

export function fsyncPath(path: string, directory: boolean): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch (err) {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
    if (!directory) throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
