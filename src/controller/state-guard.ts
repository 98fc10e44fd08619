/**
 * What a controller does before it touches anything: take the project's lock (one controller per
 * project, ADR 0008), make `.slipway/` the owner's alone, and refuse to start on a state database
 * it cannot trust. A controller that started on an empty or damaged database while instances
 * serve would know no releases and take their traffic away; refusing costs nothing, because the
 * router and the instances go on serving without a controller (ADR 0001).
 */
import { existsSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { InstanceStore } from '../drivers/local/instance-store.js';
import { RouteStore } from '../router/route-store.js';
import { listBackups } from '../store/backup.js';
import type { Store } from '../store/store.js';
import { acquireProjectLock, type ProjectLock } from './lock.js';
import type { ProjectPaths } from './paths.js';
import { secureStateDir } from './state-dir.js';

export interface OpenStateOptions {
  /** Whether `store` is the project's own SQLite file (then a missing file is checked for). */
  fileStore: boolean;
  /** @default "controller" */
  purpose?: string;
}

/**
 * Takes the lock, secures the directory, checks and migrates the store. Returns the held lock.
 * @throws CONTROLLER_RUNNING (another controller holds the project), STATE_DB_MISSING,
 *   STATE_DB_CORRUPT, STATE_DB_SCHEMA (exit 6; the hint names the newest backup and the restore command).
 */
export async function openProjectState(paths: ProjectPaths, store: Store, opts: OpenStateOptions): Promise<ProjectLock> {
  const lock = await acquireProjectLock(paths, opts.purpose);
  try {
    secureStateDir(paths);
    const serving = dataPlaneSize(paths);
    const fileMissing = opts.fileStore && (!existsSync(paths.stateDb) || statSync(paths.stateDb).size === 0);
    if (fileMissing && serving) {
      throw SlipwayError.of(
        'STATE_DB_MISSING',
        `the state database ${paths.stateDb} is missing, but ${serving} of this project still run`,
        {
          hint: restoreHint(paths),
          details: { file: paths.stateDb },
        },
      );
    }
    try {
      await store.migrate();
    } catch (err) {
      if (err instanceof SlipwayError && err.code.startsWith('STATE_DB_'))
        throw new SlipwayError(err.kind, err.code, err.message, { hint: restoreHint(paths), details: err.details, cause: err });
      throw err;
    }
    if (serving && (await store.listEnvironments()).length === 0) {
      throw SlipwayError.of(
        'STATE_DB_MISSING',
        `the state database ${paths.stateDb} has no releases, but ${serving} of this project still run`,
        {
          hint: restoreHint(paths),
          details: { file: paths.stateDb },
        },
      );
    }
    return lock;
  } catch (err) {
    await store.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

/** What of the data plane is recorded as running ("2 instance(s) and 1 route(s)"), or '' when nothing. */
function dataPlaneSize(paths: ProjectPaths): string {
  let instances: number;
  let routes: number;
  // A record that cannot be read still means something was there: count it as running.
  try {
    instances = new InstanceStore(paths.driver).load().filter((r) => r.pid !== null).length;
  } catch {
    instances = 1;
  }
  try {
    routes = new RouteStore(paths.router).load().filter((r) => r.pools.some((p) => p.backends.length > 0)).length;
  } catch {
    routes = 1;
  }
  if (!instances && !routes) return '';
  return `${instances} instance(s) and ${routes} route(s)`;
}

/** Names the newest backup and the command that restores it. */
export function restoreHint(paths: ProjectPaths): string {
  const project = paths.root.replace(/\/\.slipway$/, '');
  const dirFlag = project === process.cwd() ? '' : ` --dir ${project}`;
  const [newest] = listBackups(paths.backups);
  const keepServing = 'The router and the instances keep serving meanwhile.';
  if (!newest) {
    return `${keepServing} There is no backup in ${paths.backups}. To start over, stop the instances and the router by their pids (${relative(project, paths.driver)}/instances.json, ${relative(project, paths.router)}/router.json) and move ${paths.root} aside.`;
  }
  return `${keepServing} Restore the newest backup (${newest.file}, taken ${new Date(newest.takenAt).toISOString()}) with: slipway state restore${dirFlag}; then run slipway up${dirFlag}.`;
}
