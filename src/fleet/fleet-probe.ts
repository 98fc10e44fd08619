/**
 * An analysis `http:` check of a fleet release's instances (a canary's: ADR 0026, "HTTP checks of
 * a canary"): they listen on each host's loopback, so each host's agent probes its own (`probe`)
 * and the controller judges every answer together, as the HTTP provider judges local instances.
 * A host that cannot be asked, or that runs none of the release's instances, fails the
 * measurement (a provider error, never a pass), as a host whose router counters cannot be read
 * does (fleet-stats.ts): a canary must not pass on the hosts that happened to answer.
 */
import { ProviderError, type InstanceProbeRequest, type InstanceProbeResult } from '../analysis/provider.js';
import { SlipwayError } from '../core/errors.js';
import type { FleetMember } from './fleet-runtime.js';

/** What asking a host may add to its probes' own timeout. */
const HOST_MARGIN_MS = 3000;

export async function fleetProbe(
  members: FleetMember[],
  unit: string,
  release: number,
  req: InstanceProbeRequest,
): Promise<InstanceProbeResult[]> {
  const deadlineMs = req.timeoutMs + HOST_MARGIN_MS;
  const asked = await Promise.allSettled(
    members.map((m) => withinDeadline(m.agent.call({ op: 'probe', probe: { service: unit, release, ...req } }, deadlineMs), deadlineMs)),
  );
  const problems = asked.flatMap((a, i) => {
    const host = members[i]!.name;
    if (a.status === 'rejected') {
      const e = SlipwayError.from(a.reason);
      return [`${host} could not be asked (${e.code}: ${e.message.split('\n')[0]})`];
    }
    return a.value.length === 0 ? [`${host} runs no instance of release ${release}`] : [];
  });
  if (problems.length)
    throw new ProviderError('http', `cannot probe every host's instances of ${unit} release ${release}: ${problems.join('; ')}`);
  return asked.flatMap((a, i) =>
    (a as PromiseFulfilledResult<{ id: string; ok: boolean; outcome: string }[]>).value.map((r) => ({
      where: `${members[i]!.name} ${r.id}`,
      ok: r.ok,
      outcome: r.outcome,
    })),
  );
}

/**
 * The call, or an error at the deadline: the call's own timeout starts once the host is connected,
 * and connecting to a cut-off host takes the SSH timeouts; the measurement must name the host
 * before the provider's own timeout ends it with no host named.
 */
function withinDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(SlipwayError.of('AGENT_UNAVAILABLE', `no answer within ${ms} ms`)), ms);
  });
  call.catch(() => {}); // settles after the deadline: nobody waits for it any more
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}
