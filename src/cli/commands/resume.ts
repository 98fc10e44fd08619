import { ControllerClient } from '../../client/client.js';
import type { CliCommand } from '../context.js';
import { waitFlags } from '../flags.js';
import { steer } from './steer.js';

export const resume: CliCommand<{ wait: boolean }> = {
  name: 'resume',
  summary: 'Let a paused rollout go on',
  declare(cmd) {
    cmd.argument('<service>', 'service whose paused rollout to let go on');
    waitFlags(cmd, false);
  },
  examples: ['slipway resume web --no-wait  # and return (the default)', 'slipway resume web --wait     # and follow it to the end'],
  async run(ctx, [service], flags) {
    const client = ControllerClient.connect(ctx.dir, ctx.env);
    return steer(ctx, 'resume', service!, flags.wait, client, await client.resume(service!));
  },
};
