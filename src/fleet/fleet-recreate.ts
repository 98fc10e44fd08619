/**
 * `strategy: recreate` across a fleet's hosts (docs/servers.md): two releases never run at once,
 * anywhere on the fleet. Users choose it when that matters more than serving (a schema migration,
 * a singleton consumer, a licence, memory), so it is downtime by design: first every host's
 * instances of the service are drained and stopped (at most `parallel` hosts at once), and only
 * when every host confirmed it the new release starts on every host (each host's agent `roll`:
 * health-gated, then routed). `maxUnavailableHosts` does not bound it: every host is down anyway.
 *
 * A host that fails to start the new release stops the rollout (FLEET_HOST_FAILED naming it, as a
 * rolling host failure): no further host starts it, the new release is stopped on every host, and
 * then the previous one is started again on every host (a recreate back). A host that cannot
 * confirm the new release stopped (cut off: its agent may finish starting it alone) breaks the
 * promise until it is back; the error names it.
 */
import { SlipwayError } from '../core/errors.js';
import { eachHost } from './fleet-target.js';
import type { FleetMember } from './fleet-runtime.js';
import type { RollRequest } from './agent/protocol.js';
import { hostFailed, rollBack, rollNote, rollOn, type FleetRolloutInput, type HostOutcome } from './fleet-rollout.js';

/**
 * Stops then starts, on every host; `shipped` is rollFleet's answer with `shipOnly` (the release on
 * every host, every agent current). Throws FLEET_HOST_FAILED naming the first host that failed.
 */
export async function recreateFleet(input: FleetRolloutInput, shipped: HostOutcome[]): Promise<HostOutcome[]> {
  const { members, note } = input;
  const outcomes = new Map(shipped.map((o) => [o.host, { ...o }]));
  const release = input.to.roll(members[0]!).release;
  await input.balancer?.take(members);
  // 1. Every host stops the service (whatever release it runs): drained, then stopped.
  const stoppedAt = new Map<string, number>();
  const stops = await eachHost(members, input.parallel, async (m) => {
    const r = await stopOnHost(m, input.to.roll(m));
    stoppedAt.set(m.name, Date.now());
    note(`${m.name}: stopped (${r.retired.length} instance(s)) before release ${release} starts anywhere: down by design (recreate)`, {
      host: m.name,
      step: 'stop',
      retired: r.retired,
      ms: r.durationMs,
    });
  });
  const notStopped = failures(members, stops);
  if (notStopped.length) {
    // Those hosts still run the previous release: put it back on the hosts that stopped it.
    const stopped = members.filter((m) => stoppedAt.has(m.name));
    const back = await rollBack(input, stopped, outcomes, START_AGAIN);
    const f = notStopped[0]!;
    throw failedOn(f.m.name, 'stopping the previous release (recreate)', f.err, notStopped.length - 1, back);
  }
  const stop = await input.stopRequested?.();
  if (stop !== undefined) {
    const back = await rollBack(input, members, outcomes, START_AGAIN);
    throw SlipwayError.of(
      'FLEET_ROLLOUT_ABORTED',
      `${stop}: release ${release} was not started on any host${back.length ? `; the previous release started again on ${back.join(', ')}` : ''}`,
      {
        hint: 'Deploy again, or run slipway retry, to recreate the release.',
        details: { rolledBack: back, hosts: members.length },
      },
    );
  }

  // 2. Every host starts the new release; the first failure stops new starts.
  let failed = false;
  const starts = await eachHost(members, input.parallel, async (m) => {
    if (failed) throw SKIPPED;
    const req = input.to.roll(m);
    try {
      const r = await rollOn(m, req);
      const o = outcomes.get(m.name)!;
      o.rolled = r.outcome;
      o.ms = r.durationMs;
      o.downMs = Date.now() - stoppedAt.get(m.name)!;
      note(`${m.name}: now serving release ${req.release} (down ${o.downMs} ms by design: recreate)`, rollNote(m, r, { downMs: o.downMs }));
    } catch (err) {
      failed = true;
      throw err;
    }
  });
  const notStarted = failures(members, starts).filter((f) => f.err !== SKIPPED);
  const done = members.filter((_, i) => starts[i]!.status === 'fulfilled');
  if (!notStarted.length) {
    await input.balancer?.give(done, release);
    return [...outcomes.values()];
  }
  // 3. Undo: the new release stops everywhere first, then the previous one starts everywhere.
  const undo = await eachHost(members, input.parallel, (m) => stopOnHost(m, input.to.roll(m)));
  const unconfirmed = failures(members, undo).map((f) => f.m);
  const first = notStarted[0]!;
  // A host that cannot confirm (cut off) may go on to run the new release: the others still get the
  // previous one back (the fleet's reconcile would do it a tick later anyway: fleet-heal.ts), and
  // the error says that the promise is broken until that host is back.
  const back = await rollBack(
    input,
    members.filter((m) => !unconfirmed.includes(m)),
    outcomes,
    START_AGAIN,
  );
  throw failedOn(first.m.name, `starting release ${release} (recreate)`, first.err, notStarted.length - 1, back, {
    hosts: unconfirmed.map((m) => m.name),
    release,
  });
}

/**
 * FLEET_HOST_FAILED as a rolling failure says it (fleet-rollout.ts), with what recreate leaves:
 * the previous release started again on `back`, and hosts that could not confirm the new one stopped.
 */
function failedOn(
  host: string,
  doing: string,
  err: unknown,
  others: number,
  back: string[],
  unconfirmed?: { hosts: string[]; release: number },
): SlipwayError {
  const e = hostFailed(host, doing, err, others, back);
  const cause = SlipwayError.from(err);
  const fix =
    cause.code === 'FLEET_ROLL_FAILED'
      ? (cause.hint ?? 'Fix the release, then deploy again.')
      : `Bring ${host} back (slipway hosts check), then deploy again or run slipway retry.`;
  const where = back.length ? `The previous release serves again on ${back.join(', ')} (the service was down meanwhile: recreate).` : '';
  const lost = unconfirmed?.hosts.length
    ? `; ${unconfirmed.hosts.join(', ')} could not confirm release ${unconfirmed.release} stopped and may run it beside the previous release until it is back (then it is brought to the previous release)`
    : '';
  return SlipwayError.of('FLEET_HOST_FAILED', `${e.message}${lost}`, { hint: `${where} ${fix}`.trim(), details: e.details, cause: err });
}

const SKIPPED = new Error('not started: another host failed first');
/** How a host's failed roll back reads in recreate's progress notes: it had nothing running. */
const START_AGAIN = 'starting the previous release again';

function failures(members: FleetMember[], results: PromiseSettledResult<unknown>[]): { m: FleetMember; err: unknown }[] {
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ m: members[i]!, err: r.reason as unknown }] : []));
}

/**
 * Drains and stops every instance of the service on the host: a `split` to no release (the route
 * keeps its listener and names no instance, so requests get 503 meanwhile: the downtime recreate
 * means). No new agent request: every agent that splits can do it.
 */
function stopOnHost(m: FleetMember, req: RollRequest) {
  return m.agent.call(
    {
      op: 'split',
      split: {
        service: req.service,
        listen: req.listen,
        releases: [],
        health: req.health,
        deadlineMs: req.deadlineMs,
        stopTimeoutMs: req.stopTimeoutMs,
        idSuffix: req.idSuffix,
      },
    },
    req.stopTimeoutMs + 30_000,
  );
}
