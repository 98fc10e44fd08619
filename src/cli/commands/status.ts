import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { renderStatus } from '../render/status.js';
import { flagDifferenceLines, flagDrift } from './flags.js';

export const status: CliCommand = {
  name: 'status',
  summary: 'Releases, rollouts, instances, health and traffic per release of every service',
  declare(cmd) {
    cmd.argument('[services...]', 'only these services (default: every one)');
  },
  examples: ['slipway status             # every service', 'slipway status web --json  # one service, as JSON'],
  async run({ dir, env, out, json }, services) {
    const res = await ControllerClient.connect(dir, env).status();
    const shown = services.length ? res.services.filter((s) => services.includes(s.service)) : res.services;
    const missing = services.filter((name) => !res.services.some((s) => s.service === name));
    if (missing.length) {
      throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named ${missing.map((m) => `"${terminalLine(m)}"`).join(', ')}`, {
        hint: `Services: ${res.services.map((s) => terminalLine(s.service)).join(', ') || 'none yet'}.`,
      });
    }
    // Flags changed at run time and differing from slipway.yaml (docs/flags.md).
    const flags = await flagDrift(ControllerClient.connect(dir, env));
    if (json) {
      out.out(JSON.stringify({ ...res, services: shown, ...(flags ? { flags } : {}) }, null, 2));
      return 0;
    }
    for (const line of renderStatus(res, shown, out)) out.out(line);
    for (const line of flagDifferenceLines(flags, out)) out.out(line);
    return shown.some((s) => s.health === 'Down' || s.health === 'Degraded') ? 1 : 0;
  },
};
