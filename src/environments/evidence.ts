/**
 * What it means for a release to have succeeded in an environment: a deploy or rollback rollout
 * to it ended Healthy there, and no rollback has taken it out of service since. The evidence
 * names that release, its digest, the rollout, when, and who approved it there (when that
 * environment requires approval).
 */
import type { Controller } from '../controller/controller.js';
import type { PromotionEvidence, Release, Rollout } from '../store/types.js';
import type { RolloutProgress } from '../rollout/types.js';

/** The release of `service` in `env` (by number, or the newest with `digest`) if it succeeded there. */
export async function succeededIn(
  env: Controller,
  service: string,
  which: { release?: number; digest?: string },
): Promise<PromotionEvidence | undefined> {
  const releases = await env.store.listReleases(env.environment, service);
  const candidates = releases.filter(
    (r) => (which.release === undefined || r.number === which.release) && (which.digest === undefined || r.digest === which.digest),
  );
  const rollouts = await env.store.listRollouts(env.environment, service, 1000);
  for (const r of candidates) {
    if (!succeeded(r)) continue;
    // Newest first: the latest rollout that proved it, unless someone rolled back away from it since.
    const proof = rollouts.find(
      (o) => o.toRelease === r.number && (o.kind === 'deploy' || o.kind === 'rollback') && o.phase === 'Healthy' && o.finishedAt !== null,
    );
    if (!proof || rolledBackAfter(rollouts, r.number, proof.id)) continue;
    // Who let it through there, when that environment asks for approval (rollout/approval.ts).
    const approval = (proof.progress as RolloutProgress).approval;
    return {
      environment: env.environment,
      release: r.number,
      digest: r.digest,
      succeededAt: proof.finishedAt!,
      rolloutId: proof.id,
      checks: approval?.state === 'approved' ? [`approved in ${env.environment} by ${approval.by}: ${approval.comment ?? ''}`.trim()] : [],
    };
  }
  return undefined;
}

/**
 * The rollback that took `release` out of service after rollout `sinceId` proved it, if any: a
 * person (or a policy) judged it bad there, so it proves nothing until it is deployed there again.
 */
export function rolledBackAfter(rollouts: Rollout[], release: number, sinceId: number): Rollout | undefined {
  return rollouts.find((o) => o.id > sinceId && o.kind === 'rollback' && o.fromRelease === release && o.phase === 'Healthy');
}

/** live: serving now; superseded: served, then replaced. Pending, failed and rolled-back releases have proved nothing. */
function succeeded(r: Release): boolean {
  return r.outcome === 'live' || r.outcome === 'superseded';
}
