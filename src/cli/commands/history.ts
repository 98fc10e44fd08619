import { ControllerClient } from '../../client/client.js';
import type { CliCommand } from '../context.js';
import { wholeNumber } from '../flags.js';
import { renderHistory } from '../render/history.js';

export const history: CliCommand<{ limit: number }> = {
  name: 'history',
  summary: 'Releases and rollouts of a service, newest first',
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.option('-n, --limit <count>', 'how many releases and rollouts to show', wholeNumber(1, '20'), 20);
  },
  examples: ['slipway history web', 'slipway history web --limit 5 --json'],
  async run({ dir, env, out, json }, [service], flags) {
    const res = await ControllerClient.connect(dir, env).history(service!, flags.limit);
    if (json) {
      out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    for (const line of renderHistory(res, out)) out.out(line);
    return 0;
  },
};
