import type { DeployRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { messageFlag, waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const deploy: CliCommand<{ message?: string; wait: boolean; cache: boolean }> = {
  name: 'deploy',
  summary: 'Build a service from source, record a release and roll it out',
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    messageFlag(cmd, 'why this release exists, shown by status and history');
    cmd.option('--no-cache', "build from scratch: do not restore the service's build cache (cache: in slipway.yaml)");
    waitFlags(cmd, false);
  },
  examples: [
    'slipway deploy web                          # build, release, start the rollout and return',
    'slipway deploy web --wait -m "new greeting"  # follow it to the end; exit 1 if it fails',
    'slipway deploy web --no-wait --json         # the release and rollout id as JSON',
    'slipway deploy web --no-cache               # rebuild node_modules (or whatever cache: names) from scratch',
  ],
  async run({ dir, out, json }, [service], flags) {
    const name = terminalLine(service);
    const req: DeployRequest = { message: flags.message, ...(flags.cache === false ? { noCache: true } : {}) };
    const client = ControllerClient.connect(dir);
    if (!json) out.progress(`${name}: building…`);
    const res = await client.deploy(service!, req);
    out.done();
    if (!json)
      for (const st of res.buildSteps ?? []) out.out(`  ${st.name}: ${formatMs(st.ms)}${st.note ? `  ${terminalLine(st.note)}` : ''}`);
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
