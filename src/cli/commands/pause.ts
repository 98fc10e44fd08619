import { ControllerClient } from '../../client/client.js';
import type { CliCommand } from '../context.js';
import { steer } from './steer.js';

export const pause: CliCommand = {
  name: 'pause',
  summary: 'Hold a rollout at its current step and weights',
  declare(cmd) {
    cmd.argument('<service>', 'service whose rollout to hold');
  },
  examples: ['slipway pause web     # holds it; slipway resume web lets it go on'],
  async run(ctx, [service]) {
    const client = ControllerClient.connect(ctx.dir, ctx.env);
    return steer(ctx, 'pause', service!, false, client, await client.pause(service!));
  },
};
