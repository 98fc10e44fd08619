import type { ApprovalRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { currentUser } from '../../core/user.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand, CommandContext } from '../context.js';
import { waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';

interface DecideFlags {
  comment?: string;
  wait?: boolean;
}

/** What approve and reject share: send the decision as the OS user, then report or follow. */
async function decide(ctx: CommandContext, verdict: ApprovalRequest['verdict'], target: string, flags: DecideFlags): Promise<number> {
  const client = ControllerClient.connect(ctx.dir, ctx.env);
  const rollout = await client.decide({ target, verdict, comment: flags.comment, by: currentUser() });
  const { out, json } = ctx;
  if (verdict === 'approve' && flags.wait) {
    const { code, last } = await followRollout(client, rollout.id, out, { json });
    if (json) out.out(JSON.stringify(last.rollout, null, 2));
    return code;
  }
  if (json) out.out(JSON.stringify(rollout, null, 2));
  else
    out.out(
      verdict === 'approve'
        ? `rollout #${rollout.id} (release ${rollout.toRelease}) approved by ${terminalLine(rollout.approval?.by ?? '?')}; it starts now. Follow it with: slipway status`
        : `rollout #${rollout.id} (release ${rollout.toRelease}) rejected by ${terminalLine(rollout.approval?.by ?? '?')}; nothing was changed`,
    );
  return 0;
}

export const approve: CliCommand<DecideFlags> = {
  name: 'approve',
  summary: 'Approve a deploy waiting for approval (phase AwaitingApproval); it starts at once',
  declare(cmd) {
    cmd.argument('<rollout-or-service>', 'a rollout id (as status shows it) or a service whose rollout waits');
    cmd.option('--comment <text>', 'why, recorded with the rollout and as an event');
    waitFlags(cmd, false);
  },
  examples: [
    'slipway approve web --comment "checked the canary plan"   # the rollout of web waiting for approval',
    'slipway approve 12 --env local --wait                       # rollout #12, and follow it to the end',
    'slipway approve web --no-wait                               # approve and return (the default)',
  ],
  run: (ctx, [target], flags) => decide(ctx, 'approve', target!, flags),
};

export const reject: CliCommand<DecideFlags> = {
  name: 'reject',
  summary: 'Reject a deploy waiting for approval: it ends without touching what serves',
  declare(cmd) {
    cmd.argument('<rollout-or-service>', 'a rollout id (as status shows it) or a service whose rollout waits');
    cmd.requiredOption('--comment <text>', 'why (required), recorded with the rollout and as an event');
  },
  examples: ['slipway reject web --comment "not during the sale"', 'slipway reject 12 --env local --comment "wrong build"'],
  run: (ctx, [target], flags) => decide(ctx, 'reject', target!, flags),
};
