/**
 * Bringing a host that came back to the release the fleet serves, without a deploy (ADR 0026).
 * A host whose link was cut mid-rollout may have finished a roll the controller rolled back
 * everywhere else (its agent goes on without the controller); a host that was down or reinstalled
 * may serve nothing. The controller's loop notices it from the agent's instance stream (what the
 * SshDriver caches, so a tick costs no SSH round trip) and rolls that one host to the current
 * release: shipped if the host lacks it, then the agent's idempotent `roll`. Never during a
 * rollout of the service (the rollout owns the hosts then), and a rollout waits for a heal in
 * flight before it starts, so the two never roll one host at once.
 */
import { SlipwayError } from '../core/errors.js';
import type { FleetMember, FleetRuntime } from '../fleet/fleet-runtime.js';
import type { RollRequest } from '../fleet/agent/protocol.js';
import { rollOn } from '../fleet/fleet-rollout.js';
import { shipRelease, type ReleasePlan } from '../fleet/ship.js';
import type { Release } from '../store/types.js';
import type { Controller } from './controller.js';
import { unitName } from './environment-scope.js';
import { hostPayload, type HostPayload } from './fleet-payload.js';

/** After a failed heal, the host is left alone this long (a crash-looping release is not retried every tick). */
export const HEAL_BACKOFF_MS = 15_000;

export interface HealDeps {
  prepare(r: Release): Promise<void>;
  plan(r: Release): ReleasePlan;
  rollRequest(r: Release, m: FleetMember, rt: FleetRuntime, payload: HostPayload): RollRequest;
  /** Hosts that run nothing of `service` on purpose (blue-green's idle host group): never healed. */
  idleHosts(service: string, rt: FleetRuntime): Set<string>;
}

export class FleetHealer {
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly c: Controller,
    private readonly side: HealDeps,
  ) {}

  /** One tick with no rollout of `service` active: starts a heal for each reachable host off its current release. */
  async check(service: string, rt: FleetRuntime): Promise<void> {
    const current = await this.c.store.getCurrentRelease(this.c.environment, service);
    if (current === null) return;
    const unit = unitName(this.c.environment, service);
    const all = rt.driver.list().filter((i) => i.service === unit);
    const idle = this.side.idleHosts(service, rt);
    for (const m of rt.members) {
      const key = `${service}\0${m.name}`;
      if (this.jobs.has(key) || (this.retryAt.get(key) ?? 0) > Date.now()) continue;
      // Only a host whose agent is followed now: its cached list is what it runs.
      if (!rt.driver.hostState(m.name)?.reachable) continue;
      const mine = all.filter((i) => i.host === m.name);
      const others = [...new Set(mine.filter((i) => i.release !== current).map((i) => i.release))];
      if (others.length === 0 && (mine.length > 0 || idle.has(m.name))) continue;
      const was = others.length ? `release ${others.join(', ')}` : 'nothing';
      const job = this.heal(service, m, rt, current, was)
        .then(() => void this.retryAt.delete(key))
        .catch(async (err: unknown) => {
          const e = SlipwayError.from(err);
          this.retryAt.set(key, Date.now() + HEAL_BACKOFF_MS);
          this.c.log.warn(`${service} on ${m.name}: bringing it to release ${current} failed: ${e.code}: ${e.message}`);
          await this.c
            .event(
              service,
              null,
              'fleet.reconcile-failed',
              `${m.name}: bringing it to release ${current} failed: ${e.message.split('\n')[0]}`,
              {
                host: m.name,
                release: current,
                code: e.code,
              },
            )
            .catch(() => undefined);
        })
        .finally(() => this.jobs.delete(key));
      this.jobs.set(key, job);
    }
  }

  /** Resolves when no heal of `service` is in flight (a rollout waits for this before rolling hosts). */
  async idle(service: string): Promise<void> {
    for (;;) {
      const mine = [...this.jobs].filter(([k]) => k.startsWith(`${service}\0`)).map(([, p]) => p);
      if (!mine.length) return;
      await Promise.all(mine);
    }
  }

  private async heal(service: string, m: FleetMember, rt: FleetRuntime, current: number, was: string): Promise<void> {
    const c = this.c;
    const to = await c.release(service, current);
    // An image is pulled by the host's agent in its roll; a process release is shipped first.
    let shipped: string = 'pulled by the host';
    if (!to.image) {
      await this.side.prepare(to);
      const remote = await m.remote();
      await remote.run(['mkdir', '-p', ...rt.layout.directories]);
      shipped = (await shipRelease(remote, rt.layout, this.side.plan(to))).outcome;
    }
    await m.agent.ensureCurrent();
    const req = this.side.rollRequest(to, m, rt, await hostPayload(c, to));
    const r = await rollOn(m, req);
    if (r.outcome === 'already') return; // it served the release after all (the cached list was behind)
    const message = `${m.name} served ${was}; rolled to release ${current}, the fleet's current one (no deploy)`;
    c.log.info(`${service}: ${message}`);
    await c.event(service, null, 'fleet.reconciled', message, {
      host: m.name,
      release: current,
      was,
      shipped,
      started: r.started,
      retired: r.retired,
    });
  }
}
