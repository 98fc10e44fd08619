import type { ShipRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { messageFlag, overrideFlags, overrideRequest, releaseNumber, waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';
import { printPolicyWarnings } from '../render/policy.js';

/**
 * Environment promotion. Named `ship`, not `promote`: `slipway promote` moves a canary or
 * blue-green rollout on within one environment (ADR 0018).
 */
export const ship: CliCommand<{
  from?: string;
  to?: string;
  release?: number;
  message?: string;
  wait: boolean;
  override?: boolean;
  reason?: string;
}> = {
  name: 'ship',
  summary: 'Promote the exact artifact that succeeded in one environment to the next (same digest, its configuration)',
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.option('--from <env>', "environment it succeeded in (default: the target's only requires: entry)");
    cmd.option('--to <env>', 'environment to ship to (default: --env, else the default environment)');
    cmd.option('--release <n>', 'release number in --from (default: the one serving there)', releaseNumber);
    messageFlag(cmd, 'why, shown by status and history');
    waitFlags(cmd, true);
    overrideFlags(cmd, 'ship');
  },
  examples: [
    'slipway ship web --from staging --to production --wait  # follow the rollout to its end (the default)',
    'slipway ship web --to production --release 4 --no-wait  # a given staging release; return at once',
    'slipway ship web --from staging --to production -m "ticket 42" --json',
    'slipway ship web --to production --override --reason "fix for the outage"  # through a closed deployment window',
  ],
  async run({ dir, env, out, json }, [service], flags) {
    if (flags.to !== undefined && env !== undefined && flags.to !== env) {
      throw SlipwayError.of('USAGE', `--to ${terminalLine(flags.to)} and --env ${terminalLine(env)} name different environments`, {
        hint: 'Give one of them: the environment to ship to.',
      });
    }
    const name = terminalLine(service);
    const client = ControllerClient.connect(dir, flags.to ?? env);
    const req: ShipRequest = {
      from: flags.from,
      release: flags.release,
      message: flags.message,
      ...overrideRequest(flags),
    };
    const res = await client.ship(service!, req);
    const e = res.evidence;
    if (!json) {
      printPolicyWarnings(out, service!, res.policyWarnings);
      if (res.overridden)
        out.err(
          `${name}: deployment window "${terminalLine(res.overridden.window)}" overridden (recorded): ${terminalLine(res.overridden.reason)}`,
        );
      out.out(
        `${name}: release ${res.release} (${terminalLine(res.digest.slice(0, 19))}) shipped from ${terminalLine(e.environment)} release ${e.release}, which succeeded there ${new Date(e.succeededAt).toISOString()} (rollout #${e.rolloutId}); rollout #${res.rolloutId} started`,
      );
      for (const check of e.checks) out.out(`  passed: ${terminalLine(check)}`);
      if (res.approval) out.out(`It waits for approval: ${terminalLine(res.approval.command)} (or reject it with slipway reject)`);
    }
    if (!flags.wait || res.rolloutId === null) {
      if (json) out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    const { code, last } = await followRollout(client, res.rolloutId, out, { json });
    if (json) out.out(JSON.stringify({ ...res, rollout: last.rollout }, null, 2));
    return code;
  },
};
