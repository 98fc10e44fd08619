import { parseArgs } from 'node:util';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';
import { followRollout } from '../follow-rollout.js';

export const deploy: Command = {
  name: 'deploy',
  summary: 'Build a service from source, record a release and roll it out',
  usage: 'slipway deploy SERVICE [--message TEXT] [--wait] [--json]',
  async run({ dir, out, json, args }) {
    const { values, positionals } = parseArgs({ args, options: { message: { type: 'string', short: 'm' }, wait: { type: 'boolean', short: 'w' } }, allowPositionals: true });
    const service = positionals[0];
    if (!service || positionals.length > 1) throw new SlipwayError('invalid', 'USAGE', 'deploy takes one service name', { hint: this.usage });
    const client = ControllerClient.connect(dir);
    if (!json) out.progress(`${service}: building…`);
    const res = await client.deploy(service, { message: values.message });
    out.done();
    if (!json) out.out(`${service}: release ${res.release} (${res.digest.slice(0, 19)}) rollout #${res.rolloutId} started`);
    if (!values.wait) {
      if (json) out.out(JSON.stringify(res, null, 2));
      else out.out(`Follow it with: slipway status ${service}`);
      return 0;
    }
    const { code, last } = await followRollout(client, res.rolloutId!, out, { json });
    if (json) out.out(JSON.stringify({ ...res, rollout: last.rollout }, null, 2));
    return code;
  },
};
