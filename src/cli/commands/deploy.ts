import type { DeployRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { messageFlag, waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';

export const deploy: CliCommand<{ message?: string; wait: boolean }> = {
  name: 'deploy',
  summary: 'Build a service from source, record a release and roll it out',
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    messageFlag(cmd, 'why this release exists, shown by status and history');
    waitFlags(cmd, false);
  },
  examples: [
    'slipway deploy web                          # build, release, start the rollout and return',
    'slipway deploy web --wait -m "new greeting"  # follow it to the end; exit 1 if it fails',
    'slipway deploy web --no-wait --json         # the release and rollout id as JSON',
  ],
  async run({ dir, env, out, json }, [service], flags) {
    const name = terminalLine(service);
    const req: DeployRequest = { message: flags.message };
    const client = ControllerClient.connect(dir, env);
    if (!json) out.progress(`${name}: building…`);
    const res = await client.deploy(service!, req);
    out.done();
    if (!json) out.out(`${name}: release ${res.release} (${terminalLine(res.digest.slice(0, 19))}) rollout #${res.rolloutId} started`);
    if (!flags.wait || res.rolloutId === null) {
      if (json) out.out(JSON.stringify(res, null, 2));
      else out.out(`Follow it with: slipway status ${name}`);
      return 0;
    }
    const { code, last } = await followRollout(client, res.rolloutId, out, { json });
    if (json) out.out(JSON.stringify({ ...res, rollout: last.rollout }, null, 2));
    return code;
  },
};
