import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { ArtifactStore } from './artifact-store.js';
import { buildArtifact } from './build.js';
import { describeTree, tempDir, writeTree } from './artifact-testing.js';

async function setup(dir: string): Promise<{ source: string; workRoot: string; store: ArtifactStore; releases: string }> {
  const source = join(dir, 'app');
  await writeTree(source, {
    'index.js': 'console.log("hi")\n',
    '.slipwayignore': '*.log\nscratch/\n',
    'debug.log': 'noise',
    'scratch/tmp.txt': 'noise',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'node_modules/left-pad/index.js': 'stale local install',
  });
  return { source, workRoot: join(dir, 'work'), store: new ArtifactStore(join(dir, 'artifacts')), releases: join(dir, 'releases') };
}

test('build: runs the command in a clean copy and stores an artifact holding its output', async () => {
  const t = await tempDir();
  try {
    // Given a source tree with local leftovers and ignored files
    const { source, workRoot, store, releases } = await setup(t.dir);
    const streamed: string[] = [];
    // When the build runs a real command
    const result = await buildArtifact({
      sourceDir: source,
      workRoot,
      store,
      buildCommand:
        'echo built > out.txt && echo "$GREETING from build" && { test -e node_modules || echo "no node_modules"; } && echo to-stderr >&2',
      env: { GREETING: 'hello' },
      onOutput: (line) => streamed.push(line),
    });
    // Then output was streamed and logged
    assert.deepEqual(result.buildLog, streamed);
    assert.deepEqual([...result.buildLog].sort(), ['hello from build', 'no node_modules', 'to-stderr']);
    assert.equal(store.has(result.digest), true);
    assert.ok(result.durationMs >= 0 && result.bytes > 0);
    assert.equal(result.files, 3);
    // And the artifact holds the build output, without .git, node_modules or ignored files
    const dir = await store.materialize(result.digest, releases);
    assert.deepEqual(await describeTree(dir), {
      '.slipwayignore': 'file:644:*.log\nscratch/\n',
      'index.js': 'file:644:console.log("hi")\n',
      'out.txt': 'file:644:built\n',
    });
    // And the source and the work root are left as they were
    await assert.rejects(readFile(join(source, 'out.txt')), { code: 'ENOENT' });
    assert.deepEqual(await readdir(workRoot), []);
  } finally {
    await t.cleanup();
  }
});

test('build: the same source builds to the same digest twice', async () => {
  const t = await tempDir();
  try {
    const { source, workRoot, store } = await setup(t.dir);
    const a = await buildArtifact({ sourceDir: source, workRoot, store, buildCommand: 'echo built > out.txt' });
    const b = await buildArtifact({ sourceDir: source, workRoot, store, buildCommand: 'echo built > out.txt' });
    assert.equal(a.digest, b.digest);
    assert.equal((await store.list()).length, 1);
  } finally {
    await t.cleanup();
  }
});

test('build: a failing command gives BUILD_FAILED with the exit code and the last 20 lines, and cleans up', async () => {
  const t = await tempDir();
  try {
    const { source, workRoot, store } = await setup(t.dir);
    await assert.rejects(
      buildArtifact({ sourceDir: source, workRoot, store, buildCommand: 'for i in $(seq 1 30); do echo "line $i"; done; exit 3' }),
      (err: SlipwayError) => {
        assert.equal(err.kind, 'failed');
        assert.equal(err.code, 'BUILD_FAILED');
        assert.match(err.message, /exited with code 3/);
        assert.match(err.message, /line 11\nline 12/);
        assert.ok(err.message.endsWith('line 30'));
        assert.doesNotMatch(err.message, /line 10\n/);
        assert.deepEqual((err.details as { exitCode: number; tail: string[] }).exitCode, 3);
        assert.equal((err.details as { tail: string[] }).tail.length, 20);
        return true;
      },
    );
    assert.deepEqual(await readdir(workRoot), []);
    assert.deepEqual(await store.list(), []);
  } finally {
    await t.cleanup();
  }
});

test('build: aborting kills the command (and its children) with BUILD_CANCELLED', async () => {
  const t = await tempDir();
  try {
    const { source, workRoot, store } = await setup(t.dir);
    const controller = new AbortController();
    const started = Date.now();
    const build = buildArtifact({
      sourceDir: source,
      workRoot,
      store,
      signal: controller.signal,
      buildCommand: 'echo started; sleep 30 & wait',
      onOutput: (line) => {
        if (line === 'started') controller.abort();
      },
    });
    await assert.rejects(build, (err: SlipwayError) => err.code === 'BUILD_CANCELLED');
    assert.ok(Date.now() - started < 10_000, 'did not wait for sleep');
    assert.deepEqual(await readdir(workRoot), []);
  } finally {
    await t.cleanup();
  }
});

test('build: a missing source directory fails with SOURCE_NOT_FOUND naming the path', async () => {
  const t = await tempDir();
  try {
    const missing = join(t.dir, 'does-not-exist');
    await assert.rejects(
      buildArtifact({
        sourceDir: missing,
        workRoot: join(t.dir, 'work'),
        store: new ArtifactStore(join(t.dir, 'artifacts')),
        buildCommand: 'true',
      }),
      (err: SlipwayError) => err.kind === 'invalid' && err.code === 'SOURCE_NOT_FOUND' && err.message.includes(missing),
    );
  } finally {
    await t.cleanup();
  }
});
