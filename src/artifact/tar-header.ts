import { SlipwayError } from '../core/errors.js';

/**
 * The POSIX ustar header (512-byte blocks) and the PAX extended header records Slipway uses for
 * what ustar cannot hold (paths or link targets over 100 bytes or not plain ASCII, sizes of 8 GiB
 * or more). See docs/adr/0003-artifact-format.md.
 */

export const BLOCK_SIZE = 512;

/** Entry kinds. Slipway writes only `file`, `directory` and `symlink`; the rest exist so the reader can name (and extraction reject) them. */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo' | 'other';

/** One archive member as described by its (ustar + PAX) headers. */
export interface TarHeader {
  /** Path inside the archive, `/`-separated, without a trailing `/` for directories. */
  path: string;
  type: TarEntryType;
  /** Permission bits (the low 12 bits of the ustar mode field). */
  mode: number;
  /** Body length in bytes; 0 for anything but `file`. */
  size: number;
  /** Target of a symlink or hard link. */
  linkTarget?: string;
  /** Seconds since the epoch. @default 0 */
  mtime?: number;
  /** @default 0 */
  uid?: number;
  /** @default 0 */
  gid?: number;
  /** @default '' */
  uname?: string;
  /** @default '' */
  gname?: string;
  /** Raw typeflag character, kept by the reader for error messages about `other` entries. */
  typeflag?: string;
}

const TYPEFLAGS: Record<Exclude<TarEntryType, 'other'>, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

/** Typeflags of metadata blocks that describe the next entry rather than being one. */
export const PAX_LOCAL = 'x';
export const PAX_GLOBAL = 'g';
export const GNU_LONG_NAME = 'L';
export const GNU_LONG_LINK = 'K';

/** Largest value an 11-digit octal field holds (8 GiB - 1); bigger sizes go in a PAX `size` record. */
const MAX_OCTAL_11 = 0o77777777777;

/** Thrown for anything that is not a well-formed archive: bad checksum, truncation, bad gzip. */
export function corruptArchive(message: string, cause?: unknown): SlipwayError {
  return SlipwayError.of('ARTIFACT_CORRUPT', `corrupt artifact archive: ${message}`, {
    cause,
    hint: 'The archive is damaged or not a Slipway artifact; rebuild it or check the artifact store with verify().',
  });
}

const PORTABLE = /^[\x20-\x7e]*$/;

/**
 * Encodes the header block(s) for one entry: a PAX `x` header first when the path, link target or
 * size does not fit ustar, then the ustar header. Does not validate paths: extraction is where
 * safety is enforced, and tests use this to craft hostile archives.
 */
export function encodeHeader(header: TarHeader): Buffer {
  if (header.type === 'other') throw SlipwayError.of('INTERNAL', 'cannot encode a tar entry of type "other"');
  const name = header.type === 'directory' && !header.path.endsWith('/') ? `${header.path}/` : header.path;
  const link = header.linkTarget ?? '';
  const size = header.type === 'file' ? header.size : 0;

  const pax: [string, string][] = [];
  if (!fitsUstar(name)) pax.push(['path', name]);
  if (!fitsUstar(link)) pax.push(['linkpath', link]);
  if (size > MAX_OCTAL_11) pax.push(['size', String(size)]);

  const blocks: Buffer[] = [];
  if (pax.length > 0) {
    const body = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
    // A fixed name keeps the archive reproducible; readers ignore it.
    blocks.push(ustarBlock({ name: 'PaxHeader', typeflag: PAX_LOCAL, mode: 0o644, size: body.length, link: '', header }));
    blocks.push(pad(body));
  }
  blocks.push(
    ustarBlock({
      name: fitsUstar(name) ? name : asciiFallback(name),
      typeflag: TYPEFLAGS[header.type],
      mode: header.mode,
      size: Math.min(size, MAX_OCTAL_11),
      link: fitsUstar(link) ? link : asciiFallback(link),
      header,
    }),
  );
  return Buffer.concat(blocks);
}

/** Zero padding that brings a body of `size` bytes to a block boundary. */
export function paddingFor(size: number): Buffer {
  return Buffer.alloc((BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE);
}

/** Two zero blocks mark the end of an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);

function fitsUstar(s: string): boolean {
  return Buffer.byteLength(s) <= 100 && PORTABLE.test(s);
}

/** What goes in the ustar field when PAX holds the real value: readers without PAX see something sane. */
function asciiFallback(s: string): string {
  return Buffer.from(s.replace(/[^\x20-\x7e]/g, '_'))
    .subarray(0, 100)
    .toString('latin1');
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself, so grow it until it is stable.
  const rest = Buffer.byteLength(` ${key}=${value}\n`);
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return `${len} ${key}=${value}\n`;
}

function pad(body: Buffer): Buffer {
  return Buffer.concat([body, paddingFor(body.length)]);
}

interface BlockFields {
  name: string;
  typeflag: string;
  mode: number;
  size: number;
  link: string;
  header: TarHeader;
}

function ustarBlock(f: BlockFields): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  b.write(f.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, f.mode & 0o7777);
  writeOctal(b, 108, 8, f.header.uid ?? 0);
  writeOctal(b, 116, 8, f.header.gid ?? 0);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.header.mtime ?? 0);
  b.write(f.typeflag, 156, 1, 'latin1');
  b.write(f.link, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write(f.header.uname ?? '', 265, 32, 'utf8');
  b.write(f.header.gname ?? '', 297, 32, 'utf8');
  b.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeOctal(b, 148, 7, checksum(b));
  return b;
}

function writeOctal(b: Buffer, offset: number, length: number, value: number): void {
  b.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'latin1');
  b[offset + length - 1] = 0;
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** True for an all-zero block (end of archive). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** The ustar fields of one header block, before PAX or GNU overrides are applied. */
export interface RawHeader extends TarHeader {
  typeflag: string;
}

/** Decodes one ustar (or old-style/GNU) header block, verifying its checksum. */
export function decodeHeader(block: Buffer): RawHeader {
  const stored = readNumber(block, 148, 8, 'checksum');
  if (stored !== checksum(block)) throw corruptArchive('header checksum mismatch');
  const typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  const magic = block.toString('latin1', 257, 263);
  let path = readString(block, 0, 100);
  // Only POSIX ustar has a prefix field; GNU's old format keeps other data at that offset.
  if (magic === 'ustar\u0000') {
    const prefix = readString(block, 345, 155);
    if (prefix) path = `${prefix}/${path}`;
  }
  const raw: RawHeader = {
    path,
    type: typeOf(typeflag),
    typeflag,
    mode: readNumber(block, 100, 8, 'mode') & 0o7777,
    uid: readNumber(block, 108, 8, 'uid'),
    gid: readNumber(block, 116, 8, 'gid'),
    size: readNumber(block, 124, 12, 'size'),
    mtime: readNumber(block, 136, 12, 'mtime'),
    linkTarget: readString(block, 157, 100),
    uname: readString(block, 265, 32),
    gname: readString(block, 297, 32),
  };
  return raw;
}

function typeOf(flag: string): TarEntryType {
  if (flag === '0' || flag === '7') return 'file'; // '7' (contiguous) is a regular file everywhere that matters
  for (const [type, f] of Object.entries(TYPEFLAGS)) if (f === flag) return type as TarEntryType;
  return 'other';
}

function readString(b: Buffer, offset: number, length: number): string {
  const field = b.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readNumber(b: Buffer, offset: number, length: number, what: string): number {
  const field = b.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian two's complement in the remaining bits; negative values are nonsense here.
    if (field[0]! & 0x40) throw corruptArchive(`negative ${what} field`);
    let n = field[0]! & 0x3f;
    for (let i = 1; i < length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n)) throw corruptArchive(`${what} field too large`);
    return n;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corruptArchive(`${what} field is not octal`);
  return parseInt(text, 8);
}

/** Parses a PAX extended header body into key/value records. */
export function parsePaxRecords(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // padding some writers leave inside the declared size
    const space = body.indexOf(0x20, pos);
    if (space === -1) throw corruptArchive('malformed PAX record');
    const len = Number(body.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= space - pos || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw corruptArchive('malformed PAX record length');
    }
    const record = body.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw corruptArchive('malformed PAX record (no "=")');
    records.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1));
    pos += len;
  }
  return records;
}
