import { terminalLine } from '../../core/terminal-text.js';
import { resolveEnvironmentName } from '../../config/environments.js';
import type { CliCommand } from '../context.js';
import { table } from '../output.js';
import { ago } from '../render/format.js';

export const secretsList: CliCommand = {
  name: 'secrets list',
  summary: 'Names of the secrets, when each changed and which services use it (never values; no key needed)',
  declare() {},
  examples: ['slipway secrets list', 'slipway secrets list --env production --json'],
  async run({ dir, env, out, json }) {
    // Loaded here: age and the config schema are not needed to parse the command line.
    const { listSecrets, openSecretsProject } = await import('../../secrets/secrets-commands.js');
    const p = openSecretsProject(dir);
    const res = listSecrets(p, env === undefined ? undefined : resolveEnvironmentName(p.config, env));
    if (json) {
      out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    if (!res.secrets.length) {
      out.out(`no secrets (${terminalLine(res.file)}); set one with: printf %s "$VALUE" | slipway secrets set NAME`);
      return 0;
    }
    out.out(
      table([
        ['ENVIRONMENT', 'NAME', 'CHANGED', 'BY', 'USED BY'],
        ...res.secrets.map((s) => [
          terminalLine(s.environment),
          terminalLine(s.name),
          s.changedAt === null ? out.paint('red', 'not set') : ago(Date.parse(s.changedAt)),
          terminalLine(s.changedBy ?? '-'),
          s.usedBy.join(', ') || '-',
        ]),
      ]),
    );
    const missing = res.secrets.filter((s) => !s.set);
    if (missing.length)
      out.err(
        `${missing.length} declared secret(s) not set: a deploy needing one is refused; set with e.g. printf %s "$VALUE" | slipway secrets set ${terminalLine(missing[0]!.name)} --env ${terminalLine(missing[0]!.environment)}`,
      );
    return 0;
  },
};
