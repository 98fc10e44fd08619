import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { messageFlag, waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';

export const restart: CliCommand<{ message?: string; wait: boolean }> = {
  name: 'restart',
  summary: 'Replace every instance of the serving release with a new one (same release), with no downtime',
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    messageFlag(cmd, 'why, recorded with the restart in history');
    waitFlags(cmd, true);
  },
  examples: [
    'slipway restart web                      # new instances first, old ones drained; waits until done (--wait)',
    'slipway restart web --no-wait -m "leak"  # start it and return; follow with slipway status web',
    'slipway restart web --wait --json        # the finished rollout as JSON',
  ],
  async run({ dir, env, out, json }, [service], flags) {
    const name = terminalLine(service);
    const client = ControllerClient.connect(dir, env);
    const rollout = await client.restart(service!, { message: flags.message });
    if (!json)
      out.out(
        `${name}: restarting release ${rollout.toRelease}, rollout #${rollout.id}${flags.wait ? '' : `; follow it with: slipway status ${name}`}`,
      );
    if (!flags.wait) {
      if (json) out.out(JSON.stringify(rollout, null, 2));
      return 0;
    }
    const { code, last } = await followRollout(client, rollout.id, out, { json });
    if (json) out.out(JSON.stringify(last.rollout, null, 2));
    return code;
  },
};
