import { parseArgs } from 'node:util';
import { loadConfig, findConfigFile } from '../../config/load.js';
import type { Command } from '../context.js';
import { ensureController } from '../start-controller.js';
import { followRollout } from '../follow-rollout.js';

export const up: Command = {
  name: 'up',
  summary: 'Start the controller (in the background) and deploy every service that changed',
  usage: 'slipway up [--dir DIR] [--json]',
  async run({ dir, out, json, args }) {
    parseArgs({ args, options: {}, allowPositionals: false });
    // Validate before starting anything: nothing is applied from an invalid config.
    const { config } = loadConfig(findConfigFile(dir));
    const { client, started } = await ensureController(dir, out);
    if (!json) out.out(started ? `controller started (pid ${client.info.pid})` : `controller already running (pid ${client.info.pid})`);
    if (!json) out.progress('building…');
    const applied = await client.apply();
    out.done();
    if (!json) for (const r of applied.repaired ?? []) out.out(`repaired: ${r}`);
    let code = 0;
    for (const d of applied.deploys) {
      if (d.rolloutId === null) {
        if (!json) out.out(d.note ? `${d.service}: ${d.note}` : `${d.service}: release ${d.release} is current, nothing changed`);
        continue;
      }
      if (!json) out.out(`${d.service}: release ${d.release} (${d.digest.slice(0, 19)}) rolling out`);
      const { code: c } = await followRollout(client, d.rolloutId, out, { json });
      code = Math.max(code, c);
    }
    const status = await client.status();
    if (json) { out.out(JSON.stringify({ deploys: applied.deploys, status }, null, 2)); return code; }
    for (const s of status.services.filter((x) => x.service in config.services)) out.out(`${s.service}: ${s.health}  ${out.paint('bold', s.url)}`);
    return code;
  },
};
