/**
 * How a rollout's new release fails, in words with the evidence: a crash loop (at once) or a
 * deadline passed without every instance healthy. Pure; used by every strategy.
 */
import { formatDuration } from '../core/duration.js';
import type { ObservedInstance, RolloutRequests } from './types.js';

export interface Failure {
  reason: string;
  message: string;
  /** The analysis check whose failure this is (its `onFailure` applies). */
  check?: string;
}

/** A target instance crash-looping fails the rollout at once; otherwise the progress deadline does. */
export function detectFailure(release: number, instances: ObservedInstance[], elapsedMs: number, deadlineMs: number): Failure | undefined {
  const mine = instances.filter((i) => i.release === release && !i.retiring);
  const crashed = mine.find((i) => i.state === 'failed');
  if (crashed) {
    const exit = crashed.lastExit;
    const how = exit
      ? exit.code !== null
        ? `exit code ${exit.code}`
        : exit.signal
          ? `signal ${exit.signal}`
          : 'unknown exit'
      : 'unknown exit';
    return {
      reason: 'CrashLoop',
      message: `release ${release} crash-loops: instance ${crashed.id} exited ${crashed.restarts + 1} times in a row (last: ${how})${tail(crashed)}`,
    };
  }
  if (elapsedMs > deadlineMs) {
    const stuck = mine.filter((i) => !(i.state === 'running' && i.healthy));
    const worst = stuck[0];
    const detail = worst
      ? `: instance ${worst.id} is ${worst.state === 'running' ? 'not healthy' : worst.state}${worst.lastProbe ? ` (last probe: ${worst.lastProbe})` : ' (no probe answered)'}${tail(worst)}`
      : '';
    return {
      reason: 'ProgressDeadlineExceeded',
      message: `release ${release} did not become healthy within ${formatDuration(deadlineMs)}${detail}`,
    };
  }
  return undefined;
}

/** A crash loop of the new release, if there is one (no deadline involved). */
export function crashLoop(release: number, instances: ObservedInstance[]): Failure | undefined {
  return detectFailure(release, instances, 0, Infinity);
}

/** The failure of a step (or stage) whose instances did not all turn healthy by its deadline. */
export function missedDeadline(release: number, instances: ObservedInstance[], deadlineMs: number): Failure {
  return detectFailure(release, instances, Infinity, deadlineMs)!;
}

/**
 * Why an abort request ends the rollout: the failure the controller attached to it (the router
 * refused the route), else "aborted by alice: reason" in the same words for every strategy.
 */
export function abortFailure(
  abort: NonNullable<RolloutRequests['abort']>,
  as: { reason: string; verb: string } = { reason: 'Aborted', verb: 'aborted' },
): Failure {
  return abort.failure ?? { reason: as.reason, message: `${as.verb} by ${abort.by}${abort.reason ? `: ${abort.reason}` : ''}` };
}

/** "release 3 serves all traffic on 2 healthy instance(s)": how every strategy says it is done. */
export function servesAllTraffic(release: number, instances: number): string {
  return `release ${release} serves all traffic on ${instances} healthy instance(s)`;
}

function tail(i: ObservedInstance): string {
  const lines = (i.logTail ?? []).slice(-10);
  return lines.length ? `; last log lines:\n  ${lines.join('\n  ')}` : '';
}
