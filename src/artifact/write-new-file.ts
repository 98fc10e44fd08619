import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Flags for every file extraction creates: never open something that is already there, least of all a link. */
export const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Creates `target` with `data` and `mode` (set on the open file, so umask does not matter and no
 * second path lookup is made). With `mtimeZero`, the mtime is the archive's (0), which the file
 * store relies on to notice an entry changed in place.
 */
export async function writeNewFile(target: string, data: Buffer, mode: number, opts: { mtimeZero?: boolean } = {}): Promise<void> {
  const handle = await open(target, NEW_FILE_FLAGS, 0o600);
  try {
    if (data.length > 0) await handle.writeFile(data);
    await handle.chmod(mode & 0o777);
    if (opts.mtimeZero) await handle.utimes(0, 0);
  } finally {
    await handle.close();
  }
}
