import { terminalLine } from '../../core/terminal-text.js';
import { resolveEnvironmentName } from '../../config/environments.js';
import type { CliCommand } from '../context.js';

export const secretsRm: CliCommand = {
  name: 'secrets rm',
  summary: 'Remove a secret from an environment (running releases keep the value they were deployed with)',
  declare(cmd) {
    cmd.argument('<name>', 'the secret to remove');
  },
  examples: ['slipway secrets rm OLD_TOKEN --env production', 'slipway secrets rm OLD_TOKEN --json'],
  async run({ dir, env, out, json }, [name]) {
    // Loaded here: age and the config schema are not needed to parse the command line.
    const { openSecretsProject, removeSecret } = await import('../../secrets/secrets-commands.js');
    const p = openSecretsProject(dir);
    const res = removeSecret(p, resolveEnvironmentName(p.config, env), name!);
    if (json) {
      out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    out.out(`removed ${terminalLine(res.name)} from environment ${terminalLine(res.environment)} (${terminalLine(res.file)})`);
    if (res.usedBy.length)
      out.err(
        `${res.usedBy.join(', ')} still declare${res.usedBy.length === 1 ? 's' : ''} ${terminalLine(res.name)}: the next deploy is refused until it is set again or removed from secrets: in slipway.yaml`,
      );
    return 0;
  },
};
