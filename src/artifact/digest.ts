import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../core/errors.js';

/** Artifact digests are `sha256:<64 lowercase hex>` of the .tar.gz bytes, as OCI writes image digests. */
export const DIGEST_PATTERN = /^sha256:([0-9a-f]{64})$/;

/** Returns the hex part of a digest, or throws `ARTIFACT_DIGEST_INVALID`. */
export function digestHex(digest: string): string {
  const m = DIGEST_PATTERN.exec(digest);
  if (!m) {
    throw SlipwayError.of('ARTIFACT_DIGEST_INVALID', `"${digest}" is not an artifact digest`, {
      hint: 'Artifact digests look like sha256:<64 lowercase hex digits>.',
    });
  }
  return m[1]!;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestTap extends Transform {
  private readonly hash = createHash('sha256');
  /** Bytes seen so far. */
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** The `sha256:<hex>` digest; call once, after the stream has finished. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Streams a file through sha256. */
export async function digestFile(path: string): Promise<{ digest: string; bytes: number }> {
  const tap = new DigestTap();
  await pipeline(createReadStream(path), tap, async (source: AsyncIterable<Buffer>) => {
    for await (const _ of source) {
      /* the tap does the work */
    }
  });
  return { digest: tap.digest(), bytes: tap.bytes };
}
