import { terminalLine } from '../../core/terminal-text.js';
import type { ServiceStatus } from '../../api/types.js';
import type { ControllerClient } from '../../client/client.js';
import type { SlipwayConfig } from '../../config/schema.js';
import type { Output } from '../output.js';
import type { CliCommand } from '../context.js';
import { listenArgs, listenFlags, waitFlags } from '../flags.js';
import type { ListenOptions } from '../../controller/listen-options.js';
import { ensureController } from '../start-controller.js';
import { followRollout } from '../follow-rollout.js';
import { printPolicyWarnings } from '../render/policy.js';

export const up: CliCommand<{ wait: boolean } & ListenOptions> = {
  name: 'up',
  summary: 'Start the controller (in the background) and deploy every service that changed',
  declare(cmd) {
    waitFlags(cmd, true);
    listenFlags(cmd);
  },
  examples: [
    'slipway up                 # waits for every rollout (--wait is the default), then prints the URLs',
    'slipway up --wait --json   # the same, with the deploys and the status as JSON',
    'slipway up --no-wait       # starts the rollouts and returns',
    'slipway up --listen 0.0.0.0:7443 --tls-cert cert.pem --tls-key key.pem   # the API for other machines too',
    'slipway up --listen 10.0.0.5:7080 --insecure   # plain HTTP beyond loopback: warns',
  ],
  async run({ dir, env, out, json }, _args, flags) {
    // Validate before starting anything: nothing is applied from an invalid config.
    // (Loaded here: the config schema is not needed to parse the command line or report a mistake.)
    const { loadConfig, findConfigFile } = await import('../../config/load.js');
    const { config } = loadConfig(findConfigFile(dir));
    // A bad --listen or TLS file is refused here, before a controller is started with it.
    const { extraListener, isLoopback } = await import('../../controller/listen-options.js');
    extraListener(flags);
    const { client: project, started } = await ensureController(dir, out, undefined, listenArgs(flags));
    const listening = project.info.listen;
    if (flags.listen && !started)
      out.err(
        `the controller already runs${listening ? ` (also on ${listening.address}:${listening.port})` : ''}: --listen applies when it starts (slipway down, then slipway up --listen …)`,
      );
    if (listening && !listening.tls && !isLoopback(listening.address))
      out.err(
        `WARNING: the API listens on ${listening.address}:${listening.port} over plain HTTP (--insecure): anyone on the network path can read its tokens`,
      );
    const client = project.inEnv(env);
    if (!json) out.out(started ? `controller started (pid ${client.info.pid})` : `controller already running (pid ${client.info.pid})`);
    // Say what is about to happen to each service and why, before doing it.
    const before = await client.status();
    const plan = Object.keys(config.services).map((name) => ({
      service: name,
      ...planFor(
        name,
        before.services.find((x) => x.service === name),
      ),
    }));
    if (!json) for (const p of plan) out.out(`${terminalLine(p.service)}: ${terminalLine(p.line)}`);
    if (!json) out.progress('building…');
    const applied = await client.apply();
    out.done();
    if (!json) for (const r of applied.repaired ?? []) out.out(`repaired: ${r}`);
    let code = 0;
    for (const d of applied.deploys) {
      const name = terminalLine(d.service);
      const planned = plan.find((p) => p.service === d.service);
      if (!json) printPolicyWarnings(out, d.service, d.policyWarnings);
      if (d.rolloutId === null) {
        // Only what the plan did not already say.
        if (!json && d.note && planned?.state !== 'rolled-back') out.out(`${name}: ${terminalLine(d.note)}`);
        else if (!json && !d.note && planned?.state !== 'unchanged')
          out.out(`${name}: the build is identical to release ${d.release}: release ${d.release} is current, nothing changed`);
        continue;
      }
      if (d.approval) {
        // Waiting for a person: following it here would hang `up` until someone approves.
        if (!json) out.out(`${name}: release ${d.release} waits for approval: ${terminalLine(d.approval.command)}`);
        continue;
      }
      const what = d.note ? terminalLine(d.note) : `release ${d.release} (${terminalLine(d.digest.slice(0, 19))}) rolling out`;
      if (!json) out.out(`${name}: ${what}${flags.wait ? '' : `; follow it with: slipway status ${name}`}`);
      if (!flags.wait) continue;
      const { code: c } = await followRollout(client, d.rolloutId, out, { json });
      code = Math.max(code, c);
    }
    for (const s of applied.skipped ?? []) {
      if (!json) out.out(`${terminalLine(s.service)}: skipped, ${terminalLine(s.reason)}`);
      code = Math.max(code, 1);
    }
    // Nothing to roll out, yet instances to bring back (after `slipway down`): waited for like a rollout.
    if (flags.wait && (await localTarget(config, env))) await untilServing(client, config, out);
    const status = await client.status();
    if (json) {
      out.out(JSON.stringify({ plan, deploys: applied.deploys, skipped: applied.skipped ?? [], status }, null, 2));
      return code;
    }
    for (const s of status.services.filter((x) => x.service in config.services))
      out.out(`${terminalLine(s.service)}: ${s.health}  ${out.paint('bold', terminalLine(s.url))}`);
    return code;
  },
};

/** What `up` is about to do to one service, and why, from the drift the controller reports. */
export function planFor(name: string, s: ServiceStatus | undefined): { state: string; line: string } {
  const d = s?.drift;
  const active = s?.rollout && s.rollout.finishedAt === null ? s.rollout : undefined;
  if (active)
    return {
      state: 'rolling',
      line: `rollout #${active.id} to release ${active.toRelease} is in progress → leaving it (slipway status ${name})`,
    };
  if (!d) return { state: 'unknown', line: 'comparing its build with what serves' };
  const since = `since release ${d.servingRelease}`;
  switch (d.state) {
    case 'unchanged':
      return { state: d.state, line: `unchanged (release ${d.servingRelease} is current, nothing changed)` };
    case 'not-deployed':
      return { state: d.state, line: 'not deployed yet → deploying' };
    case 'rolled-back':
      return {
        state: d.state,
        line: `release ${d.describes} was rolled back; slipway.yaml still describes it → not redeploying; \`slipway deploy ${name}\` to force`,
      };
    case 'changed': {
      if (d.config && d.source) return { state: d.state, line: `slipway.yaml and source changed ${since} → deploying` };
      if (d.config) return { state: d.state, line: `slipway.yaml changed ${since} → deploying` };
      if (d.source) return { state: d.state, line: `source changed ${since} → deploying` };
      if (d.secrets) return { state: d.state, line: `a secret changed ${since} → deploying` };
      return { state: d.state, line: `source touched ${since} was built → building; deploying only if the build differs` };
    }
    default:
      return { state: d.state, line: d.message };
  }
}

/** Whether the environment runs on this machine (a fleet's hosts are brought back by its controller's heal: docs/servers.md). */
async function localTarget(config: SlipwayConfig, env: string | undefined): Promise<boolean> {
  const { resolveEnvironmentName } = await import('../../config/environments.js');
  const target = config.environments[resolveEnvironmentName(config, env)]?.target;
  return target === undefined || target === 'local';
}

/**
 * Services whose current release does not serve in full with no rollout under way (started again
 * after `slipway down`): waits until each is Healthy, as `up` waits for a rollout. It stops
 * waiting for one whose instances crash (`failed`: `slipway status` shows why) or that is still
 * not healthy at its progress deadline; the status printed next says how it stands.
 */
async function untilServing(client: ControllerClient, config: SlipwayConfig, out: Output): Promise<void> {
  const started = Date.now();
  for (;;) {
    const waiting = (await client.status()).services.filter((s) => {
      const spec = config.services[s.service];
      return (
        spec !== undefined &&
        s.currentRelease !== null &&
        s.desired > 0 && // scaled to 0: nothing to serve
        (s.rollout === null || s.rollout.finishedAt !== null) &&
        s.health !== 'Healthy' &&
        !s.instances.some((i) => i.state === 'failed') &&
        Date.now() - started < spec.progressDeadline
      );
    });
    if (waiting.length === 0) return out.done();
    const ready = (s: ServiceStatus) => `${terminalLine(s.service)} ${s.instances.filter((i) => i.healthy).length}/${s.desired}`;
    out.progress(`waiting for the instances to serve again: ${waiting.map(ready).join(', ')} ready…`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
