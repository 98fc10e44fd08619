import { parseArgs } from 'node:util';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';
import { followRollout } from '../follow-rollout.js';

export const rollback: Command = {
  name: 'rollback',
  summary: 'Make an earlier release current again (default: the previous one), with no downtime',
  usage: 'slipway rollback SERVICE [--to RELEASE] [--message TEXT] [--no-wait] [--json]',
  async run({ dir, out, json, args }) {
    const { values, positionals } = parseArgs({ args, options: { to: { type: 'string' }, message: { type: 'string', short: 'm' }, 'no-wait': { type: 'boolean' } }, allowPositionals: true });
    const service = positionals[0];
    if (!service || positionals.length > 1) throw new SlipwayError('invalid', 'USAGE', 'rollback takes one service name', { hint: this.usage });
    const to = values.to === undefined ? undefined : Number(values.to);
    if (to !== undefined && !(Number.isInteger(to) && to > 0)) throw new SlipwayError('invalid', 'USAGE', `--to expects a release number, got "${values.to}"`, { hint: `See the releases with: slipway history ${service}` });
    const client = ControllerClient.connect(dir);
    const rollout = await client.rollback(service, { to, message: values.message });
    // During a rollout, rollback undoes it (the answer is that rollout, not a new one).
    const undoing = rollout.kind === 'deploy';
    if (!json) {
      out.out(undoing
        ? `${service}: undoing rollout #${rollout.id} (release ${rollout.toRelease}); traffic goes back to release ${rollout.fromRelease}`
        : `${service}: rolling back to release ${rollout.toRelease} (from ${rollout.fromRelease}), rollout #${rollout.id}`);
    }
    if (values['no-wait']) { if (json) out.out(JSON.stringify(rollout, null, 2)); return 0; }
    const { code, last } = await followRollout(client, rollout.id, out, { json, success: undoing ? 'RolledBack' : 'Healthy' });
    if (json) out.out(JSON.stringify(last.rollout, null, 2));
    return code;
  },
};
