import type { PlanRequest } from '../../api/types.js';
import type { CliCommand } from '../context.js';
import { flagDifferenceLines, flagDrift } from './flags.js';
import { ensureController } from '../start-controller.js';
import { renderPlan } from '../render/plan.js';

export const plan: CliCommand<{ detailedExitcode?: boolean }> = {
  name: 'plan',
  summary: 'Show what a deploy would change per service (artifact, config, instances, strategy, gates) without changing anything',
  declare(cmd) {
    cmd.argument('[services...]', 'only these services (default: every one in slipway.yaml)');
    cmd.option('--detailed-exitcode', 'exit 0 when nothing would change, 2 when something would, 1 on any error (as Terraform)');
  },
  examples: [
    'slipway plan                                  # every service: what `slipway up` would deploy, and why',
    'slipway plan web --env local --json           # one service, as JSON',
    'slipway plan --detailed-exitcode              # in CI: 0 no changes, 2 changes, 1 error',
  ],
  async run({ dir, env, out, json }, services, flags) {
    // Like `up`, it starts the controller in the background when none runs (it deploys nothing).
    const client = (await ensureController(dir, out)).client.inEnv(env);
    const req: PlanRequest = { ...(services.length ? { services } : {}) };
    if (!json) out.progress('planning (building what changed, storing nothing)…');
    const res = await client.plan(req);
    out.done();
    // Flags changed at run time and differing from slipway.yaml (docs/flags.md): a difference a deploy does not close.
    const flagsDrift = await flagDrift(client);
    if (json) out.out(JSON.stringify({ ...res, ...(flagsDrift ? { flags: flagsDrift } : {}) }, null, 2));
    else for (const line of [...renderPlan(res, out), ...flagDifferenceLines(flagsDrift, out)]) out.out(line);
    return flags.detailedExitcode && res.changes > 0 ? 2 : 0;
  },
};
