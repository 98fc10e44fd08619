import { createReadStream, existsSync, type ReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readJsonIfExists, writeJsonAtomic } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { readIndex, writeIndex, type ArchiveIndex } from './archive-index.js';
import { assembleFromIndex } from './assemble.js';
import { digestFile, digestHex } from './digest.js';
import { extractArchive, type Extracted } from './extract.js';
import { buildCacheBytes } from './build-cache.js';
import { FileStore, type SweepResult } from './file-store.js';

/** One stored artifact. */
export interface StoredArtifact {
  digest: string;
  bytes: number;
  /** When it entered the store (the file's mtime). */
  createdAt: Date;
}

/** Written beside a materialized release once it is complete; its absence means "redo". */
interface ReleaseMarker {
  version: 1;
  digest: string;
  files: number;
  /** Directories in the release (its own disk blocks: its files are the file store's). Absent before ADR 0015. */
  directories?: number;
}

/** Disk used under the state directory by artifacts, the file store, releases and caches (`status`). */
export interface DiskUsage {
  /** Stored archives (and their indexes). */
  artifacts: { count: number; bytes: number };
  /** Release files, each content once (ADR 0011). */
  files: { count: number; bytes: number };
  /** Materialized releases: their directories' blocks (their files are counted in `files`). */
  releases: { count: number; bytes: number };
  /** The pack cache and the build cache. */
  caches: { bytes: number };
}

/** Blocks a directory takes on common file systems (ext4, XFS): releases' own bytes are estimated from their directories. */
const DIRECTORY_BYTES = 4096;

const ARCHIVE_NAME = /^([0-9a-f]{64})\.tar\.gz$/;

/**
 * Content-addressed artifact storage: `<root>/sha256/<hex>.tar.gz`, e.g. under `.slipway/artifacts`.
 * A stored file's name is its sha256, so a file is never rewritten in place and the same build
 * stored twice is stored once. Stored files are read-only (0444).
 */
export class ArtifactStore {
  private readonly dir: string;
  private readonly materializing = new Map<string, Promise<string>>();
  /** The last few indexes written or read, parsed (a 20,000-entry index takes ~50 ms to parse). */
  private readonly recentIndexes = new Map<string, ArchiveIndex>();
  /** Release files by content (`<root>/files`), shared by hard links between releases (ADR 0011). */
  readonly files: FileStore;
  /** Where the packer keeps what it knows of each source tree (`<root>/pack-cache`, ADR 0015). */
  readonly packCacheDir: string;
  /** The build cache's saved paths (`<root>/build-cache`). */
  readonly buildCacheDir: string;

  constructor(readonly root: string) {
    this.dir = join(root, 'sha256');
    this.files = new FileStore(join(root, 'files'));
    this.packCacheDir = join(root, 'pack-cache');
    this.buildCacheDir = join(root, 'build-cache');
  }

  /**
   * Moves `tmpFile` into the store and returns its digest. With `expectedDigest`, a file that
   * hashes differently is refused (`ARTIFACT_DIGEST_MISMATCH`) and left where it was. Idempotent:
   * if the artifact is already stored intact, `tmpFile` is just removed; a corrupt stored copy is
   * replaced. With `index` (what the packer produced, ADR 0015), the archive's index is kept beside it.
   */
  async put(tmpFile: string, expectedDigest?: string, index?: ArchiveIndex): Promise<string> {
    // With an expected digest (the packer hashed what it wrote) the file is hashed once, after the
    // fsync; a mismatch puts it back where it was.
    const digest = expectedDigest ?? (await digestFile(tmpFile)).digest;
    const dest = this.path(digest);
    const keepIndex = (): void => {
      if (index?.digest !== digest) return;
      if (!existsSync(this.indexPath(digest))) writeIndex(this.indexPath(digest), index);
      this.remember(index);
    };
    if (existsSync(dest) && (await this.isIntact(digest))) {
      if (expectedDigest !== undefined) await this.mustMatch(tmpFile, expectedDigest);
      await unlink(tmpFile);
      keepIndex();
      return digest;
    }
    await mkdir(this.dir, { recursive: true });
    const staged = join(this.dir, `.${digestHex(digest)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await copyOrMove(tmpFile, staged);
      await fsyncFile(staged);
      await chmod(staged, 0o400); // read-only, and the owner's alone
      // The hash of the staged, synced bytes: catches a file changed after it was hashed, or damaged by a copy.
      const actual = (await digestFile(staged)).digest;
      if (actual !== digest) {
        if (expectedDigest !== undefined && !existsSync(tmpFile)) await rename(staged, tmpFile).catch(() => undefined);
        throw SlipwayError.of('ARTIFACT_DIGEST_MISMATCH', `${tmpFile} is ${actual}, expected ${digest}`, {
          details: { file: tmpFile, expected: digest, actual },
        });
      }
      await rename(staged, dest);
    } catch (err) {
      await rm(staged, { force: true });
      throw err;
    }
    await rm(tmpFile, { force: true });
    keepIndex();
    return digest;
  }

  /** Where the artifact's index is (or would be) kept. */
  indexPath(digest: string): string {
    return join(this.dir, `${digestHex(digest)}.index`);
  }

  /** The stored archive and its index, when both are there (an archive made before ADR 0015 has none). */
  indexed(digest: string): { archive: string; index: ArchiveIndex } | undefined {
    if (!this.has(digest)) return undefined;
    const index = this.readIndex(digest);
    return index && { archive: this.path(digest), index };
  }

  private readIndex(digest: string): ArchiveIndex | undefined {
    if (!existsSync(this.indexPath(digest))) return undefined;
    const index = this.recentIndexes.get(digest) ?? readIndex(this.indexPath(digest), digest);
    if (index) this.remember(index);
    return index;
  }

  private remember(index: ArchiveIndex): void {
    this.recentIndexes.delete(index.digest);
    this.recentIndexes.set(index.digest, index);
    for (const old of this.recentIndexes.keys()) if (this.recentIndexes.size > 4) this.recentIndexes.delete(old);
  }

  /** Whether the artifact is stored (its content is not checked: see `verify`). */
  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  /** Where the artifact is (or would be) stored. */
  path(digest: string): string {
    return join(this.dir, `${digestHex(digest)}.tar.gz`);
  }

  /** Opens the stored archive for reading; `ARTIFACT_NOT_FOUND` when absent. */
  open(digest: string): ReadStream {
    this.mustHave(digest);
    return createReadStream(this.path(digest));
  }

  /**
   * Re-hashes the stored file; throws `ARTIFACT_NOT_FOUND` when absent and
   * `ARTIFACT_DIGEST_MISMATCH` when its bytes no longer match its name (disk corruption, tampering).
   */
  async verify(digest: string): Promise<void> {
    this.mustHave(digest);
    const actual = (await digestFile(this.path(digest))).digest;
    if (actual !== digest) {
      throw SlipwayError.of('ARTIFACT_DIGEST_MISMATCH', `stored artifact ${digest} is corrupt (its content hashes to ${actual})`, {
        hint: 'Remove it and rebuild the release; the store will not serve it.',
        details: { digest, actual, path: this.path(digest) },
      });
    }
  }

  /** Deletes the artifact; returns false when it was not there. Materialized releases are left alone. */
  async remove(digest: string): Promise<boolean> {
    this.recentIndexes.delete(digest);
    await rm(this.indexPath(digest), { force: true });
    try {
      await unlink(this.path(digest));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Every stored artifact, oldest first. */
  async list(): Promise<StoredArtifact[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: StoredArtifact[] = [];
    for (const name of names) {
      const m = ARCHIVE_NAME.exec(name);
      if (!m) continue; // staging files and strays
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      if (st) out.push({ digest: `sha256:${m[1]}`, bytes: st.size, createdAt: st.mtime });
    }
    return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.digest.localeCompare(b.digest));
  }

  /**
   * Extracts the artifact to `<releasesRoot>/<first 16 hex digits>` once and returns that path.
   * The archive is verified while it is extracted. Files already in the file store (from earlier
   * releases) are hard-linked rather than written, so a release that differs from the last one in
   * one file writes one file. A marker file written beside the directory
   * (`.<hex16>.complete`, not inside it, so the release holds exactly the artifact) records
   * completion; a directory without its marker is a crashed attempt and is redone. Concurrent calls
   * in one process share one extraction; one controller per state directory is assumed.
   */
  materialize(digest: string, releasesRoot: string): Promise<string> {
    const key = `${releasesRoot}\0${digest}`;
    let pending = this.materializing.get(key);
    if (!pending) {
      pending = this.doMaterialize(digest, releasesRoot).finally(() => this.materializing.delete(key));
      this.materializing.set(key, pending);
    }
    return pending;
  }

  /**
   * Removes the release files no materialized release uses any more (after `dematerialize`);
   * waits for materializations in progress first, so a file being linked is never swept.
   */
  async sweepFiles(): Promise<SweepResult> {
    await Promise.allSettled([...this.materializing.values()]);
    return this.files.sweep();
  }

  /**
   * Disk used by the store and the releases under `releasesRoot`, without walking any tree: the
   * file store keeps a running count (FileStore.tally), release markers record their directories,
   * build-cache entries their size. Reads a few dozen small files.
   */
  async diskUsage(releasesRoot: string): Promise<DiskUsage> {
    const artifacts = { count: 0, bytes: 0 };
    for (const a of await this.list()) {
      artifacts.count++;
      artifacts.bytes += a.bytes;
    }
    const indexes = await readdir(this.dir).catch(() => [] as string[]);
    for (const n of indexes.filter((n) => n.endsWith('.index')))
      artifacts.bytes += (await stat(join(this.dir, n)).catch(() => undefined))?.size ?? 0;
    const tally = await this.files.tally();
    const releases = { count: 0, bytes: 0 };
    for (const n of await readdir(releasesRoot).catch(() => [] as string[])) {
      if (!/^\.[0-9a-f]{16}\.complete$/.test(n)) continue;
      const marker = readJsonIfExists<ReleaseMarker>(join(releasesRoot, n));
      releases.count++;
      releases.bytes += (marker?.directories ?? 0) * DIRECTORY_BYTES;
    }
    let caches = 0;
    for (const n of await readdir(this.packCacheDir).catch(() => [] as string[]))
      caches += (await stat(join(this.packCacheDir, n)).catch(() => undefined))?.size ?? 0;
    caches += await buildCacheBytes(this.buildCacheDir);
    return { artifacts, files: { count: tally.files, bytes: tally.bytes }, releases, caches: { bytes: caches } };
  }

  /** Removes what `materialize` extracted for the artifact (directory and marker); absent is fine. */
  async dematerialize(digest: string, releasesRoot: string): Promise<void> {
    const { dir, markerPath } = this.releasePaths(digest, releasesRoot);
    await rm(markerPath, { force: true });
    await rm(dir, { recursive: true, force: true });
  }

  private releasePaths(digest: string, releasesRoot: string): { dir: string; markerPath: string } {
    const short = digestHex(digest).slice(0, 16);
    return { dir: join(releasesRoot, short), markerPath: join(releasesRoot, `.${short}.complete`) };
  }

  private async doMaterialize(digest: string, releasesRoot: string): Promise<string> {
    const { dir, markerPath } = this.releasePaths(digest, releasesRoot);
    this.mustHave(digest);
    const marker = readJsonIfExists<ReleaseMarker>(markerPath);
    if (marker && existsSync(dir)) {
      if (marker.digest !== digest) {
        throw SlipwayError.of('ARTIFACT_RELEASE_CONFLICT', `${dir} holds ${marker.digest}, not ${digest}`, {
          hint: 'Two artifacts share the first 16 hex digits of their digest; remove the directory to reuse it.',
          details: { dir, existing: marker.digest, wanted: digest },
        });
      }
      return dir;
    }
    await rm(markerPath, { force: true });
    await rm(dir, { recursive: true, force: true });
    const { files, directories } = await this.assemble(digest, dir);
    writeJsonAtomic(markerPath, { version: 1, digest, files, directories } satisfies ReleaseMarker);
    this.files.saveCount();
    return dir;
  }

  /**
   * Builds the release directory: from the archive's index when it has one (hard links into the
   * file store, only new files read from the archive, ADR 0015), else, or when the index does not
   * agree with the archive, by extracting the whole archive. Both verify the digest.
   */
  private async assemble(digest: string, dir: string): Promise<Extracted> {
    const index = this.readIndex(digest);
    if (index !== undefined) {
      try {
        const assembled = await assembleFromIndex(this.path(digest), index, dir, this.files);
        if (assembled !== undefined) return assembled;
      } catch (err) {
        if (err instanceof SlipwayError && err.code === 'ARTIFACT_DIGEST_MISMATCH') throw err;
        // It misled once; the extraction below is the truth.
        this.recentIndexes.delete(digest);
        await rm(this.indexPath(digest), { force: true });
      }
    }
    return extractArchive(this.path(digest), dir, { expectedDigest: digest, fileStore: this.files });
  }

  private async mustMatch(file: string, expected: string): Promise<void> {
    const { digest } = await digestFile(file);
    if (digest !== expected) {
      throw SlipwayError.of('ARTIFACT_DIGEST_MISMATCH', `${file} is ${digest}, expected ${expected}`, {
        details: { file, expected, actual: digest },
      });
    }
  }

  private async isIntact(digest: string): Promise<boolean> {
    return (await digestFile(this.path(digest))).digest === digest;
  }

  private mustHave(digest: string): void {
    if (!this.has(digest)) {
      throw SlipwayError.of('ARTIFACT_NOT_FOUND', `artifact ${digest} is not in the store at ${this.root}`, {
        hint: 'Build the release again, or check that the controller uses the same state directory.',
        details: { digest },
      });
    }
  }
}

/** Rename when on the same file system, otherwise copy (the source is removed by the caller). */
async function copyOrMove(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
