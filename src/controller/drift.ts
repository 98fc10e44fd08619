/**
 * Drift: does slipway.yaml (and the service's source) still describe the release that serves?
 * Config drift is exact (the hash of the service's config, as recorded on every release). Source
 * drift needs the build's digest, which only a build gives: so every build records a cheap
 * fingerprint of the source tree it started from (paths, sizes, modes, mtimes and the build
 * command) with the digest it produced. A tree whose fingerprint was built before has a known
 * digest; an unknown one has "maybe changed" (null) until the next build says.
 */
import { join, resolve } from 'node:path';
import { canonicalJson, sha256Hex } from '../core/hash.js';
import { readJsonIfExists, writeJsonAtomic } from '../core/atomic-file.js';
import { loadConfig } from '../config/load.js';
import type { ServiceConfig, SlipwayConfig } from '../config/schema.js';
import { IgnoreRules } from '../artifact/ignore-rules.js';
import { ALWAYS_EXCLUDED, listSourceTree, type SourceEntry } from '../artifact/source-tree.js';
import type { Release } from '../store/types.js';
import type { DriftView } from '../api/types.js';
import type { Controller } from './controller.js';
import { secretsChangedSince } from '../secrets/release-secrets.js';
import { watchedFingerprint } from './source-watch.js';

/** Fingerprints kept per service (enough to recognise the trees of the last few releases). */
const KEPT_PER_SERVICE = 20;

type Builds = Record<string, Record<string, string>>;

/** The hash every release records of its service's config. */
export function configHashOf(spec: ServiceConfig): string {
  return sha256Hex(canonicalJson(spec));
}

/**
 * A fingerprint of what a build would start from: the same tree buildArtifact copies (without
 * .git, .slipway, node_modules and .slipwayignore matches) by metadata, plus the build command.
 * Touching a file without changing it makes the fingerprint unknown, never wrong: the next build
 * finds the same digest.
 */
export async function sourceFingerprint(sourceDir: string, buildCommand: string | undefined): Promise<string> {
  const root = resolve(sourceDir);
  const entries = await listSourceTree(root, { excludeNames: [...ALWAYS_EXCLUDED, 'node_modules'], ignore: await IgnoreRules.load(root) });
  return fingerprintOf(entries, buildCommand);
}

/** sourceFingerprint, walking the tree only when a watch saw it change since (source-watch.ts): what `status` uses. */
export function watchedSourceFingerprint(sourceDir: string, buildCommand: string | undefined): Promise<string> {
  const root = resolve(sourceDir);
  return watchedFingerprint(root, buildCommand ?? '', async () => {
    const entries = await listSourceTree(root, {
      excludeNames: [...ALWAYS_EXCLUDED, 'node_modules'],
      ignore: await IgnoreRules.load(root),
    });
    return { fingerprint: fingerprintOf(entries, buildCommand), entries };
  });
}

/** The fingerprint of a tree already listed (buildArtifact lists it anyway: no second walk). */
export function fingerprintOf(entries: readonly SourceEntry[], buildCommand: string | undefined): string {
  const parts = entries.map((e) => [e.relPath, e.type, e.mode, e.size, e.type === 'directory' ? 0 : e.mtimeMs, e.linkTarget ?? '']);
  return sha256Hex(canonicalJson({ build: buildCommand ?? null, parts }));
}

const buildsFile = (c: Controller) => join(c.paths.root, 'source-builds.json');

/** Remembers that the tree with `fingerprint` built to `digest`. */
export function recordBuild(c: Controller, service: string, fingerprint: string, digest: string): void {
  const all = readJsonIfExists<Builds>(buildsFile(c)) ?? {};
  const mine = { ...all[service] };
  delete mine[fingerprint];
  mine[fingerprint] = digest;
  const kept = Object.entries(mine).slice(-KEPT_PER_SERVICE);
  writeJsonAtomic(buildsFile(c), { ...all, [service]: Object.fromEntries(kept) });
}

export function knownDigest(c: Controller, service: string, fingerprint: string): string | undefined {
  try {
    return readJsonIfExists<Builds>(buildsFile(c))?.[service]?.[fingerprint];
  } catch {
    return undefined; // a damaged file only makes the source "not known until built"
  }
}

/**
 * The newest release, when it is newer than the serving one, matches this build and config, and
 * did not stay: it failed or was rolled back. `slipway up` does not deploy it again on its own.
 */
/**
 * Whether release `r` runs what a deploy now would: the same artifact, config and secrets
 * (`secretsHash` undefined: secrets not known, so not compared).
 */
export function runsSame(r: Release, digest: string, configHash: string, secretsHash?: string | null): boolean {
  return r.digest === digest && r.configHash === configHash && (secretsHash === undefined || (r.secrets?.hash ?? null) === secretsHash);
}

export function rolledBackMatch(
  releases: Release[],
  current: number | null,
  digest: string,
  configHash: string,
  /** The secrets hash a deploy now would record; undefined: not known (secrets are not compared). */
  secretsHash?: string | null,
): Release | undefined {
  const [newest] = releases;
  if (!newest || (current !== null && newest.number <= current)) return undefined;
  if (newest.outcome !== 'failed' && newest.outcome !== 'superseded') return undefined;
  return runsSame(newest, digest, configHash, secretsHash) ? newest : undefined;
}

/** The words `slipway up` and `status` use for a rolled-back release the config still describes. */
export function rolledBackNote(service: string, release: number): string {
  return `release ${release} was rolled back; slipway.yaml still describes it → not redeploying; \`slipway deploy ${service}\` to force`;
}

/** Compares slipway.yaml on disk and the source with the release that serves `service`. */
export async function driftOf(c: Controller, service: string): Promise<DriftView> {
  const none = { config: false, source: false, servingRelease: null, servingConfigHash: null, configHash: null, describes: null };
  let config: SlipwayConfig;
  try {
    if (!c.configPath) throw new Error('no slipway.yaml found');
    config = loadConfig(c.configPath).config;
  } catch (err) {
    return {
      ...none,
      source: null,
      state: 'unknown',
      message: `slipway.yaml cannot be compared with what serves: ${(err as Error).message.split('\n')[0]}; run \`slipway validate\``,
    };
  }
  const current = await c.store.getCurrentRelease(c.environment, service);
  const serving = current !== null ? await c.release(service, current).catch(() => undefined) : undefined;
  const spec = config.services[service];
  if (!spec) {
    return {
      ...none,
      servingRelease: current,
      servingConfigHash: serving?.configHash ?? null,
      state: 'removed',
      message:
        current !== null
          ? `not in slipway.yaml any more; release ${current} still serves (\`slipway down\` stops everything)`
          : 'not in slipway.yaml',
    };
  }
  const configHash = configHashOf(spec);
  // An image service has no source tree to fingerprint: its drift is its config's (and its image's, at deploy).
  const fingerprint =
    spec.source === undefined ? undefined : await watchedSourceFingerprint(spec.source, spec.build).catch(() => undefined);
  const digest = fingerprint !== undefined ? knownDigest(c, service, fingerprint) : undefined;
  if (!serving || current === null) {
    return { ...none, source: null, configHash, state: 'not-deployed', message: 'not deployed yet; `slipway up` deploys it' };
  }
  const releases = await c.store.listReleases(c.environment, service, 5);
  const describes =
    digest !== undefined ? (releases.find((r) => r.digest === digest && r.configHash === configHash)?.number ?? null) : null;
  const base = { servingRelease: current, servingConfigHash: serving.configHash, configHash, describes };
  const configChanged = configHash !== serving.configHash;
  const sourceChanged = digest === undefined ? null : digest !== serving.digest;
  const secretsChanged =
    !configChanged &&
    !!serving.secrets &&
    !!c.configPath &&
    (await secretsChangedSince(c.configPath, config.app, c.environment, serving.secrets));
  if (!configChanged && sourceChanged === false && !secretsChanged)
    return {
      ...base,
      config: false,
      source: false,
      state: 'unchanged',
      message: `slipway.yaml and the source describe release ${current}, which serves`,
    };
  const back = digest !== undefined && !secretsChanged ? rolledBackMatch(releases, current, digest, configHash) : undefined;
  if (back)
    return {
      ...base,
      config: configChanged,
      source: sourceChanged,
      state: 'rolled-back',
      message: `${rolledBackNote(service, back.number)}; release ${current} serves`,
    };
  const what = [
    configChanged ? `config hash ${short(configHash)} (release ${current}: ${short(serving.configHash)})` : '',
    sourceChanged === true
      ? 'the source builds differently'
      : sourceChanged === null
        ? 'the source changed since the last build (a build will tell whether its output differs)'
        : '',
    secretsChanged ? `a secret was set or removed since (slipway secrets list --env ${c.environment})` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const file = configChanged ? 'slipway.yaml' : sourceChanged !== false ? 'the source' : 'slipway.secrets.yaml';
  return {
    ...base,
    config: configChanged,
    source: sourceChanged,
    secrets: secretsChanged,
    state: 'changed',
    message: `${file} differs from what serves: release ${current} serves; ${what}; run \`slipway up\` to deploy it, or put ${file} back to keep release ${current}`,
  };
}

function short(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}
