import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { waitFlags } from '../flags.js';
import { ensureController } from '../start-controller.js';
import { followRollout } from '../follow-rollout.js';

export const up: CliCommand<{ wait: boolean }> = {
  name: 'up',
  summary: 'Start the controller (in the background) and deploy every service that changed',
  declare(cmd) { waitFlags(cmd, true); },
  examples: [
    'slipway up                 # waits for every rollout (--wait is the default), then prints the URLs',
    'slipway up --wait --json   # the same, with the deploys and the status as JSON',
    'slipway up --no-wait       # starts the rollouts and returns',
  ],
  async run({ dir, out, json }, _args, flags) {
    // Validate before starting anything: nothing is applied from an invalid config.
    // (Loaded here: the config schema is not needed to parse the command line or report a mistake.)
    const { loadConfig, findConfigFile } = await import('../../config/load.js');
    const { config } = loadConfig(findConfigFile(dir));
    const { client, started } = await ensureController(dir, out);
    if (!json) out.out(started ? `controller started (pid ${client.info.pid})` : `controller already running (pid ${client.info.pid})`);
    if (!json) out.progress('building…');
    const applied = await client.apply();
    out.done();
    if (!json) for (const r of applied.repaired ?? []) out.out(`repaired: ${r}`);
    let code = 0;
    for (const d of applied.deploys) {
      const name = terminalLine(d.service);
      if (d.rolloutId === null) {
        if (!json) out.out(d.note ? `${name}: ${terminalLine(d.note)}` : `${name}: release ${d.release} is current, nothing changed`);
        continue;
      }
      const what = d.note ? terminalLine(d.note) : `release ${d.release} (${terminalLine(d.digest.slice(0, 19))}) rolling out`;
      if (!json) out.out(`${name}: ${what}${flags.wait ? '' : `; follow it with: slipway status ${name}`}`);
      if (!flags.wait) continue;
      const { code: c } = await followRollout(client, d.rolloutId, out, { json });
      code = Math.max(code, c);
    }
    const status = await client.status();
    if (json) { out.out(JSON.stringify({ deploys: applied.deploys, status }, null, 2)); return code; }
    for (const s of status.services.filter((x) => x.service in config.services)) out.out(`${terminalLine(s.service)}: ${s.health}  ${out.paint('bold', terminalLine(s.url))}`);
    return code;
  },
};
