import { ControllerClient } from '../../client/client.js';
import { ROLES } from '../../access/roles.js';
import { Option } from 'commander';
import type { CliCommand } from '../context.js';

export const tokensCreate: CliCommand<{ role: string; name?: string; expires?: string }> = {
  name: 'tokens create',
  summary: 'Create an API token with a role, for some environments (--env; default all); prints it once',
  declare(cmd) {
    cmd.addOption(new Option('--role <role>', 'what it may do (each role includes the ones before)').choices(ROLES).makeOptionMandatory());
    cmd.option('--name <name>', 'how it shows in `tokens list` and as the actor in the audit log (default: ROLE-<time>)');
    cmd.option('--expires <age>', 'when it stops working: an age (30d, 12h, 90m) or an ISO 8601 time (default: never)');
  },
  examples: [
    'slipway tokens create --role deployer --env staging --name ci --expires 30d',
    'slipway tokens create --role viewer --env staging,production --json',
  ],
  async run({ dir, env, out, json }, _args, flags) {
    // --env names the environments the token may act on (comma-separated); it is not where the request goes.
    const environments = env
      ?.split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const res = await ControllerClient.connect(dir).createToken({
      role: flags.role as (typeof ROLES)[number],
      ...(flags.name ? { name: flags.name } : {}),
      ...(environments?.length ? { environments } : {}),
      ...(flags.expires ? { expires: flags.expires } : {}),
    });
    if (json) {
      out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    const t = res.token;
    out.err(
      `created token "${t.name}" (#${t.id}): ${t.role} for ${t.environments?.join(', ') ?? 'all environments'}${t.expiresAt ? `, until ${new Date(t.expiresAt).toISOString()}` : ''}`,
    );
    out.err('it is shown this once; give it to its user as SLIPWAY_TOKEN (or an Authorization: Bearer header):');
    out.out(res.value);
    return 0;
  },
};
