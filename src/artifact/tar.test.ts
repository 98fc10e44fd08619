import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SlipwayError } from '../core/errors.js';
import { BLOCK_SIZE, encodeHeader, parsePaxRecords } from './tar-header.js';
import { readTar, type TarReadEntry } from './tar-reader.js';
import { writeTar, type TarWriteEntry } from './tar-writer.js';
import { fileEntry } from './artifact-testing.js';

async function toBuffer(entries: TarWriteEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of writeTar(entries)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Reads an archive fed in small, odd-sized chunks, to exercise reassembly across chunk boundaries. */
async function readAll(archive: Buffer, chunkSize = 37): Promise<{ header: TarReadEntry['header']; content: string }[]> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < archive.length; i += chunkSize) chunks.push(archive.subarray(i, i + chunkSize));
  const out = [];
  for await (const { header, body } of readTar(Readable.from(chunks))) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c);
    out.push({ header, content: Buffer.concat(parts).toString('utf8') });
  }
  return out;
}

test('tar: entries written are read back with types, modes, sizes and link targets', async () => {
  const archive = await toBuffer([
    { path: 'dir', type: 'directory', mode: 0o755, size: 0 },
    fileEntry('dir/a.txt', 'hello\n', 0o600),
    fileEntry('dir/empty', ''),
    { path: 'dir/link', type: 'symlink', mode: 0o777, size: 0, linkTarget: 'a.txt' },
  ]);
  assert.equal(archive.length % BLOCK_SIZE, 0);
  const read = await readAll(archive);
  assert.deepEqual(
    read.map((e) => [e.header.path, e.header.type, e.header.mode, e.header.size, e.header.linkTarget, e.content]),
    [
      ['dir', 'directory', 0o755, 0, undefined, ''],
      ['dir/a.txt', 'file', 0o600, 6, undefined, 'hello\n'],
      ['dir/empty', 'file', 0o644, 0, undefined, ''],
      ['dir/link', 'symlink', 0o777, 0, 'a.txt', ''],
    ],
  );
});

test('tar: long and non-ASCII paths and link targets go through PAX records and come back intact', async () => {
  const long = `${'a'.repeat(90)}/${'b'.repeat(90)}/file.txt`;
  const unicode = 'données/日本語/ファイル.txt';
  const archive = await toBuffer([
    fileEntry(long, 'x'),
    fileEntry(unicode, 'y'),
    { path: 'l', type: 'symlink', mode: 0o777, size: 0, linkTarget: long },
  ]);
  const read = await readAll(archive, 512);
  assert.deepEqual(
    read.map((e) => [e.header.path, e.header.linkTarget ?? null, e.content]),
    [
      [long, null, 'x'],
      [unicode, null, 'y'],
      ['l', long, ''],
    ],
  );
  assert.ok(archive.includes(Buffer.from(` path=${long}\n`)), 'the long path is stored in a PAX record');
});

test('tar: PAX record length prefix counts itself, across the 9 → 10 digit boundary', () => {
  for (const len of [1, 90, 91, 92, 993, 994, 995]) {
    const path = 'p'.repeat(len) + 'é';
    const header = encodeHeader({ path, type: 'file', mode: 0o644, size: 0 });
    const size = parseInt(header.toString('latin1', 124, 135), 8);
    const records = parsePaxRecords(header.subarray(BLOCK_SIZE, BLOCK_SIZE + size));
    assert.equal(records.get('path'), path);
  }
});

test('tar: an unread body is skipped and the next entry is still found', async () => {
  const archive = await toBuffer([fileEntry('big', 'z'.repeat(5000)), fileEntry('next', 'n')]);
  const names: string[] = [];
  for await (const { header } of readTar(Readable.from([archive]))) names.push(header.path);
  assert.deepEqual(names, ['big', 'next']);
});

test('tar: a corrupted header checksum is reported as ARTIFACT_CORRUPT', async () => {
  const archive = await toBuffer([fileEntry('a', 'a')]);
  archive[0] = 'b'.charCodeAt(0);
  await assert.rejects(readAll(archive), (err: SlipwayError) => err.code === 'ARTIFACT_CORRUPT' && /checksum/.test(err.message));
});

test('tar: an archive cut at a block boundary (no end marker) is reported as ARTIFACT_CORRUPT', async () => {
  const archive = await toBuffer([fileEntry('a', 'a'), fileEntry('b', 'b')]);
  await assert.rejects(readAll(archive.subarray(0, 2 * BLOCK_SIZE)), (err: SlipwayError) => err.code === 'ARTIFACT_CORRUPT');
  await assert.rejects(readAll(archive.subarray(0, BLOCK_SIZE + 100)), (err: SlipwayError) => err.code === 'ARTIFACT_CORRUPT');
});

test('tar: a file body shorter or longer than its declared size fails with ARTIFACT_SOURCE_CHANGED', async () => {
  const short: TarWriteEntry = { path: 'f', type: 'file', mode: 0o644, size: 10, body: () => Buffer.from('abc') };
  const long: TarWriteEntry = { path: 'f', type: 'file', mode: 0o644, size: 1, body: () => Buffer.from('abc') };
  await assert.rejects(toBuffer([short]), (err: SlipwayError) => err.code === 'ARTIFACT_SOURCE_CHANGED');
  await assert.rejects(toBuffer([long]), (err: SlipwayError) => err.code === 'ARTIFACT_SOURCE_CHANGED');
});
