/**
 * Keeps `.slipway/` the owner's alone: the directory and the ones Slipway makes in it 0700, the
 * files in them 0600 (0400 for read-only artifacts). New files get these modes when they are
 * created (explicit modes, and the controller's umask of 0o077); this sweep fixes projects made by
 * an older Slipway, or by a CLI whose umask let something through.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE } from '../core/atomic-file.js';
import type { ProjectPaths } from './paths.js';

/**
 * Creates `.slipway/` (0700) if needed and takes group and other permissions away from it, from the
 * directories Slipway makes in it and from their direct entries. It stays shallow on purpose: the
 * contents of release directories keep the modes they were packaged with (instances run as the
 * same user and need them), and no one else can reach them through a 0700 parent anyway.
 */
export function secureStateDir(paths: ProjectPaths): void {
  mkdirSync(paths.root, { recursive: true, mode: PRIVATE_DIR_MODE });
  const dirs = [
    paths.root,
    paths.artifacts,
    paths.releases,
    paths.builds,
    paths.driver,
    join(paths.driver, 'logs'),
    paths.router,
    paths.backups,
  ];
  for (const dir of dirs) {
    if (!privatise(dir)) continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) privatise(join(dir, name));
  }
}

/** Clears the group and other bits of `path` (not following symlinks); false when it is not a directory or does not exist. */
function privatise(path: string): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  if (st.isSymbolicLink()) return false;
  const mode = st.mode & 0o7777;
  if (mode & 0o077) {
    try {
      chmodSync(path, mode & 0o700);
    } catch {
      /* not ours to change (another owner): leave it */
    }
  }
  return st.isDirectory();
}
