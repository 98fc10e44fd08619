import type { RollbackRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { messageFlag, releaseNumber, waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';
import { printPolicyWarnings } from '../render/policy.js';

export const rollback: CliCommand<{ to?: number; message?: string; wait: boolean }> = {
  name: 'rollback',
  summary: "Make an earlier release current again (default: the previous one), with the service's strategy (no downtime but with recreate)",
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.option('--to <release>', 'release number to go back to (default: the previous one that served)', releaseNumber);
    messageFlag(cmd, 'why, recorded with the rollback');
    waitFlags(cmd, true);
  },
  examples: [
    'slipway rollback web                       # back to the previous release; waits until it serves (--wait)',
    'slipway rollback web --wait --json         # the same, with the finished rollout as JSON',
    'slipway rollback web --to 3 -m "bad build"  # back to release 3 (see slipway history web)',
    'slipway rollback web --no-wait             # start it and return',
  ],
  async run({ dir, env, out, json }, [service], flags) {
    const name = terminalLine(service);
    const req: RollbackRequest = { to: flags.to, message: flags.message };
    const client = ControllerClient.connect(dir, env);
    const rollout = await client.rollback(service!, req);
    if (!json) printPolicyWarnings(out, service!, rollout.policyWarnings);
    // During a rollout, rollback undoes it (the answer is that rollout, not a new one).
    const undoing = rollout.kind !== 'rollback';
    if (!json) {
      out.out(
        undoing
          ? rollout.kind === 'deploy'
            ? `${name}: undoing rollout #${rollout.id} (release ${rollout.toRelease}); traffic goes back to release ${rollout.fromRelease}`
            : `${name}: undoing ${rollout.kind} #${rollout.id} of release ${rollout.toRelease}; the instances that serve keep serving`
          : `${name}: rolling back to release ${rollout.toRelease} (from ${rollout.fromRelease}), rollout #${rollout.id}`,
      );
    }
    if (!flags.wait) {
      if (json) out.out(JSON.stringify(rollout, null, 2));
      return 0;
    }
    const { code, last } = await followRollout(client, rollout.id, out, { json, success: undoing ? 'RolledBack' : 'Healthy' });
    if (json) out.out(JSON.stringify(last.rollout, null, 2));
    return code;
  },
};
