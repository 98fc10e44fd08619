/**
 * Release retention: keep the newest `keep` releases of a service, and always the serving
 * release, the rollback target and any release an instance still runs. Older releases are
 * marked pruned (their records stay for history) and their artifacts and extracted directories
 * are deleted unless another kept release shares the digest.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from './controller.js';

export async function pruneReleases(c: Controller, service: string, opts: { keep: number }): Promise<number[]> {
  const env = c.environment;
  const releases = await c.store.listReleases(env, service);
  const current = await c.store.getCurrentRelease(env, service);
  const active = await c.store.activeRollout(env, service);
  const protectedNumbers = new Set<number>([
    ...releases.slice(0, opts.keep).map((r) => r.number),
    ...c.driver.list().filter((i) => i.service === service).map((i) => i.release),
  ]);
  if (current !== null) protectedNumbers.add(current);
  // The rollback target: the newest release before the current one that served.
  const rollbackTarget = releases.find((r) => current !== null && r.number < current && r.outcome === 'superseded');
  if (rollbackTarget) protectedNumbers.add(rollbackTarget.number);
  if (active) for (const n of [active.fromRelease, active.toRelease, active.targetRelease]) if (n !== null) protectedNumbers.add(n);

  const keptDigests = new Set(releases.filter((r) => protectedNumbers.has(r.number)).map((r) => r.digest));
  const pruned: number[] = [];
  for (const r of releases) {
    if (protectedNumbers.has(r.number) || r.prunedAt !== null) continue;
    await c.store.markReleasePruned(env, service, r.number, c.clock.now());
    pruned.push(r.number);
    if (keptDigests.has(r.digest)) continue;
    keptDigests.add(r.digest); // remove each digest once
    await c.artifacts.remove(r.digest);
    // ArtifactStore.materialize extracts to <releases>/<hex16> with a `.<hex16>.complete` marker beside it.
    const hex16 = r.digest.replace(/^sha256:/, '').slice(0, 16);
    rmSync(join(c.paths.releases, hex16), { recursive: true, force: true });
    rmSync(join(c.paths.releases, `.${hex16}.complete`), { force: true });
  }
  if (pruned.length) await c.event(service, null, 'release.pruned', `pruned release(s) ${pruned.join(', ')} of ${service}`, { releases: pruned });
  return pruned;
}
