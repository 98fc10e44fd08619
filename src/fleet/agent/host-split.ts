/**
 * The agent's `split` (protocol.ts SplitRequest): one host's part of a canary or blue-green across
 * a fleet. The host runs every listed release side by side behind its router, each with its weight
 * (0: no user traffic, as blue-green's idle release has), so a fleet-wide weight is the same split
 * on every host. Same zero-downtime rules as `roll`: new instances are health-gated before the
 * route names them, the route changes in one update, and retired instances are drained (504 at
 * `stopTimeout`) before they stop. A new instance that crash-loops or misses the deadline fails the
 * split with the route untouched, so the host keeps serving what it served.
 */
import { randomBytes } from 'node:crypto';
import type { InstanceStatus, RuntimeDriver } from '../../drivers/driver.js';
import type { ServiceRoute } from '../../router/types.js';
import type { SplitRequest, SplitResult } from './protocol.js';

export interface SplitDeps {
  driver: Pick<RuntimeDriver, 'list' | 'start' | 'stop'>;
  router: { setRoute(route: ServiceRoute): Promise<unknown>; drain(service: string, ids: string[], timeoutMs: number): Promise<unknown> };
  /** Pulls an image release's image (by digest) before its first instance starts on this host. */
  pull?(pull: NonNullable<SplitRequest['releases'][number]['pull']>): Promise<void>;
  /** Resolves once the instance passed its health check `healthyAfter` times; rejects with FLEET_ROLL_FAILED otherwise. */
  untilHealthy(release: number, releaseDir: string, id: string, deadline: number): Promise<void>;
}

const usable = (i: InstanceStatus) => i.state === 'running' || i.state === 'restarting';

export async function splitHost(s: SplitRequest, deps: SplitDeps): Promise<SplitResult> {
  const t0 = Date.now();
  const mine = () => deps.driver.list().filter((i) => i.service === s.service);
  const keep = new Map<number, InstanceStatus[]>();
  const started: InstanceStatus[] = [];
  // Where the time went, as a roll reports it (RollResult.phases); summed over the releases started.
  const phases = { pullMs: 0, startMs: 0, healthMs: 0, switchMs: 0, drainMs: 0 };
  let mark = t0;
  const lap = (k: keyof typeof phases) => {
    const now = Date.now();
    phases[k] += now - mark;
    mark = now;
  };
  try {
    for (const r of s.releases) {
      const have = mine()
        .filter((i) => i.release === r.release && usable(i))
        .slice(0, r.instances);
      const fresh: InstanceStatus[] = [];
      if (r.pull && have.length < r.instances) await deps.pull?.(r.pull);
      lap('pullMs');
      while (have.length + fresh.length < r.instances) {
        const id = `${s.service}-${r.release}-${randomBytes(3).toString('hex')}${s.idSuffix}`;
        const st = await deps.driver.start({ ...r.spec, id });
        fresh.push(st);
        started.push(st);
      }
      lap('startMs');
      // Instances already there were health-gated when they joined; only new ones are waited for.
      await Promise.all(fresh.map((i) => deps.untilHealthy(r.release, r.spec.releaseDir, i.id, t0 + s.deadlineMs)));
      lap('healthMs');
      keep.set(r.release, [...have, ...fresh]);
    }
    const now = new Map(deps.driver.list().map((i) => [i.id, i]));
    const route: ServiceRoute = {
      service: s.service,
      listen: s.listen,
      pools: s.releases.map((r) => ({
        release: r.release,
        weight: r.weight,
        backends: (keep.get(r.release) ?? []).flatMap((k) => {
          const i = now.get(k.id);
          return i ? [{ id: i.id, host: i.host, port: i.port }] : [];
        }),
      })),
      ...(s.preview ? { preview: { host: s.listen.host, port: s.preview.port, release: s.preview.release } } : {}),
      ...(s.rules?.length ? { rules: s.rules } : {}),
      ...(s.stickiness ? { stickiness: s.stickiness } : {}),
    };
    await deps.router.setRoute(route);
    lap('switchMs');
  } catch (err) {
    await Promise.all(started.map((i) => deps.driver.stop(i.id, { timeoutMs: s.stopTimeoutMs }).catch(() => undefined)));
    throw err;
  }
  const kept = new Set([...keep.values()].flat().map((i) => i.id));
  const retire = mine().filter((i) => !kept.has(i.id));
  if (retire.length) {
    await deps.router.drain(
      s.service,
      retire.map((i) => i.id),
      s.stopTimeoutMs,
    );
    await Promise.all(retire.map((i) => deps.driver.stop(i.id, { timeoutMs: s.stopTimeoutMs })));
  }
  lap('drainMs');
  return { started: started.map((i) => i.id), retired: retire.map((i) => i.id), durationMs: Date.now() - t0, phases };
}
