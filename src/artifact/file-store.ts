import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, lstatSync, readFileSync } from 'node:fs';
import { writeCacheFile } from './cache-file.js';
import { link, lstat, mkdir, readdir, rename, rmdir, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { forEachBounded } from './bounded.js';
import { writeNewFile } from './write-new-file.js';

/** The running count of entries and bytes (see `tally`). */
const USAGE_FILE = 'usage.json';

/** Errors of `link()` after which the file is written instead: entry swept meanwhile, or too many links. */
const CANNOT_LINK = new Set(['ENOENT', 'EMLINK']);

/** What a sweep removed. */
export interface SweepResult {
  files: number;
  bytes: number;
}

/** Disk used by the file store. */
export interface FileStoreUsage {
  files: number;
  bytes: number;
  /** Entries no release links to any more (removed by the next sweep). */
  unusedFiles: number;
}

/**
 * Content-addressed store of release files (ADR 0011): `<root>/<hex[0..2]>/<sha256 hex>-<mode>`,
 * e.g. `.slipway/artifacts/files/3f/3f…a9-644`. Releases are assembled by hard-linking these
 * entries, so a file that did not change since the last release costs one `link()` instead of a
 * write, and no disk space.
 *
 * Hard links share one inode, so everything the kernel keeps per inode is shared: mode, content,
 * mtime. Hence the mode in the name (the same bytes as 0644 and as 0755 are two entries), and the
 * mtime pinned to 0 (the mtime every Slipway archive records): an entry whose size, mode or mtime
 * is not what its name says was changed in place through some release directory, and is replaced
 * rather than linked into another release. The link count is the reference count: an entry with
 * one link (its own) is used by no release, and `sweep` removes exactly those.
 */
export class FileStore {
  /** The last placement of each entry in progress in this process (see `place`). */
  private readonly storing = new Map<string, Promise<void>>();
  /**
   * Entries and bytes held, kept up to date as entries are stored and swept, and saved in
   * `<root>/usage.json`, so that `status` need not walk the store (ADR 0015). Undefined until
   * known: then the next `tally()` walks the store once. Each sweep walks it anyway and resets it.
   */
  private counted: { files: number; bytes: number } | undefined;
  private countedLoaded = false;

  constructor(readonly root: string) {}

  /** Where the entry for this content and mode lives. */
  entryPath(hex: string, mode: number): string {
    return join(this.root, hex.slice(0, 2), `${hex}-${(mode & 0o777).toString(8)}`);
  }

  /**
   * Creates `target` (which must not exist) with `data` and `mode`: a hard link to the stored entry
   * when there is an intact one, otherwise a new file (O_EXCL | O_NOFOLLOW) that is then stored.
   */
  async place(target: string, data: Buffer, mode: number): Promise<'linked' | 'written'> {
    const entry = this.entryPath(createHash('sha256').update(data).digest('hex'), mode);
    // Placements of the same entry run one after another (a LICENSE in many packages, empty
    // files), so the first stores it and the others link it instead of each storing a copy.
    const mine = (this.storing.get(entry) ?? Promise.resolve()).then(() => this.placeNow(target, data, mode, entry));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.storing.set(entry, tail);
    try {
      return await mine;
    } finally {
      if (this.storing.get(entry) === tail) this.storing.delete(entry);
    }
  }

  private async placeNow(target: string, data: Buffer, mode: number, entry: string): Promise<'linked' | 'written'> {
    if (this.isIntact(entry, data.length, mode)) {
      try {
        await link(entry, target);
        return 'linked';
      } catch (err) {
        // Swept between the check and the link, or linked so often that the file system's limit is
        // reached (ext4: 65,000): write it instead.
        if (!CANNOT_LINK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    }
    await writeNewFile(target, data, mode, { mtimeZero: true });
    await this.publish(target, entry, data.length, mode);
    return 'written';
  }

  /** Whether an intact entry for this content and mode is stored (one synchronous lstat). */
  isStored(hex: string, size: number, mode: number): boolean {
    return this.isIntact(this.entryPath(hex, mode), size, mode);
  }

  /**
   * Creates `target` as a hard link to the stored entry for this content and mode (checked with
   * `isStored`); false when it has gone meanwhile or cannot take another link, and `target` is not created.
   */
  linkStored(target: string, hex: string, mode: number): boolean {
    try {
      linkSync(this.entryPath(hex, mode), target);
      return true;
    } catch (err) {
      if (!CANNOT_LINK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      return false;
    }
  }

  /**
   * Takes a file already written at `target` (a big body, streamed while hashed): replaced by a
   * link to an intact stored copy when there is one (so it costs no disk), else stored itself.
   */
  async adopt(target: string, hex: string, size: number, mode: number): Promise<'linked' | 'written'> {
    const entry = this.entryPath(hex, mode);
    if (this.isIntact(entry, size, mode)) {
      const tmp = `${target}.${randomBytes(6).toString('hex')}.link`;
      try {
        await link(entry, tmp);
        await rename(tmp, target);
        return 'linked';
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        if (!CANNOT_LINK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    }
    await utimes(target, 0, 0);
    await this.publish(target, entry, size, mode);
    return 'written';
  }

  /** Removes every entry that no release links to (link count 1); returns what it freed. */
  async sweep(): Promise<SweepResult> {
    const freed: SweepResult = { files: 0, bytes: 0 };
    const kept = { files: 0, bytes: 0 };
    await this.eachEntry(async (path) => {
      const st = await lstat(path).catch(() => undefined);
      if (st !== undefined && st.nlink > 1) {
        kept.files++;
        kept.bytes += st.size;
      }
      if (st === undefined || st.nlink > 1) return;
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      freed.files++;
      freed.bytes += st.size;
    });
    // Empty fan-out directories go too; one that is being filled again just fails to go.
    for (const d of await readdirOrEmpty(this.root)) {
      if (/^[0-9a-f]{2}$/.test(d)) await rmdir(join(this.root, d)).catch(() => undefined);
    }
    this.setCount(kept);
    return freed;
  }

  /** Entries and bytes held, without walking the store (but for the first time ever). */
  async tally(): Promise<{ files: number; bytes: number }> {
    this.loadCount();
    if (this.counted === undefined) {
      const u = await this.usage();
      this.setCount({ files: u.files, bytes: u.bytes });
    }
    return { ...this.counted! };
  }

  private loadCount(): void {
    if (this.countedLoaded) return;
    this.countedLoaded = true;
    try {
      const doc = JSON.parse(readFileSync(join(this.root, USAGE_FILE), 'utf8')) as { files?: unknown; bytes?: unknown };
      if (Number.isSafeInteger(doc.files) && Number.isSafeInteger(doc.bytes))
        this.counted = { files: doc.files as number, bytes: doc.bytes as number };
    } catch {
      /* not counted yet, or unreadable: the next tally() walks the store */
    }
  }

  private setCount(c: { files: number; bytes: number }): void {
    this.countedLoaded = true;
    this.counted = c;
    this.saveCount();
  }

  /** Saves the running count; a crash in between only leaves it stale until the next sweep. */
  saveCount(): void {
    if (this.counted === undefined || !existsSync(this.root)) return;
    try {
      writeCacheFile(join(this.root, USAGE_FILE), JSON.stringify(this.counted));
    } catch {
      /* the count is a convenience: status walks the store if it is missing */
    }
  }

  /** Files and bytes held (each entry counted once, however many releases link it). */
  async usage(): Promise<FileStoreUsage> {
    const u: FileStoreUsage = { files: 0, bytes: 0, unusedFiles: 0 };
    await this.eachEntry(async (path) => {
      const st = await lstat(path).catch(() => undefined);
      if (st === undefined) return;
      u.files++;
      u.bytes += st.size;
      if (st.nlink <= 1) u.unusedFiles++;
    });
    return u;
  }

  /** A synchronous lstat: microseconds on a cached inode, cheaper than a thread-pool trip (ADR 0011). */
  private isIntact(entry: string, size: number, mode: number): boolean {
    const st = lstatSync(entry, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && st.size === size && (st.mode & 0o7777) === (mode & 0o777) && st.mtimeMs === 0;
  }

  /** Links a freshly written file into the store; a damaged entry in the way is replaced. */
  private async publish(file: string, entry: string, size: number, mode: number): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(file, entry);
        this.loadCount();
        if (this.counted) {
          this.counted.files++;
          this.counted.bytes += size;
        }
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') await mkdir(dirname(entry), { recursive: true, mode: 0o700 });
        else if (code === 'EMLINK')
          return; // this copy stays private to its release
        else if (code === 'EEXIST') {
          if (this.isIntact(entry, size, mode)) return; // stored meanwhile by someone else
          await unlink(entry).catch(() => undefined);
        } else throw err;
      }
    }
    // Not stored: the release is complete anyway, the next one just cannot reuse this file.
  }

  private async eachEntry(fn: (path: string) => Promise<void>): Promise<void> {
    for (const d of await readdirOrEmpty(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      const names = (await readdirOrEmpty(join(this.root, d))).filter((n) => /^[0-9a-f]{64}-[0-7]{3}$/.test(n));
      await forEachBounded(names, (n) => fn(join(this.root, d, n)));
    }
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}
