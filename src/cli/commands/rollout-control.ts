/** Commands that steer a rollout in progress: promote, pause, resume, abort, retry. */
import { parseArgs } from 'node:util';
import { currentUser as me } from '../../core/user.js';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import type { RolloutView } from '../../api/types.js';
import type { Command, CommandContext } from '../context.js';
import { followRollout } from '../follow-rollout.js';

type Options = Record<string, { type: 'boolean' | 'string'; short?: string }>;

function control(name: string, summary: string, options: Options, call: (client: ControllerClient, service: string, values: Record<string, string | boolean | undefined>) => Promise<RolloutView>): Command {
  const flags = Object.keys(options).map((k) => (options[k]!.type === 'boolean' ? `[--${k}]` : `[--${k} TEXT]`)).join(' ');
  return {
    name,
    summary,
    usage: `slipway ${name} SERVICE ${flags} [--wait] [--json]`.replace('  ', ' '),
    async run({ dir, out, json, args }: CommandContext) {
      const { values, positionals } = parseArgs({ args, options: { ...options, wait: { type: 'boolean', short: 'w' } }, allowPositionals: true });
      const service = positionals[0];
      if (!service || positionals.length > 1) throw new SlipwayError('invalid', 'USAGE', `${name} takes one service name`, { hint: this.usage });
      const client = ControllerClient.connect(dir);
      const rollout = await call(client, service, values as Record<string, string | boolean | undefined>);
      if (!values.wait) {
        if (json) out.out(JSON.stringify(rollout, null, 2));
        else out.out(`${service}: ${name} requested on rollout #${rollout.id} (release ${rollout.toRelease}, ${rollout.phase}); follow it with: slipway status ${service}`);
        return 0;
      }
      const { code, last } = await followRollout(client, rollout.id, out, { json });
      if (json) out.out(JSON.stringify(last.rollout, null, 2));
      return code;
    },
  };
}

export const promote = control('promote', 'Move a rollout on to its next step (--full: straight to 100%)', { full: { type: 'boolean' } },
  (c, s, v) => c.promote(s, v.full === true));
export const pause = control('pause', 'Hold a rollout at its current step and weights', {}, (c, s) => c.pause(s));
export const resume = control('resume', 'Let a paused rollout go on', {}, (c, s) => c.resume(s));
export const abort = control('abort', 'Send all traffic back to the stable release and stop the new one', { reason: { type: 'string' } },
  (c, s, v) => c.abort(s, { by: me(), reason: typeof v.reason === 'string' ? v.reason : '' }));
export const retry = control('retry', 'Start an aborted or rolled-back release again from its first step', {}, (c, s) => c.retry(s, me()));
