import type { AbortRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { currentUser } from '../../core/user.js';
import type { CliCommand } from '../context.js';
import { steer } from './steer.js';

export const abort: CliCommand<{ reason?: string }> = {
  name: 'abort',
  summary: 'Send all traffic back to the stable release and stop the new one',
  declare(cmd) {
    cmd.argument('<service>', 'service whose rollout to abort');
    cmd.option('--reason <text>', 'why, recorded with the rollout');
  },
  examples: ['slipway abort web --reason "errors in checkout"'],
  async run(ctx, [service], flags) {
    const req: AbortRequest = { by: currentUser(), reason: flags.reason ?? '' };
    const client = ControllerClient.connect(ctx.dir, ctx.env);
    return steer(ctx, 'abort', service!, false, client, await client.abort(service!, req));
  },
};
