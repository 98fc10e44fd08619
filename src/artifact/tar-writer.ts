import { SlipwayError } from '../core/errors.js';
import { encodeHeader, paddingFor, END_OF_ARCHIVE, type TarHeader } from './tar-header.js';

export { encodeHeader, END_OF_ARCHIVE, paddingFor, type TarHeader, type TarEntryType } from './tar-header.js';

/** One member to write. `body` is opened lazily so only one file is open at a time. */
export interface TarWriteEntry extends TarHeader {
  /** Content of a `file` entry, exactly `size` bytes long. Omitted for other types (or empty files). */
  body?: () => AsyncIterable<Uint8Array> | Uint8Array;
}

/**
 * Streams a ustar archive (with PAX headers where needed) as a sequence of chunks, pulling entries
 * one at a time: memory use is one chunk, not one archive. Ends with the two zero blocks.
 *
 * A file body that is not exactly `size` bytes (the file changed while being archived) fails with
 * `ARTIFACT_SOURCE_CHANGED` rather than writing an archive whose headers lie.
 */
export async function* writeTar(entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>): AsyncGenerator<Buffer> {
  for await (const entry of entries) yield* entryChunks(entry);
  yield END_OF_ARCHIVE;
}

/** One entry's tar bytes: header block(s), then for a file its checked body and padding. */
export async function* entryChunks(entry: TarWriteEntry): AsyncGenerator<Buffer> {
  yield encodeHeader(entry);
  if (entry.type !== 'file') return;
  yield* checkedBody(entry);
  const padding = paddingFor(entry.size);
  if (padding.length > 0) yield padding;
}

async function* checkedBody(entry: TarWriteEntry): AsyncGenerator<Buffer> {
  const source = entry.body?.() ?? new Uint8Array(0);
  let written = 0;
  const chunks = source instanceof Uint8Array ? [source] : source;
  for await (const chunk of chunks) {
    written += chunk.length;
    if (written > entry.size) throw sourceChanged(entry.path, entry.size, written);
    if (chunk.length > 0) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  }
  if (written !== entry.size) throw sourceChanged(entry.path, entry.size, written);
}

/** `ARTIFACT_SOURCE_CHANGED`: a file's length is not what it was when listed. */
export function sourceChanged(path: string, expected: number, got: number): SlipwayError {
  return SlipwayError.of(
    'ARTIFACT_SOURCE_CHANGED',
    `${path} changed while it was being packed (expected ${expected} bytes, read ${got} or more)`,
    {
      hint: 'Do not modify the source tree while it is being packed; retry the build.',
      details: { path, expected, got },
    },
  );
}
