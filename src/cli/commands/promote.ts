import type { PromoteRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import type { CliCommand } from '../context.js';
import { waitFlags } from '../flags.js';
import { steer } from './steer.js';

export const promote: CliCommand<{ full?: boolean; wait: boolean }> = {
  name: 'promote',
  summary: 'Move a canary or blue-green rollout on to its next step (--full: straight to 100%)',
  declare(cmd) {
    cmd.argument('<service>', 'service whose rollout to move on');
    cmd.option('--full', 'skip the remaining steps and analysis: straight to 100%');
    waitFlags(cmd, false);
  },
  examples: [
    'slipway promote web            # past the current pause or step',
    'slipway promote web --full --wait  # to 100% now, and follow it to the end',
    'slipway promote web --no-wait  # ask and return (the default)',
  ],
  async run(ctx, [service], flags) {
    const req: PromoteRequest = { full: flags.full === true };
    const client = ControllerClient.connect(ctx.dir, ctx.env);
    return steer(ctx, 'promote', service!, flags.wait, client, await client.promote(service!, req.full === true));
  },
};
