/**
 * People's commands on a rollout in progress: promote, pause, resume, abort, retry. Each is
 * recorded durably on the rollout (under the service's lock, so the loop never overwrites it)
 * and acted on by the engine at the next tick; they are safe at any moment, also across a
 * controller restart.
 */
import { SlipwayError } from '../core/errors.js';
import type { Rollout } from '../store/types.js';
import type { RolloutProgress, RolloutRequests } from '../rollout/types.js';
import type { Controller } from './controller.js';
import { beginRollout } from './deploys.js';
import { checkGates } from './gates.js';

async function request(c: Controller, service: string, change: (r: RolloutRequests) => RolloutRequests, what: string): Promise<Rollout> {
  return c.withLock(service, async () => {
    const rollout = await c.store.activeRollout(c.environment, service);
    if (!rollout) {
      throw SlipwayError.of('NO_ACTIVE_ROLLOUT', `${service} has no rollout in progress to ${what}`, {
        hint: `See its state with: slipway status ${service}`,
      });
    }
    const progress = rollout.progress as RolloutProgress;
    // Promote, pause and resume mean nothing before the rollout starts: say what does.
    if (progress.approval?.state === 'pending' && what !== 'abort')
      throw SlipwayError.of('ROLLOUT_AWAITING_APPROVAL', `rollout #${rollout.id} of ${service} has not started: it waits for approval`, {
        hint: `Approve it with \`${progress.approval.command}\`, or reject it with \`slipway reject ${rollout.id} --comment "…"\`.`,
        details: { rolloutId: rollout.id },
      });
    const requests = change({ ...(progress.requests ?? {}) });
    const updated = await c.store.updateRollout(rollout.id, { progress: { ...progress, requests } }, c.clock.now());
    await c.event(service, rollout.id, `rollout.${what}`, `${what} requested for rollout #${rollout.id}`, { requests });
    c.wake();
    return updated;
  });
}

export const promote = (c: Controller, service: string, full: boolean) =>
  request(
    c,
    service,
    (r) => {
      delete r.pause;
      return { ...r, promote: full ? 'full' : 'step' };
    },
    full ? 'promote-full' : 'promote',
  );

export const pause = (c: Controller, service: string) => request(c, service, (r) => ({ ...r, pause: true }), 'pause');

export const resume = (c: Controller, service: string) =>
  request(
    c,
    service,
    (r) => {
      delete r.pause;
      return r;
    },
    'resume',
  );

export const abort = (c: Controller, service: string, by: string, reason: string) =>
  request(c, service, (r) => ({ ...r, abort: { by, reason } }), 'abort');

/** Starts the last rolled-back or failed release again, from its first step. */
export async function retry(c: Controller, service: string, by: string): Promise<Rollout> {
  const [last] = await c.store.listRollouts(c.environment, service, 1);
  if (!last || (last.phase !== 'RolledBack' && last.phase !== 'Failed') || last.kind !== 'deploy') {
    throw SlipwayError.of(
      'NOTHING_TO_RETRY',
      `the last rollout of ${service} ${last ? `is ${last.phase}` : 'does not exist'}; only a rolled-back or failed deploy can be retried`,
      {
        hint: `See: slipway history ${service}`,
      },
    );
  }
  // A retry deploys again: the environment's windows apply (and its approval, in beginRollout),
  // as slipway.yaml says now when it can be read.
  try {
    c.loadConfig();
  } catch (err) {
    c.log.warn(`retry ${service}: slipway.yaml not reloaded, using the last valid one: ${(err as Error).message.split('\n')[0]}`);
  }
  await checkGates(c, { environment: c.environment, service, by });
  const current = await c.store.getCurrentRelease(c.environment, service);
  return beginRollout(c, service, 'deploy', current, last.toRelease, `retry of rollout #${last.id} by ${by}`);
}
