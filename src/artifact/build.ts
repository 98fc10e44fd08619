import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SlipwayError } from '../core/errors.js';
import type { ArtifactStore } from './artifact-store.js';
import { BuildCache, type BuildCacheSpec } from './build-cache.js';
import { IgnoreRules } from './ignore-rules.js';
import { assertDirectory, packDirectory, packEntries, type PackResult } from './pack.js';
import { PackCache } from './pack-cache.js';
import { runBuildCommand } from './run-build-command.js';
import { ALWAYS_EXCLUDED, copySourceTree, listSourceTree, type SourceEntry } from './source-tree.js';

/** Input of `buildArtifact`. */
export interface BuildArtifactOptions {
  /** The service's source tree; never modified. */
  sourceDir: string;
  /** Shell command run with `/bin/sh -c` in a clean copy of the source. @default none: the source is packed as is */
  buildCommand?: string;
  /** Where the temporary build directory is made, e.g. `.slipway/work`. */
  workRoot: string;
  /**
   * Where the artifact goes, and the pack and build caches. `slipway plan` passes one whose `put`
   * keeps nothing (it only wants the digest), with `rememberPack: false`.
   */
  store: Pick<ArtifactStore, 'put' | 'has' | 'indexed' | 'packCacheDir' | 'buildCacheDir'>;
  /** Save what this pack saw as the source's pack cache (ADR 0015). False for a build whose archive is not kept. @default true */
  rememberPack?: boolean;
  /** Added to (and overriding) the controller's environment for the build command. @default {} */
  env?: Record<string, string>;
  /** Receives each line the build command prints, as it prints it. */
  onOutput?: (line: string) => void;
  /** Aborting kills the build command's whole process group and fails with `BUILD_CANCELLED`. */
  signal?: AbortSignal;
  /** The service's `cache:` (only with a build command): paths restored before the build and saved after. */
  cache?: BuildCacheSpec;
  /** Do not restore the build cache (a clean build); its result is still saved. @default false */
  noCache?: boolean;
  /** Called with the listed source tree before anything is built (the controller fingerprints it). */
  onListed?: (entries: readonly SourceEntry[]) => void;
}

/** What `buildArtifact` produced. */
export interface BuildArtifactResult {
  /** `sha256:<hex>` of the stored .tar.gz. */
  digest: string;
  bytes: number;
  /** Non-directory entries in the artifact. */
  files: number;
  /** Output lines of the build command (at most the last `MAX_LOG_LINES`). */
  buildLog: string[];
  durationMs: number;
  /** Entries whose compressed segment came from the previous build's archive (ADR 0015). */
  reused: number;
  /** Each step and how long it took, for the deploy output. */
  steps: BuildStep[];
}

/** One step of a build, as `deploy` shows it. */
export interface BuildStep {
  name: 'list' | 'copy' | 'cache restore' | 'build command' | 'cache save' | 'pack' | 'store';
  ms: number;
  /** What happened, e.g. "hit: node_modules restored" or "20,000 of 20,001 entries reused". */
  note?: string;
}

/** Lines kept in `buildLog`; older lines are dropped so a chatty build cannot exhaust memory. */
export const MAX_LOG_LINES = 10_000;
/** Lines of output quoted in a `BUILD_FAILED` error. */
const TAIL_LINES = 20;

/**
 * Builds a release artifact: copy the source into a fresh directory under `workRoot` (without
 * `.git`, `.slipway`, `node_modules` and `.slipwayignore` matches, so the build cannot depend on
 * local leftovers) → run the build command there → pack the result reproducibly → put it in the
 * store. Without a build command the listed source is packed directly (no copy: same entries,
 * same digest). The temp directory is removed whatever happens.
 */
export async function buildArtifact(options: BuildArtifactOptions): Promise<BuildArtifactResult> {
  const started = performance.now();
  const steps: BuildStep[] = [];
  let lap = started;
  const step = (name: BuildStep['name'], note?: string): void => {
    const now = performance.now();
    steps.push({ name, ms: Math.round(now - lap), ...(note !== undefined ? { note } : {}) });
    lap = now;
  };
  const sourceDir = resolve(options.sourceDir);
  await assertDirectory(sourceDir);
  const listedAt = Date.now();
  const entries = await listSourceTree(sourceDir, {
    excludeNames: [...ALWAYS_EXCLUDED, 'node_modules'],
    ignore: await IgnoreRules.load(sourceDir),
  });
  options.onListed?.(entries);
  step('list', `${entries.length} entries`);
  const hasBuild = options.buildCommand !== undefined && options.buildCommand.trim() !== '';
  // What the last build of this source saw: its archive's segments are reused for unchanged
  // entries (ADR 0015). A build copy's files are new inodes every time, so only their content counts.
  const cache = PackCache.load(options.store.packCacheDir, sourceDir, !hasBuild);
  const previous = cache.last !== undefined ? options.store.indexed(cache.last) : undefined;

  await mkdir(options.workRoot, { recursive: true });
  const workDir = await mkdtemp(join(options.workRoot, 'build-'));
  const buildLog: string[] = [];
  try {
    const archive = join(workDir, 'artifact.tar.gz');
    let packed: PackResult;
    if (hasBuild) {
      const copy = join(workDir, 'src');
      await mkdir(copy);
      await copySourceTree(entries, copy);
      step('copy');
      const buildCache = options.cache && new BuildCache(options.store.buildCacheDir, sourceDir);
      const cacheKey = buildCache && (await buildCache.keyOf(copy, options.cache!, options.buildCommand!));
      if (buildCache && cacheKey) {
        const paths = options.cache!.paths.join(', ');
        if (options.noCache) step('cache restore', `skipped (--no-cache): ${paths} built from scratch`);
        else if (await buildCache.restore(cacheKey, options.cache!, copy))
          step('cache restore', `hit: ${paths} restored (key ${cacheKey.slice(0, 12)})`);
        else step('cache restore', `miss: no ${paths} saved for key ${cacheKey.slice(0, 12)}`);
      }
      await runBuild(options.buildCommand!, copy, options, buildLog);
      step('build command');
      if (buildCache && cacheKey) {
        await buildCache.save(cacheKey, options.cache!, copy);
        step('cache save', `${options.cache!.paths.join(', ')} saved (key ${cacheKey.slice(0, 12)})`);
      }
      packed = await packDirectory(copy, archive, { cache, previous });
    } else {
      // Nothing runs, so nothing can depend on leftovers: pack the listed source directly. Same
      // entries as a copy would hold (the copy is made from this very list), so the same digest.
      packed = await packEntries(entries, archive, { cache, previous });
    }
    step(
      'pack',
      packed.sameAsPrevious ? 'unchanged: the previous archive' : `${packed.reused} of ${packed.index.entries.length} entries reused`,
    );
    if (packed.sameAsPrevious && !options.store.has(packed.digest)) {
      // Pruned since it was found: pack again, without it.
      packed = hasBuild ? await packDirectory(join(workDir, 'src'), archive, { cache }) : await packEntries(entries, archive, { cache });
    }
    const digest = packed.sameAsPrevious ? packed.digest : await options.store.put(archive, packed.digest, packed.index);
    if (!packed.sameAsPrevious) step('store');
    if (!packed.sameAsPrevious && options.rememberPack !== false) cache.save(digest, listedAt); // unchanged: the cache already says all of it
    const durationMs = Math.round(performance.now() - started);
    return { digest, bytes: packed.bytes, files: packed.files, buildLog, durationMs, reused: packed.reused, steps };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function runBuild(command: string, cwd: string, options: BuildArtifactOptions, buildLog: string[]): Promise<void> {
  const outcome = await runBuildCommand(command, {
    cwd,
    env: { ...process.env, ...options.env },
    signal: options.signal,
    onLine: (line) => {
      buildLog.push(line);
      if (buildLog.length > MAX_LOG_LINES) buildLog.shift();
      options.onOutput?.(line);
    },
  });
  const tail = buildLog.slice(-TAIL_LINES);
  if (outcome.aborted) {
    throw SlipwayError.of('BUILD_CANCELLED', `build command was cancelled: ${command}`, { details: { command, tail } });
  }
  if (outcome.exitCode !== 0) {
    const how = outcome.exitCode === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
    const quoted = tail.length > 0 ? `\nlast ${tail.length} lines of output:\n${tail.join('\n')}` : '\n(no output)';
    throw SlipwayError.of('BUILD_FAILED', `build command ${how}: ${command}${quoted}`, {
      hint: 'Run the build command in a clean checkout of the source to reproduce it.',
      details: { command, exitCode: outcome.exitCode, signal: outcome.signal, tail },
    });
  }
}
