/**
 * The hosts' store GC after a fleet rollout (fleet/host-gc.ts): every host keeps what runs there,
 * every release this controller's retention still holds in the environment (any service: hosts
 * share one store), and the most recent `keepReleases` (the largest of the services'). In the
 * background: a rollout's outcome never waits for it, and a host that fails it is only logged.
 */
import { SlipwayError } from '../core/errors.js';
import type { FleetRuntime } from '../fleet/fleet-runtime.js';
import { eachHost } from '../fleet/fleet-target.js';
import { DEFAULT_KEEP_RECENT, gcHost } from '../fleet/host-gc.js';
import type { Controller } from './controller.js';

export async function gcFleet(c: Controller, rt: FleetRuntime, service: string): Promise<void> {
  const env = c.environment;
  const keep = new Set<string>();
  for (const s of await c.store.listServices(env))
    for (const r of await c.store.listReleases(env, s)) if (r.prunedAt === null && !r.image) keep.add(r.digest);
  const services = Object.values(c.project.currentConfig?.services ?? {});
  const keepRecent = Math.max(...services.map((s) => s.keepReleases), services.length ? 1 : DEFAULT_KEEP_RECENT);
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
