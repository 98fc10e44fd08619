/**
 * What Slipway keeps on a host, under the target's `root` (default /var/lib/slipway); written down
 * in docs/servers.md. `hosts setup` creates it; shipping fills `files/` and `releases/`.
 *
 *   layout.json              {"layout":1,…}: the layout version, written last by `hosts setup`
 *   files/<aa>/<sha256>-<mode>   content store: each distinct file content and mode once;
 *                            releases hard-link these (the local store's own naming, ADR 0011)
 *   releases/<sha256 hex>/   one assembled, verified, immutable release per artifact digest
 *   tmp/                     releases being assembled (ship-<random>), removed when done or failed
 *   run/, logs/              instances' pid files and logs (the remote driver, later)
 *   .lock                    flock(1) lock: a ship registers (tmp/ship-*) and the store GC runs under it
 */
import { posix } from 'node:path';

export const LAYOUT_VERSION = 1;

export class HostLayout {
  constructor(readonly root: string) {}

  get files(): string {
    return posix.join(this.root, 'files');
  }
  get releases(): string {
    return posix.join(this.root, 'releases');
  }
  get tmp(): string {
    return posix.join(this.root, 'tmp');
  }
  get lock(): string {
    return posix.join(this.root, '.lock');
  }
  get marker(): string {
    return posix.join(this.root, 'layout.json');
  }
  /** Directories `hosts setup` creates. */
  get directories(): string[] {
    return [this.files, this.releases, this.tmp, posix.join(this.root, 'run'), posix.join(this.root, 'logs')];
  }
  /** A release's directory, named by its digest's hex. */
  release(digest: string): string {
    return posix.join(this.releases, digest.replace(/^sha256:/, ''));
  }
  /** A stored file, relative to the root (tar hard links name it so). */
  fileEntry(hex: string, mode: number): string {
    return `files/${hex.slice(0, 2)}/${hex}-${(mode & 0o777).toString(8)}`;
  }
}
