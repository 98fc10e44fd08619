import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { messageFlag, waitFlags, wholeNumber } from '../flags.js';
import { followRollout } from '../follow-rollout.js';

/** Kept equal to MAX_INSTANCES of controller/maintenance.ts (not imported: the CLI does not load the controller). */
const MAX = 100;

export const scale: CliCommand<{ message?: string; wait: boolean }> = {
  name: 'scale',
  summary: 'Change how many instances the serving release runs, without a new release (until the next up or deploy)',
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.argument('<instances>', `instance count, 0 to ${MAX}`, wholeNumber(0, '3', MAX));
    messageFlag(cmd, 'why, recorded with the change in history');
    waitFlags(cmd, true);
  },
  examples: [
    'slipway scale web 4 --wait          # start 2 more (of 2); wait until 4 are healthy (the default)',
    'slipway scale web 1 --no-wait       # drain and stop the extra ones; return at once',
    'slipway scale web 0 -m "maintenance" --json  # stop every instance; the result as JSON',
  ],
  async run({ dir, env, out, json }, [service, count], flags) {
    const name = terminalLine(service);
    const instances = Number(count);
    const client = ControllerClient.connect(dir, env);
    const res = await client.scale(service!, { instances, message: flags.message });
    // The count lasts until the serving release changes or `slipway up` makes slipway.yaml true again: say so.
    const lasting =
      instances === res.configured
        ? `${name}: back to slipway.yaml's count (${res.configured})`
        : `${name}: slipway.yaml says ${res.configured}; the next \`slipway up\` or deploy goes back to ${res.configured}${instances > 0 ? ` (set instances: ${instances} in slipway.yaml to keep it)` : ''}`;
    if (!res.rollout) {
      if (json) {
        out.out(JSON.stringify(res, null, 2));
        return 0;
      }
      out.out(`${name}: release ${res.release} already runs ${instances} instance(s), nothing to do`);
      out.out(lasting);
      return 0;
    }
    if (!json) {
      out.out(`${name}: scaling release ${res.release} from ${res.was} to ${instances} instance(s), rollout #${res.rollout.id}`);
      out.out(lasting);
    }
    if (!flags.wait) {
      if (json) out.out(JSON.stringify(res, null, 2));
      else out.out(`Follow it with: slipway status ${name}`);
      return 0;
    }
    const { code, last } = await followRollout(client, res.rollout.id, out, { json });
    if (json) out.out(JSON.stringify({ ...res, rollout: last.rollout }, null, 2));
    return code;
  },
};
