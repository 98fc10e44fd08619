/**
 * Release retention: keep the newest `keep` releases of a service, and always the serving
 * release, the rollback target, the releases of an active rollout and any release an instance
 * still runs. Older releases are marked pruned (their records stay for history) and their
 * artifacts and extracted directories are deleted unless a kept release shares the digest; then
 * the file store drops every file no remaining release directory links to (ADR 0011).
 */
import type { Release, Rollout } from '../store/types.js';
import type { Controller } from './controller.js';

/** Pure: which releases to prune. `releases` newest first. */
export function releasesToPrune(
  releases: Release[],
  opts: { keep: number; current: number | null; active?: Rollout; running: number[] },
): Release[] {
  const kept = new Set<number>([...releases.slice(0, opts.keep).map((r) => r.number), ...opts.running]);
  if (opts.current !== null) {
    kept.add(opts.current);
    const rollbackTarget = releases.find((r) => r.number < opts.current! && r.outcome === 'superseded' && r.prunedAt === null);
    if (rollbackTarget) kept.add(rollbackTarget.number);
  }
  const a = opts.active;
  if (a) for (const n of [a.fromRelease, a.toRelease, a.targetRelease]) if (n !== null) kept.add(n);
  return releases.filter((r) => !kept.has(r.number) && r.prunedAt === null);
}

export async function pruneReleases(c: Controller, service: string, opts: { keep: number }): Promise<number[]> {
  const env = c.environment;
  const releases = await c.store.listReleases(env, service);
  const prune = releasesToPrune(releases, {
    keep: opts.keep,
    current: await c.store.getCurrentRelease(env, service),
    active: await c.store.activeRollout(env, service),
    running: c.driver
      .list()
      .filter((i) => i.service === service)
      .map((i) => i.release),
  });
  const pruning = new Set(prune.map((r) => r.number));
  const keptDigests = new Set(releases.filter((r) => !pruning.has(r.number) && r.prunedAt === null).map((r) => r.digest));
  // The artifact store is the project's: another environment (a promotion ships the same digest)
  // or another service built from the same source may still use an artifact this one prunes.
  if (prune.length) for (const d of await digestsInUseElsewhere(c, service)) keptDigests.add(d);
  for (const r of prune) {
    await c.store.markReleasePruned(env, service, r.number, c.clock.now());
    if (keptDigests.has(r.digest)) continue;
    keptDigests.add(r.digest); // each digest is removed once
    // An image stays in its registry or podman store: retention there is theirs (`podman image prune`).
    if (r.image) continue;
    await c.artifacts.remove(r.digest);
    await c.artifacts.dematerialize(r.digest, c.paths.releases);
  }
  // Release files are shared by hard links; those only pruned releases used have no link left.
  if (prune.length) await c.artifacts.sweepFiles();
  if (prune.length)
    await c.event(service, null, 'release.pruned', `pruned release(s) ${prune.map((r) => r.number).join(', ')} of ${service}`, {
      releases: prune.map((r) => r.number),
    });
  return prune.map((r) => r.number);
}

/** Digests of unpruned releases of every other (environment, service) of the project. */
async function digestsInUseElsewhere(c: Controller, service: string): Promise<Set<string>> {
  const digests = new Set<string>();
  for (const env of await c.store.listEnvironments()) {
    for (const other of await c.store.listServices(env)) {
      if (env === c.environment && other === service) continue;
      for (const r of await c.store.listReleases(env, other)) if (r.prunedAt === null) digests.add(r.digest);
    }
  }
  return digests;
}
