import { readSecretValue } from '../read-secret.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import { resolveEnvironmentName } from '../../config/environments.js';
import type { CliCommand } from '../context.js';

export const secretsSet: CliCommand = {
  name: 'secrets set',
  summary: 'Set a secret of an environment from standard input (encrypted into slipway.secrets.yaml)',
  declare(cmd) {
    cmd.argument('<name>', 'the variable instances get, e.g. DATABASE_URL');
    cmd.argument('[value]', 'refused: the value is read from standard input, never taken as an argument');
  },
  examples: [
    'printf %s "$DATABASE_URL" | slipway secrets set DATABASE_URL --env production',
    'slipway secrets set API_KEY < api-key.txt    # one trailing newline is removed',
    'slipway secrets set API_KEY                  # from a terminal: typed without echo',
  ],
  async run({ dir, env, out, json }, [name, value]) {
    // Loaded here: age and the config schema are not needed to parse the command line.
    const { checkSecretName, openSecretsProject, setSecret } = await import('../../secrets/secrets-commands.js');
    if (value !== undefined) {
      // Never repeat the value: it is in this shell's history already.
      throw SlipwayError.of(
        'SECRET_VALUE_AS_ARGUMENT',
        `slipway secrets set takes the value of ${terminalLine(name!)} from standard input, not as an argument; nothing was changed`,
        {
          hint: `An argument stays in shell history and shows in \`ps\`: pipe it instead, printf %s "$VALUE" | slipway secrets set ${terminalLine(name!)}. Consider the value given here exposed (clear it from your history, or change it).`,
        },
      );
    }
    checkSecretName(name!);
    const p = openSecretsProject(dir);
    const environment = resolveEnvironmentName(p.config, env);
    const res = await setSecret(p, environment, name!, await readSecretValue(name!));
    if (json) {
      out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    if (res.keyCreated)
      out.err(
        `created the secrets key ${terminalLine(res.keyCreated)} (mode 0600): keep a copy somewhere safe; whoever deploys needs it (or SLIPWAY_SECRETS_KEY)`,
      );
    const users = res.usedBy.length
      ? `; deploy ${res.usedBy.join(', ')} to use it (slipway up)`
      : '; no service declares it yet (secrets: in slipway.yaml)';
    out.out(
      `${res.added ? 'added' : 'changed'} ${terminalLine(res.name)} in environment ${terminalLine(environment)} (${terminalLine(res.file)})${users}`,
    );
    return 0;
  },
};
