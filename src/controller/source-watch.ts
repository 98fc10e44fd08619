/**
 * A source tree's fingerprint without walking the tree on every `status` (drift.ts): after a walk,
 * every directory of the tree is watched (inotify through fs.watch; a change to a file, or an entry
 * added, removed or renamed, is reported on its directory), and the fingerprint is reused until
 * one of them reports anything. A change made between a walk and its watches being in place
 * would be missed, so a fingerprint is trusted only once a second walk, started with the watches
 * already in place, found the same: the first `status` after a change walks twice, the next
 * ones not at all.
 *
 * Where watching is not possible (no inotify watches left, a tree of more than MAX_DIRECTORIES
 * directories), every call walks, as before.
 */
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import type { SourceEntry } from '../artifact/source-tree.js';

const MAX_DIRECTORIES = 2000;

interface Watched {
  watchers: FSWatcher[];
  /** Bumped by any report of any watcher. */
  generation: number;
  fingerprint?: string;
  /** The generation the fingerprint was computed in. */
  computedIn?: number;
  /** The fingerprint was confirmed by a walk that started with the watches in place. */
  trusted: boolean;
  broken: boolean;
  /** The directories watched, joined: a walk that finds others watches afresh. */
  dirs: string;
}

const trees = new Map<string, Watched>();

/**
 * The fingerprint of the tree at `root` (keyed with `key`, e.g. the build command): the one kept
 * when nothing changed since it was trusted, else `walk()`'s (which lists the tree and fingerprints it).
 */
export async function watchedFingerprint(
  root: string,
  key: string,
  walk: () => Promise<{ fingerprint: string; entries: readonly SourceEntry[] }>,
): Promise<string> {
  const id = `${resolve(root)}\0${key}`;
  let w = trees.get(id);
  // A change made just before this call is already queued by inotify; two turns of setImmediate
  // take the event loop through at least one whole poll phase, which reads and handles it.
  if (w?.trusted) for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
  if (w && !w.broken && w.trusted && w.computedIn === w.generation && w.fingerprint !== undefined) return w.fingerprint;
  const watching = !!w && !w.broken && w.watchers.length > 0;
  const startedIn = w?.generation ?? 0;
  const { fingerprint, entries } = await walk();
  if (!w) {
    w = { watchers: [], generation: 0, trusted: false, broken: false, dirs: '' };
    trees.set(id, w);
  }
  if (w.broken) return fingerprint;
  const dirs = [resolve(root), ...entries.filter((e) => e.type === 'directory').map((e) => e.absPath)];
  if (watching && w.generation === startedIn && w.dirs === dirs.join('\0')) {
    // The watches were in place for the whole walk and reported nothing: what it found holds until they do.
    w.trusted = w.fingerprint === fingerprint;
    w.fingerprint = fingerprint;
    w.computedIn = startedIn;
    return fingerprint;
  }
  // First walk, or something changed during it: watch afresh (directories may have come or gone).
  closeWatchers(w);
  w.trusted = false;
  w.fingerprint = fingerprint;
  w.computedIn = w.generation;
  w.dirs = dirs.join('\0');
  if (dirs.length > MAX_DIRECTORIES) {
    w.broken = true;
    return fingerprint;
  }
  const target = w;
  try {
    for (const dir of dirs) {
      const watcher = watch(dir, { persistent: false }, () => {
        target.generation++;
        target.trusted = false;
      });
      watcher.on('error', () => {
        target.generation++;
        target.trusted = false;
      });
      target.watchers.push(watcher);
    }
  } catch {
    // Out of inotify watches, or a directory gone already: walk every time for this tree.
    closeWatchers(target);
    target.broken = true;
  }
  return fingerprint;
}

function closeWatchers(w: Watched): void {
  for (const x of w.watchers) x.close();
  w.watchers = [];
}

/** Stops every watch (a controller that stops). */
export function closeSourceWatches(): void {
  for (const w of trees.values()) closeWatchers(w);
  trees.clear();
}
