import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { ArtifactStore } from './artifact-store.js';
import { packDirectory } from './pack.js';
import { describeTree, tempDir, writeTree } from './artifact-testing.js';

async function packed(root: string, name: string, content = 'hello'): Promise<{ file: string; digest: string }> {
  await writeTree(join(root, `src-${name}`), { 'app.js': content, 'bin/run': { content: '#!/bin/sh\n', mode: 0o755 } });
  const file = join(root, `${name}.tar.gz`);
  const { digest } = await packDirectory(join(root, `src-${name}`), file);
  return { file, digest };
}

test('store: put moves the file to sha256/<hex>.tar.gz; has, path, verify, list, remove', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const { file, digest } = await packed(t.dir, 'a');
    const bytes = (await readFile(file)).length;

    assert.equal(store.has(digest), false);
    assert.equal(await store.put(file), digest);
    assert.equal(store.has(digest), true);
    assert.equal(store.path(digest), join(t.dir, 'artifacts', 'sha256', `${digest.slice(7)}.tar.gz`));
    await assert.rejects(readFile(file), { code: 'ENOENT' }, 'the temp file was moved');
    await store.verify(digest);

    const listed = await store.list();
    assert.deepEqual(
      listed.map((a) => [a.digest, a.bytes]),
      [[digest, bytes]],
    );
    assert.ok(listed[0]!.createdAt instanceof Date);

    assert.equal(await store.remove(digest), true);
    assert.equal(await store.remove(digest), false);
    assert.equal(store.has(digest), false);
    assert.deepEqual(await store.list(), []);
  } finally {
    await t.cleanup();
  }
});

test('store: putting the same artifact twice is idempotent', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const first = await packed(t.dir, 'a');
    const second = await packed(t.dir, 'b'); // same content, different source dir: same digest
    assert.equal(first.digest, second.digest);
    await store.put(first.file);
    assert.equal(await store.put(second.file), first.digest);
    assert.deepEqual(await readdir(join(t.dir, 'artifacts', 'sha256')), [`${first.digest.slice(7)}.tar.gz`]);
  } finally {
    await t.cleanup();
  }
});

test('store: put with an expected digest that does not match is refused and the file left in place', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const { file } = await packed(t.dir, 'a');
    const wrong = `sha256:${'1'.repeat(64)}`;
    await assert.rejects(store.put(file, wrong), (err: SlipwayError) => err.code === 'ARTIFACT_DIGEST_MISMATCH');
    await readFile(file);
    assert.deepEqual(await store.list(), []);
  } finally {
    await t.cleanup();
  }
});

test('store: verify detects a corrupted file with ARTIFACT_DIGEST_MISMATCH; materialize refuses it', async () => {
  const t = await tempDir();
  try {
    // Given a stored artifact whose bytes are flipped on disk
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const { file, digest } = await packed(t.dir, 'a');
    await store.put(file);
    const path = store.path(digest);
    const bytes = await readFile(path);
    bytes[bytes.length - 5]! ^= 0xff;
    await chmod(path, 0o644);
    await writeFile(path, bytes);
    // Then verify and materialize notice
    await assert.rejects(store.verify(digest), (err: SlipwayError) => err.code === 'ARTIFACT_DIGEST_MISMATCH' && err.kind === 'failed');
    await assert.rejects(
      store.materialize(digest, join(t.dir, 'releases')),
      (err: SlipwayError) => err.code === 'ARTIFACT_DIGEST_MISMATCH' || err.code === 'ARTIFACT_CORRUPT',
    );
    assert.deepEqual(await readdir(join(t.dir, 'releases')), []);
    // And putting a good copy again repairs the store
    const again = await packed(t.dir, 'b');
    await store.put(again.file);
    await store.verify(digest);
  } finally {
    await t.cleanup();
  }
});

test('store: unknown and malformed digests', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const absent = `sha256:${'a'.repeat(64)}`;
    await assert.rejects(store.verify(absent), (err: SlipwayError) => err.code === 'ARTIFACT_NOT_FOUND' && err.kind === 'not-found');
    assert.throws(
      () => store.open(absent),
      (err: SlipwayError) => err.code === 'ARTIFACT_NOT_FOUND',
    );
    assert.throws(
      () => store.path('sha256:../../etc/passwd'),
      (err: SlipwayError) => err.code === 'ARTIFACT_DIGEST_INVALID',
    );
    assert.throws(
      () => store.has('md5:abc'),
      (err: SlipwayError) => err.code === 'ARTIFACT_DIGEST_INVALID',
    );
  } finally {
    await t.cleanup();
  }
});

test('store: materialize extracts once to releases/<hex16>, reuses a complete one and redoes an incomplete one', async () => {
  const t = await tempDir();
  try {
    const store = new ArtifactStore(join(t.dir, 'artifacts'));
    const releases = join(t.dir, 'releases');
    const { file, digest } = await packed(t.dir, 'a', 'v1');
    await store.put(file);

    // First call extracts; concurrent calls share it
    const [dir, dir2] = await Promise.all([store.materialize(digest, releases), store.materialize(digest, releases)]);
    assert.equal(dir, join(releases, digest.slice(7, 23)));
    assert.equal(dir2, dir);
    assert.deepEqual(await describeTree(dir), { 'app.js': 'file:644:v1', bin: 'dir:755', 'bin/run': 'file:755:#!/bin/sh\n' });
    assert.deepEqual((await readdir(releases)).sort(), [`.${digest.slice(7, 23)}.complete`, digest.slice(7, 23)]);

    // A complete release is reused as is (a marker file proves it), not re-extracted
    await writeFile(join(dir, 'touched'), 'x');
    assert.equal(await store.materialize(digest, releases), dir);
    assert.equal(await readFile(join(dir, 'touched'), 'utf8'), 'x');

    // Without its marker (a crash before the marker was written) it is extracted afresh
    await rm(join(releases, `.${digest.slice(7, 23)}.complete`));
    assert.equal(await store.materialize(digest, releases), dir);
    assert.deepEqual(Object.keys(await describeTree(dir)), ['app.js', 'bin', 'bin/run']);

    // dematerialize removes the directory and its marker (retention uses it); twice is harmless
    await store.dematerialize(digest, releases);
    await store.dematerialize(digest, releases);
    assert.deepEqual(await readdir(releases), []);
  } finally {
    await t.cleanup();
  }
});
