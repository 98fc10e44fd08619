/**
 * The index of an artifact (ADR 0015): for every tar entry, what it is (path, type, normalised
 * mode, size, link target or the sha256 of the file's content) and where its segment lies in the
 * .tar.gz (offset, compressed length, CRC-32 and length of its tar bytes). Written by the packer
 * beside the archive in the store. The next pack reuses unchanged entries' segments by copying
 * those byte ranges; `materialize` assembles a release from it by hard links into the file store,
 * reading only the segments of files the store does not hold. It is a cache, never the artifact:
 * an index that is missing or does not parse means "extract the archive", the path every archive
 * (including those made before the index existed) can take.
 */
import { readCacheFile, writeCacheFile } from './cache-file.js';

export type IndexEntryType = 'file' | 'directory' | 'symlink';

export interface IndexEntry {
  /** The path in the archive, without a trailing slash. */
  path: string;
  type: IndexEntryType;
  /** The mode the archive records (0644, 0755 or 0777). */
  mode: number;
  /** Body length for files, 0 otherwise. */
  size: number;
  /** sha256 hex of a file's content. */
  hex?: string;
  /** A symlink's target. */
  link?: string;
  /** Where the entry's segment starts in the .tar.gz, and its length there. */
  offset: number;
  length: number;
  /** CRC-32 and length of the entry's uncompressed tar bytes. */
  crc: number;
  raw: number;
}

export interface ArchiveIndex {
  digest: string;
  /** Size of the .tar.gz. */
  bytes: number;
  entries: IndexEntry[];
  /** The last segment (end-of-archive blocks, final deflate block). */
  end: { offset: number; length: number };
}

const VERSION = 1;
type Row = [string, IndexEntryType, number, number, string, number, number, number, number];

/** Writes the index compactly (one array per entry: 20,000 entries are about 2 MB). */
export function writeIndex(path: string, index: ArchiveIndex): void {
  const rows: Row[] = index.entries.map((e) => [e.path, e.type, e.mode, e.size, e.hex ?? e.link ?? '', e.offset, e.length, e.crc, e.raw]);
  writeCacheFile(path, JSON.stringify({ version: VERSION, digest: index.digest, bytes: index.bytes, end: index.end, rows }));
}

/** Reads an index; undefined when it is missing, of another version, for another digest or malformed. */
export function readIndex(path: string, digest: string): ArchiveIndex | undefined {
  const doc = readCacheFile(path) as { version?: unknown; digest?: unknown; bytes?: unknown; end?: unknown; rows?: unknown } | undefined;
  if (doc?.version !== VERSION || doc.digest !== digest || typeof doc.bytes !== 'number' || !Array.isArray(doc.rows)) return undefined;
  const end = doc.end as { offset?: unknown; length?: unknown } | undefined;
  if (typeof end?.offset !== 'number' || typeof end.length !== 'number') return undefined;
  const entries: IndexEntry[] = [];
  for (const r of doc.rows as unknown[]) {
    if (!isRow(r)) return undefined;
    const [path, type, mode, size, extra, offset, length, crc, raw] = r;
    const e: IndexEntry = { path, type, mode, size, offset, length, crc, raw };
    if (type === 'file') {
      if (!/^[0-9a-f]{64}$/.test(extra)) return undefined;
      e.hex = extra;
    } else if (type === 'symlink') e.link = extra;
    entries.push(e);
  }
  return { digest, bytes: doc.bytes, entries, end: { offset: end.offset, length: end.length } };
}

function isRow(r: unknown): r is Row {
  return (
    Array.isArray(r) &&
    r.length === 9 &&
    typeof r[0] === 'string' &&
    (r[1] === 'file' || r[1] === 'directory' || r[1] === 'symlink') &&
    typeof r[4] === 'string' &&
    [2, 3, 5, 6, 7, 8].every((i) => Number.isSafeInteger(r[i]) && (r[i] as number) >= 0)
  );
}
