import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { table } from '../output.js';

export const audit: CliCommand<{ since?: string; service?: string; limit: number }> = {
  name: 'audit',
  summary: 'Who changed what: the append-only audit log, oldest first',
  declare(cmd) {
    cmd.option('--since <age>', 'only entries newer than an age (90m, 2h, 7d) or an ISO 8601 time');
    cmd.option('--service <name>', 'only entries about this service');
    cmd.option('-n, --limit <count>', 'at most this many (the newest)', (v) => Number(v), 1000);
  },
  examples: ['slipway audit --since 1h', 'slipway audit --service web --env production --json --limit 50'],
  async run({ dir, env, out, json }, _args, flags) {
    const { entries } = await ControllerClient.connect(dir, env).audit({ since: flags.since, service: flags.service, limit: flags.limit });
    if (json) {
      out.out(JSON.stringify({ entries }, null, 2));
      return 0;
    }
    if (!entries.length) {
      out.out('no audit entries');
      return 0;
    }
    const brief = (x: unknown) => (x === null || x === undefined ? '-' : terminalLine(JSON.stringify(x)).slice(0, 60));
    out.out(
      table([
        ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'BEFORE', 'AFTER', 'OUTCOME', 'REASON'],
        ...entries.map((e) => [
          new Date(e.at).toISOString().slice(0, 19) + 'Z',
          terminalLine(e.actor),
          e.action,
          terminalLine([e.environment, e.service].filter(Boolean).join('/') || '-'),
          brief(e.before),
          brief(e.after),
          e.outcome === 'ok' ? 'ok' : out.paint('red', e.outcome),
          terminalLine(e.reason || '-'),
        ]),
      ]),
    );
    return 0;
  },
};
