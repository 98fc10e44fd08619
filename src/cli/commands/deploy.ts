import type { DeployRequest } from '../../api/types.js';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import type { Output } from '../output.js';
import { messageFlag, overrideFlags, overrideRequest, waitFlags } from '../flags.js';
import { followRollout } from '../follow-rollout.js';
import { printPolicyWarnings } from '../render/policy.js';

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const deploy: CliCommand<{ message?: string; wait: boolean; override?: boolean; reason?: string; cache: boolean }> = {
  name: 'deploy',
  summary: 'Build a service from source, record a release and roll it out',
  declare(cmd) {
    cmd.argument('<services...>', 'service names from slipway.yaml (several: deployed in dependsOn order)');
    messageFlag(cmd, 'why this release exists, shown by status and history');
    cmd.option('--no-cache', "build from scratch: do not restore the service's build cache (cache: in slipway.yaml)");
    waitFlags(cmd, false);
    overrideFlags(cmd, 'deploy');
  },
  examples: [
    'slipway deploy web                          # build, release, start the rollout and return',
    'slipway deploy web --wait -m "new greeting"  # follow it to the end; exit 1 if it fails',
    'slipway deploy web --no-wait --json         # the release and rollout id as JSON',
    'slipway deploy web --env local --override --reason "hotfix for checkout"  # through a closed window',
    'slipway deploy api web --wait               # api first; web once api is healthy (dependsOn), else skipped',
    'slipway deploy web --no-cache               # rebuild node_modules (or whatever cache: names) from scratch',
  ],
  async run({ dir, env, out, json }, services, flags) {
    const override = overrideRequest(flags);
    if (flags.override && services.length > 1)
      throw SlipwayError.of('USAGE', '--override deploys one service at a time', {
        hint: 'Deploy each service through the closed window with its own --override --reason "…".',
      });
    if (services.length > 1) return deployMany(ControllerClient.connect(dir, env), services, flags, out, json);
    const [service] = services;
    const name = terminalLine(service);
    const req: DeployRequest = {
      message: flags.message,
      ...(flags.cache === false ? { noCache: true } : {}),
      ...override,
    };
    const client = ControllerClient.connect(dir, env);
    if (!json) out.progress(`${name}: building…`);
    const res = await client.deploy(service!, req);
    out.done();
    if (!json) printPolicyWarnings(out, service!, res.policyWarnings);
    if (!json)
      for (const st of res.buildSteps ?? []) out.out(`  ${st.name}: ${formatMs(st.ms)}${st.note ? `  ${terminalLine(st.note)}` : ''}`);
    if (!json && res.overridden)
      out.err(
        `${name}: deployment window "${terminalLine(res.overridden.window)}" overridden (recorded): ${terminalLine(res.overridden.reason)}`,
      );
    if (!json && res.approval) {
      out.out(`${name}: release ${res.release} (${terminalLine(res.digest.slice(0, 19))}) rollout #${res.rolloutId} waits for approval`);
      out.out(`Approve it with: ${terminalLine(res.approval.command)} (or reject it with slipway reject)`);
    } else if (!json)
      out.out(`${name}: release ${res.release} (${terminalLine(res.digest.slice(0, 19))}) rollout #${res.rolloutId} started`);
    if (!flags.wait || res.rolloutId === null) {
      if (json) out.out(JSON.stringify(res, null, 2));
      else if (!res.approval) out.out(`Follow it with: slipway status ${name}`);
      return 0;
    }
    const { code, last } = await followRollout(client, res.rolloutId, out, { json });
    if (json) out.out(JSON.stringify({ ...res, rollout: last.rollout }, null, 2));
    return code;
  },
};

/** Several services at once: the controller deploys them in dependsOn order and skips dependents of a failure. */
async function deployMany(
  client: ControllerClient,
  services: string[],
  flags: { message?: string; wait: boolean },
  out: Output,
  json: boolean,
): Promise<number> {
  if (!json) out.progress(`${services.map(terminalLine).join(', ')}: building…`);
  const res = await client.apply({ services, force: true, ...(flags.message !== undefined ? { message: flags.message } : {}) });
  out.done();
  let code = 0;
  const rollouts = [];
  for (const d of res.deploys) {
    const name = terminalLine(d.service);
    if (!json) out.out(`${name}: release ${d.release} (${terminalLine(d.digest.slice(0, 19))}) rollout #${d.rolloutId} started`);
    if (flags.wait && d.rolloutId !== null) {
      const { code: c, last } = await followRollout(client, d.rolloutId, out, { json });
      code = Math.max(code, c);
      rollouts.push(last.rollout);
    }
  }
  for (const s of res.skipped ?? []) {
    if (!json) out.out(`${terminalLine(s.service)}: skipped, ${terminalLine(s.reason)}`);
    code = Math.max(code, 1);
  }
  if (json) out.out(JSON.stringify({ ...res, ...(flags.wait ? { rollouts } : {}) }, null, 2));
  return code;
}
