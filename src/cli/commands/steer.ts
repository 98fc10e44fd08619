/** What promote, pause, resume, abort and retry share: ask the controller, then report or follow. */
import type { RolloutView } from '../../api/types.js';
import type { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CommandContext } from '../context.js';
import { followRollout } from '../follow-rollout.js';

export async function steer(
  ctx: CommandContext,
  verb: string,
  service: string,
  wait: boolean,
  client: ControllerClient,
  rollout: RolloutView,
): Promise<number> {
  const { out, json } = ctx;
  if (!wait) {
    if (json) out.out(JSON.stringify(rollout, null, 2));
    else
      out.out(
        `${terminalLine(service)}: ${verb} requested on rollout #${rollout.id} (release ${rollout.toRelease}, ${rollout.phase}); follow it with: slipway status ${terminalLine(service)}`,
      );
    return 0;
  }
  const { code, last } = await followRollout(client, rollout.id, out, { json });
  if (json) out.out(JSON.stringify(last.rollout, null, 2));
  return code;
}
