/**
 * What the packer remembers of a source tree between builds, as git's index does: for every file,
 * the stat fields that change when it is written (size, mtime, ctime, inode, mode) and the sha256
 * of its content. A file whose stat fields are unchanged is not read again; its content hash finds
 * its segment in the previous archive's index (ADR 0015). Also remembers the digest of the last
 * archive built from the tree, whose segments the next build may reuse.
 *
 * Racy entries are not remembered: a file written within RACY_MS of the listing could be written
 * again with the same timestamps (coarse file-system clocks), so it is read and hashed next time.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readCacheFile, writeCacheFile } from './cache-file.js';
import type { SourceEntry } from './source-tree.js';

/** Files changed this recently before the listing are hashed again next time (covers 1–2 s timestamp clocks). */
const RACY_MS = 2000;
const VERSION = 1;

type Stat = [size: number, mtimeMs: number, ctimeMs: number, ino: number, mode: number, hex: string];

/**
 * The cache files this process wrote or read last, parsed (20,000 files take ~50 ms to parse): the
 * controller builds the same trees again and again. Used only while the file is the one written.
 */
const parsed = new Map<string, { mtimeMs: number; size: number; key: string; last: string | undefined; known: Map<string, Stat> }>();

export class PackCache {
  private readonly next = new Map<string, Stat>();

  private constructor(
    private readonly file: string | undefined,
    private readonly key: string,
    /** The digest of the last archive built from this tree. */
    readonly last: string | undefined,
    private readonly known: Map<string, Stat>,
    /** Whether stat fields identify the files (false for a fresh build copy: new inodes every time). */
    private readonly trustStat: boolean,
  ) {}

  /** No memory: every file is read and hashed. */
  static none(): PackCache {
    return new PackCache(undefined, '', undefined, new Map(), false);
  }

  /**
   * The cache of the tree identified by `key` (the service's source directory), kept under `dir`.
   * With `trustStat` false only `last` is used and kept (a build copy's files are all new).
   */
  static load(dir: string, key: string, trustStat: boolean): PackCache {
    const file = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
    const st = statSync(file, { throwIfNoEntry: false });
    const memo = parsed.get(file);
    if (st && memo && memo.mtimeMs === st.mtimeMs && memo.size === st.size && memo.key === key) {
      return new PackCache(file, key, memo.last, trustStat ? memo.known : new Map(), trustStat);
    }
    const doc = readCacheFile(file) as { version?: unknown; key?: unknown; last?: unknown; files?: unknown } | undefined;
    const known = new Map<string, Stat>();
    let last: string | undefined;
    if (doc?.version === VERSION && doc.key === key) {
      if (typeof doc.last === 'string') last = doc.last;
      if (trustStat && doc.files !== null && typeof doc.files === 'object') {
        for (const [path, s] of Object.entries(doc.files as Record<string, unknown>)) {
          if (Array.isArray(s) && s.length === 6 && typeof s[5] === 'string') known.set(path, s as Stat);
        }
      }
    }
    return new PackCache(file, key, last, known, trustStat);
  }

  /** The content hash of a listed file whose stat fields are as remembered, else undefined. */
  hexOf(e: SourceEntry): string | undefined {
    if (!this.trustStat) return undefined;
    const s = this.known.get(e.relPath);
    if (s === undefined) return undefined;
    return s[0] === e.size && s[1] === e.mtimeMs && s[2] === e.ctimeMs && s[3] === e.ino && s[4] === e.mode ? s[5] : undefined;
  }

  /** Remembers a file's content hash (read after it was listed, with the listed size). */
  record(e: SourceEntry, hex: string): void {
    if (!this.trustStat) return;
    const s = this.known.get(e.relPath);
    const same = s !== undefined && s[5] === hex && this.hexOf(e) === hex;
    this.next.set(e.relPath, same ? s : [e.size, e.mtimeMs, e.ctimeMs, e.ino, e.mode, hex]);
  }

  /** Saves what this build saw; `listedAt` is when the listing started (Date.now()). */
  save(digest: string, listedAt: number): void {
    if (this.file === undefined) return;
    const kept = new Map<string, Stat>();
    for (const [path, s] of this.next) if (Math.max(s[1], s[2]) < listedAt - RACY_MS) kept.set(path, s);
    writeCacheFile(this.file, JSON.stringify({ version: VERSION, key: this.key, last: digest, files: Object.fromEntries(kept) }));
    const st = statSync(this.file);
    parsed.set(this.file, { mtimeMs: st.mtimeMs, size: st.size, key: this.key, last: digest, known: kept });
  }
}
