/**
 * A rollout across a fleet's hosts (docs/servers.md): the release is shipped to every host first
 * (content-addressed and verified, ship.ts), so no host starts switching before every host can;
 * then the hosts are rolled in batches, each host by its agent (agent.ts `roll`: new instances
 * health-gated behind the host's router, then the old ones drained and stopped, so a host never
 * stops serving). A batch holds at most `parallel` hosts and at most `maxUnavailableHosts`: a host
 * being rolled is the one that may fail, and a failure must never take more hosts than that out.
 *
 * A host that fails (unreachable, its agent gone, its new instances unhealthy) stops the rollout:
 * no later batch starts, hosts already rolled are rolled back to the previous release, and the
 * error names the host. It never ends in success with a host left behind. Rolling is idempotent
 * per host (a host already serving the release healthy answers `already`), so the next deploy or
 * `slipway retry` resumes where this one stopped.
 */
import { SlipwayError } from '../core/errors.js';
import { eachHost } from './fleet-target.js';
import type { FleetMember } from './fleet-runtime.js';
import type { HostLayout } from './host-layout.js';
import type { RollRequest, RollResult } from './agent/protocol.js';
import { shipRelease, type ReleasePlan, type ShipResult } from './ship.js';

export interface FleetRolloutInput {
  members: FleetMember[];
  layout: HostLayout;
  parallel: number;
  maxUnavailableHosts: number;
  /** The release to roll out: its shipping plan (none for an image: each host pulls it in its roll) and each host's roll. */
  to: { plan?: ReleasePlan; roll: (m: FleetMember) => RollRequest };
  /** The release serving before, to roll hosts back to on failure (none on a first deploy). */
  from?: { roll: (m: FleetMember) => RollRequest };
  /**
   * Asked before every batch after the first: a reason (`aborted by alice: …`) stops the rollout
   * there; the hosts already rolled go back to `from` and rollFleet throws FLEET_ROLLOUT_ABORTED.
   */
  stopRequested?: () => Promise<string | undefined>;
  /** Progress, one line per step and host, for the rollout's events. */
  note: (message: string, data: Record<string, unknown>) => void;
  /**
   * A load balancer in front of the hosts (HAProxy): `take` takes a batch's hosts out of it and
   * drains them before they are rolled; `give` puts hosts back, serving `release`. A failed host
   * stays out.
   */
  balancer?: {
    take: (hosts: FleetMember[]) => Promise<void>;
    give: (hosts: FleetMember[], release: number) => Promise<void>;
  };
  /** Ship to every host and stop there (a canary or blue-green then starts the release itself: controller/fleet-progressive.ts). */
  shipOnly?: boolean;
}

export interface HostOutcome {
  host: string;
  shipped?: ShipResult['outcome'];
  rolled?: RollResult['outcome'];
  rolledBack?: boolean;
  ms: number;
  /** Recreate (fleet-recreate.ts): from the host's old instances stopped to its new ones serving. */
  downMs?: number;
}

/**
 * One change of the load balancer, timed as a `haproxy` progress note in the phase it belongs to
 * (hosts taken out and drained: drain; put back: switch), beside the hosts' own roll phases.
 */
async function timedBalancer(input: FleetRolloutInput, what: string, phase: 'switchMs' | 'drainMs', change: () => Promise<void>) {
  const t0 = Date.now();
  await change();
  const ms = Date.now() - t0;
  input.note(`HAProxy: ${what}`, { step: 'haproxy', ms, phases: { [phase]: ms } });
}

/** Host `m`'s agent rolls to `req` (agent.ts `roll`), given the roll's own deadline and stop time plus a margin for the link. */
export function rollOn(m: FleetMember, req: RollRequest): Promise<RollResult> {
  return m.agent.call({ op: 'roll', roll: req }, req.deadlineMs + req.stopTimeoutMs + 30_000);
}

/** The data of host `m`'s `roll` progress note (rollout events, docs/servers.md); `more`: what a strategy adds. */
export function rollNote(m: FleetMember, r: RollResult, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: m.name,
    step: 'roll',
    outcome: r.outcome,
    started: r.started,
    retired: r.retired,
    ms: r.durationMs,
    ...more,
    ...(r.phases ? { phases: r.phases } : {}),
  };
}

/** Hosts rolled at once: `parallel`, but never more than may be unavailable (at least one). */
export function batchSize(parallel: number, maxUnavailableHosts: number): number {
  return Math.max(1, Math.min(parallel, maxUnavailableHosts));
}

/** Rolls the release out to every host; throws FLEET_HOST_FAILED naming the first host that failed. */
export async function rollFleet(input: FleetRolloutInput): Promise<HostOutcome[]> {
  const { members, layout, note } = input;
  const outcomes = new Map<string, HostOutcome>(members.map((m) => [m.name, { host: m.name, ms: 0 }]));
  const plan = input.to.plan;
  const known = new Map(plan ? [[plan.digest, plan]] : []);
  // 1. Every host ready before anything switches: the release shipped (an image is pulled by each
  // host's agent in its roll instead), and the host's agent this Slipway's version (an upgrade
  // adopts the instances: ADR 0026).
  const shipped = await eachHost(members, input.parallel, async (m) => {
    if (plan) {
      const remote = await m.remote();
      // What shipping needs of the layout (idempotent; `hosts setup` made it, unless this is a new host).
      const made = await remote.run(['mkdir', '-p', ...layout.directories], { check: false });
      if (made.code !== 0)
        throw SlipwayError.of(
          'SSH_COMMAND_FAILED',
          `cannot create the host layout below ${layout.root} on ${m.name}: ${made.stderr.trim()}`,
          {
            hint: 'Run slipway hosts setup for this environment (it creates the layout, with sudo when it may).',
          },
        );
      const r = await shipRelease(remote, layout, plan, { known });
      outcomes.get(m.name)!.shipped = r.outcome;
      note(`${m.name}: release ${r.outcome === 'present' ? 'already there' : `shipped (${r.filesSent} file(s))`}`, {
        host: m.name,
        step: 'ship',
        outcome: r.outcome,
        filesSent: r.filesSent,
        ms: r.ms,
      });
    }
    const t0 = Date.now();
    const agent = await m.agent.ensureCurrent();
    // Timed like the ship: with several hosts at once or one after another it is part of every rollout's time.
    if (agent)
      note(`${m.name}: agent ${agent.outcome}${agent.replaced ? ` (replaced pid ${agent.replaced})` : ''}`, {
        host: m.name,
        step: 'agent',
        outcome: agent.outcome,
        ms: Date.now() - t0,
      });
  });
  const notShipped = shipped.flatMap((r, i) => (r.status === 'rejected' ? [{ m: members[i]!, err: r.reason as unknown }] : []));
  if (notShipped.length) throw hostFailed(notShipped[0]!.m.name, 'shipping the release', notShipped[0]!.err, notShipped.length - 1, []);
  if (input.shipOnly) return [...outcomes.values()];

  // 2. Roll in batches.
  const size = batchSize(input.parallel, input.maxUnavailableHosts);
  const rolled: FleetMember[] = [];
  for (let i = 0; i < members.length; i += size) {
    const batch = members.slice(i, i + size);
    const stop = i > 0 ? await input.stopRequested?.() : undefined;
    if (stop !== undefined) {
      const back = await rollBack(input, rolled, outcomes);
      throw SlipwayError.of(
        'FLEET_ROLLOUT_ABORTED',
        `${stop}: no batch started after ${rolled.length} of ${members.length} host(s)${back.length ? `; rolled back on ${back.join(', ')}` : ''}`,
        {
          hint: 'Every host serves the previous release. Deploy again, or run slipway retry, to roll the release out.',
          details: { rolledBack: back, hosts: members.length },
        },
      );
    }
    if (input.balancer)
      await timedBalancer(input, `${batch.map((m) => m.name).join(', ')} out and drained`, 'drainMs', () => input.balancer!.take(batch));
    const results = await Promise.allSettled(
      batch.map(async (m) => {
        const t0 = Date.now();
        const req = input.to.roll(m);
        const r = await rollOn(m, req);
        const o = outcomes.get(m.name)!;
        o.rolled = r.outcome;
        o.ms = Date.now() - t0;
        note(`${m.name}: ${r.outcome === 'already' ? 'already serving' : 'now serving'} release ${req.release}`, rollNote(m, r));
        return m;
      }),
    );
    const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    rolled.push(...done);
    if (input.balancer)
      await timedBalancer(input, `${done.map((m) => m.name).join(', ') || 'no host'} back in`, 'switchMs', () =>
        input.balancer!.give(done, input.to.roll(batch[0]!).release),
      );
    const failed = results.flatMap((r, j) => (r.status === 'rejected' ? [{ m: batch[j]!, err: r.reason as unknown }] : []));
    if (failed.length === 0) continue;
    const back = await rollBack(input, rolled, outcomes);
    throw hostFailed(
      failed[0]!.m.name,
      `rolling it to release ${input.to.roll(failed[0]!.m).release}`,
      failed[0]!.err,
      failed.length - 1,
      back,
    );
  }
  return [...outcomes.values()];
}

/**
 * Brings these hosts back to the previous release (when there is one), after a host failed or an
 * abort: the hosts already rolled, or (recreate) the hosts that stopped it. Returns those it did; a
 * host it could not is noted (`doing` words what failed) and left to the fleet's reconcile.
 */
export async function rollBack(
  input: FleetRolloutInput,
  hosts: FleetMember[],
  outcomes: Map<string, HostOutcome>,
  doing = 'rolling back',
): Promise<string[]> {
  const from = input.from;
  if (!from || !hosts.length) return [];
  const back = new Set<string>();
  const results = await eachHost(hosts, input.parallel, async (m) => {
    await rollOn(m, from.roll(m));
    outcomes.get(m.name)!.rolledBack = true;
    back.add(m.name);
  });
  results.forEach((u, j) => {
    if (u.status === 'rejected')
      input.note(`${hosts[j]!.name}: ${doing} failed: ${SlipwayError.from(u.reason).message}`, { host: hosts[j]!.name, step: 'rollback' });
  });
  // Each host's roll back kept it serving; the balancer now counts it under the previous release.
  const backMembers = hosts.filter((m) => back.has(m.name));
  if (backMembers.length) await input.balancer?.give(backMembers, from.roll(backMembers[0]!).release);
  return backMembers.map((m) => m.name);
}

export function hostFailed(host: string, doing: string, err: unknown, others: number, rolledBack: string[]): SlipwayError {
  const e = SlipwayError.from(err);
  const more = others > 0 ? ` (and ${others} more host(s))` : '';
  const back = rolledBack.length ? `; rolled back on ${rolledBack.join(', ')}` : '';
  return SlipwayError.of('FLEET_HOST_FAILED', `host ${host} failed while ${doing}${more}: ${e.code}: ${e.message.split('\n')[0]}${back}`, {
    hint:
      e.code === 'FLEET_ROLL_FAILED'
        ? `The other hosts keep serving the previous release. ${e.hint ?? ''}`.trim()
        : `The other hosts keep serving the previous release. Bring ${host} back (slipway hosts check), then deploy again or run slipway retry.`,
    details: { host, code: e.code, rolledBack },
    cause: err,
  });
}
