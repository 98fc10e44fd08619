/** Follows a rollout to its end, showing instances ready and traffic per release; returns the exit code. */
import type { ControllerClient } from '../client/client.js';
import type { RolloutResponse } from '../api/types.js';
import type { Output } from './output.js';
import { outcomeLines, progressLine } from './render/rollout.js';

/**
 * `success` is the phase the caller asked for: `Healthy` for a deploy, `RolledBack` when the
 * caller undid a rollout in progress (slipway rollback during a rollout).
 */
export async function followRollout(
  client: ControllerClient,
  id: number,
  out: Output,
  opts: { json: boolean; success?: 'Healthy' | 'RolledBack'; pollMs?: number },
): Promise<{ code: number; last: RolloutResponse }> {
  const success = opts.success ?? 'Healthy';
  let last: RolloutResponse;
  for (;;) {
    last = await client.rollout(id);
    if (!opts.json) out.progress(progressLine(last, out, { live: out.live }));
    if (last.rollout.finishedAt !== null) break;
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 200));
  }
  out.done();
  if (opts.json) return { code: last.rollout.phase === success ? 0 : 1, last };
  const outcome = outcomeLines(last, out, success);
  for (const line of outcome.lines) (outcome.ok ? out.out : out.err)(line);
  return { code: outcome.ok ? 0 : 1, last };
}
