/**
 * `slipway approve` and `slipway reject`: a person's decision on a deploy waiting in
 * `AwaitingApproval`, recorded on the rollout (who, why, when) and as an event, under the
 * service's lock like every request from people. The engine acts on it at the next tick
 * (rollout/approval.ts): an approved rollout starts, a rejected one ends without touching anything.
 */
import { SlipwayError } from '../core/errors.js';
import type { Rollout } from '../store/types.js';
import type { RolloutProgress } from '../rollout/types.js';
import type { ApprovalRequest } from '../api/types.js';
import type { Controller } from './controller.js';

/**
 * Records the decision on the rollout `req.target` names: a rollout id, or a service (its rollout
 * waiting in the environment).
 * @throws SlipwayError ROLLOUT_NOT_FOUND, NOT_AWAITING_APPROVAL, APPROVAL_COMMENT_REQUIRED, ENVIRONMENT_NOT_FOUND
 */
export async function decide(c: Controller, req: ApprovalRequest): Promise<Rollout> {
  if ((req.verdict !== 'approve' && req.verdict !== 'reject') || typeof req.target !== 'string' || req.target === '')
    throw SlipwayError.of('BAD_JSON', 'an approval needs "target" (a rollout id or service) and "verdict" ("approve" or "reject")', {
      hint: 'Send { "target": "web", "verdict": "approve", "comment": "…" }.',
    });
  const environment = c.environment;
  const comment = (req.comment ?? '').trim();
  const verb = req.verdict === 'approve' ? 'approve' : 'reject';
  if (verb === 'reject' && !comment)
    throw SlipwayError.of('APPROVAL_COMMENT_REQUIRED', 'a rejection needs a comment saying why', {
      hint: `Give one: slipway reject ${req.target} --comment "…"`,
    });
  const target = await waitingRollout(c, environment, String(req.target));
  return c.withLock(target.service, async () => {
    const fresh = await c.store.getRollout(target.id);
    const progress = (fresh?.progress ?? {}) as RolloutProgress;
    if (!fresh || fresh.finishedAt !== null || progress.approval?.state !== 'pending') throw notWaiting(fresh ?? target, verb);
    const now = c.clock.now();
    const approval = {
      ...progress.approval,
      state: verb === 'approve' ? ('approved' as const) : ('rejected' as const),
      by: req.by ?? 'unknown',
      at: now,
      ...(comment ? { comment } : {}),
    };
    const updated = await c.store.updateRollout(fresh.id, { progress: { ...progress, approval } }, now);
    await c.event(
      fresh.service,
      fresh.id,
      verb === 'approve' ? 'rollout.approved' : 'rollout.rejected',
      `rollout #${fresh.id} of ${fresh.service} (release ${fresh.toRelease}) ${verb === 'approve' ? 'approved' : 'rejected'} by ${approval.by}${comment ? `: ${comment}` : ''}`,
      { environment, by: approval.by, comment: comment || null, release: fresh.toRelease },
    );
    c.log.info(`rollout #${fresh.id} of ${fresh.service}: ${verb}d by ${approval.by}`);
    c.wake();
    return updated;
  });
}

/** The rollout a target names: "12" is rollout #12, anything else a service whose rollout waits. */
async function waitingRollout(c: Controller, environment: string, target: string): Promise<Rollout> {
  if (/^\d+$/.test(target)) {
    const r = await c.store.getRollout(Number(target));
    if (!r || r.environment !== environment)
      throw SlipwayError.of('ROLLOUT_NOT_FOUND', `rollout #${target} does not exist in environment ${environment}`, {
        hint: 'See the waiting rollouts with: slipway status',
      });
    return r;
  }
  const r = await c.store.activeRollout(environment, target);
  if (!r) {
    const known = await c.services();
    if (!known.includes(target))
      throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${target}"`, { hint: `Services: ${known.join(', ') || 'none yet'}` });
    throw SlipwayError.of('NOT_AWAITING_APPROVAL', `${target} has no rollout waiting for approval in ${environment}`, {
      hint: `See where it stands with: slipway status ${target}`,
    });
  }
  return r;
}

function notWaiting(r: Rollout, verb: string): SlipwayError {
  const decided = (r.progress as RolloutProgress).approval;
  const why =
    decided && decided.state !== 'pending'
      ? `was already ${decided.state} by ${decided.by ?? 'someone'}`
      : r.finishedAt !== null
        ? `has ended (${r.phase})`
        : `is ${r.phase}, not waiting for approval`;
  return SlipwayError.of('NOT_AWAITING_APPROVAL', `rollout #${r.id} of ${r.service} ${why}; there is nothing to ${verb}`, {
    hint: `See where it stands with: slipway status ${r.service}`,
    details: { rolloutId: r.id, phase: r.phase },
  });
}
