import { ControllerClient } from '../../client/client.js';
import { currentUser } from '../../core/user.js';
import type { CliCommand } from '../context.js';
import { waitFlags } from '../flags.js';
import { steer } from './steer.js';

export const retry: CliCommand<{ wait: boolean }> = {
  name: 'retry',
  summary: 'Start an aborted or rolled-back release again from its first step',
  declare(cmd) {
    cmd.argument('<service>', 'service whose last release to roll out again');
    waitFlags(cmd, false);
  },
  examples: ['slipway retry web --wait    # and follow it to the end', 'slipway retry web --no-wait # start it and return (the default)'],
  async run(ctx, [service], flags) {
    const client = ControllerClient.connect(ctx.dir, ctx.env);
    return steer(ctx, 'retry', service!, flags.wait, client, await client.retry(service!, currentUser()));
  },
};
