/**
 * The hosts' store GC after a fleet rollout (fleet/host-gc.ts): every host keeps what runs there,
 * every release the retention rules keep in the environment (any service: hosts share one store),
 * and the most recent `keepReleases` (the largest of the services'). In the
 * background: a rollout's outcome never waits for it, and a host that fails it is only logged.
 */
import { SlipwayError } from '../core/errors.js';
import type { FleetRuntime } from '../fleet/fleet-runtime.js';
import { eachHost } from '../fleet/fleet-target.js';
import { DEFAULT_KEEP_RECENT, gcHost } from '../fleet/host-gc.js';
import type { Controller } from './controller.js';
import { unitName } from './environment-scope.js';
import { releasesToPrune } from './retention.js';

export async function gcFleet(c: Controller, rt: FleetRuntime, service: string): Promise<void> {
  const env = c.environment;
  // Per service, what the retention keeps (retention.ts): the newest keepReleases, the current
  // release and its rollback target, an active rollout's, and what any host runs.
  const keep = new Set<string>();
  let keepRecent = 1;
  for (const s of await c.store.listServices(env)) {
    const releases = await c.store.listReleases(env, s);
    const newest = releases[0];
    const n = newest ? ((await c.release(s, newest.number).catch(() => undefined))?.spec.keepReleases ?? DEFAULT_KEEP_RECENT) : 0;
    keepRecent = Math.max(keepRecent, n);
    const unit = unitName(env, s);
    const prune = new Set(
      releasesToPrune(releases, {
        keep: n,
        current: await c.store.getCurrentRelease(env, s),
        active: await c.store.activeRollout(env, s),
        running: rt.driver
          .list()
          .filter((i) => i.service === unit)
          .map((i) => i.release),
      }).map((r) => r.number),
    );
    for (const r of releases) if (r.prunedAt === null && !prune.has(r.number) && !r.image) keep.add(r.digest);
  }
  const results = await eachHost(rt.members, rt.fleet.ssh.parallel, async (m) => gcHost(await m.remote(), rt.layout, { keep, keepRecent }));
  for (const [i, r] of results.entries()) {
    const host = rt.members[i]!.name;
    if (r.status === 'rejected') {
      c.log.warn(`store GC on ${host}: ${SlipwayError.from(r.reason).message}`);
      continue;
    }
    if (!r.value.removed.length && !r.value.filesRemoved) continue;
    await c.event(
      service,
      null,
      'fleet.gc',
      `${host}: removed ${r.value.removed.length} release(s) and ${r.value.filesRemoved ?? 0} stored file(s) no release uses`,
      { host, removed: r.value.removed, filesRemoved: r.value.filesRemoved },
    );
  }
}
