import { userInfo } from 'node:os';
import { ControllerClient } from '../../client/client.js';
import { ROLES } from '../../access/roles.js';
import { SlipwayError } from '../../core/errors.js';
import type { CliCommand } from '../context.js';

/**
 * `slipway dashboard`: a link to the web dashboard the controller serves (docs/dashboard.md) that
 * signs in with a new short-lived token. The token travels in the URL's fragment, which a browser
 * never sends to a server, so it is in no request line and no log; the page moves it to the tab's
 * sessionStorage and takes it out of the address bar.
 */
export const dashboard: CliCommand<{ role: string; expires: string }> = {
  name: 'dashboard',
  summary: 'Print a link to the web dashboard that signs in with a new short-lived token',
  declare(cmd) {
    cmd.option('--role <role>', `what the dashboard may do: ${ROLES.join(', ')} (approver can take every action it shows)`, 'approver');
    cmd.option('--expires <age>', 'when the token stops working: an age (12h, 90m) or an ISO 8601 time', '12h');
  },
  examples: ['slipway dashboard', 'slipway dashboard --role viewer --expires 1h --env staging', 'slipway dashboard --json'],
  async run({ dir, env, out, json }, _args, flags) {
    if (!(ROLES as readonly string[]).includes(flags.role))
      throw SlipwayError.of('TOKEN_REQUEST_INVALID', `"${flags.role}" is not a role`, { hint: `Roles: ${ROLES.join(', ')}` });
    const client = ControllerClient.connect(dir);
    // Like `tokens create`, --env names the environments the token may see and act on.
    const environments = env
      ?.split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const res = await client.createToken({
      role: flags.role as (typeof ROLES)[number],
      name: `dashboard:${userInfo().username}-${Date.now().toString(36)}`,
      expires: flags.expires,
      ...(environments?.length ? { environments } : {}),
    });
    const url = `http://127.0.0.1:${client.info.port}/#token=${encodeURIComponent(res.value)}`;
    if (json) {
      out.out(JSON.stringify({ url, token: res.token }, null, 2));
      return 0;
    }
    const t = res.token;
    out.err(
      `dashboard token "${t.name}": ${t.role} for ${t.environments?.join(', ') ?? 'all environments'}` +
        `${t.expiresAt ? `, until ${new Date(t.expiresAt).toISOString()}` : ''} (revoke with: slipway tokens revoke ${t.name})`,
    );
    out.err('open this link in a browser on this machine (it signs in; keep it to yourself):');
    out.out(url);
    return 0;
  },
};
