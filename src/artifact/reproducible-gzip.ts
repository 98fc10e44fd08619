import { constants, createGzip } from 'node:zlib';
import { Transform, type TransformCallback } from 'node:stream';
import { SlipwayError } from '../core/errors.js';

/** Part of the artifact format: changing it changes every digest. */
export const GZIP_LEVEL = 6;

/**
 * The gzip header every artifact starts with: deflate, no flags (no file name, no comment),
 * MTIME 0, XFL 0 (what zlib writes at level 6), OS 3 (Unix). zlib writes the OS byte of the host,
 * which would make the same tree hash differently on macOS and Linux; the header is not covered by
 * the gzip CRC, so rewriting it is safe.
 */
const CANONICAL_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** A gzip compressor whose output depends only on its input (and the zlib version). */
export function createReproducibleGzip(): [Transform, Transform] {
  return [createGzip({ level: GZIP_LEVEL, strategy: constants.Z_DEFAULT_STRATEGY }), new CanonicalGzipHeader()];
}

class CanonicalGzipHeader extends Transform {
  private head: Buffer | null = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.head === null) return done(null, chunk);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < CANONICAL_HEADER.length) return done();
    const data = this.head;
    this.head = null;
    if (data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 0x08 || data[3] !== 0x00) {
      return done(SlipwayError.of('INTERNAL', 'zlib produced an unexpected gzip header'));
    }
    CANONICAL_HEADER.copy(data, 0);
    done(null, data);
  }

  override _flush(done: TransformCallback): void {
    if (this.head !== null && this.head.length > 0) return done(SlipwayError.of('INTERNAL', 'zlib produced a truncated gzip header'));
    done();
  }
}
