import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a cache file (archive index, pack cache): temp file then rename, without fsync. A cache is
 * checked when read and rebuilt when unusable, so a crash costs speed, never correctness; an fsync
 * of a few MB per deploy would cost more than it saves.
 */
export function writeCacheFile(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Reads a cache file as JSON; undefined when it is missing or unreadable (it is rebuilt then). */
export function readCacheFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
