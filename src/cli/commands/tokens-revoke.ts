import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';

export const tokensRevoke: CliCommand = {
  name: 'tokens revoke',
  summary: 'Revoke an API token by name or id: every request with it is refused from now on',
  declare(cmd) {
    cmd.argument('<name-or-id>', 'as `slipway tokens list` shows it');
  },
  examples: ['slipway tokens revoke ci', 'slipway tokens revoke 7 --json'],
  async run({ dir, out, json }, [target]) {
    const { token } = await ControllerClient.connect(dir).revokeToken(target!);
    if (json) out.out(JSON.stringify({ token }, null, 2));
    else out.out(`revoked token "${terminalLine(token.name)}" (#${token.id})`);
    return 0;
  },
};
