import { existsSync } from 'node:fs';
import { ControllerClient } from '../../client/client.js';
import { projectPaths } from '../../controller/paths.js';
import { waitForExit } from '../../core/process.js';
import { SlipwayError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { dirname } from 'node:path';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import type { Output } from '../output.js';

export const down: CliCommand = {
  name: 'down',
  summary: 'Drain and stop every instance, the router and the controller',
  declare() {
    /* no arguments or flags of its own */
  },
  examples: [
    'slipway down --dir examples/hello',
    "slipway down --env production   # an ssh environment: the controller, then every host's instances and router",
  ],
  async run({ dir, env, out, json }) {
    if (env !== undefined) {
      const fleetDown = await downFleet(dir, env, out, json);
      if (fleetDown !== undefined) return fleetDown;
    }
    const client = ControllerClient.find(dir);
    out.progress('draining and stopping every instance…');
    let problems: string[] = [];
    if (client) {
      ({ problems } = await client.shutdown(true));
      if (!(await waitForExit(client.info.pid, 120_000))) {
        out.done();
        throw SlipwayError.of('SHUTDOWN_TIMEOUT', `the controller (pid ${client.info.pid}) did not stop within 120s`, {
          hint: `Look at ${projectPaths(dir).controllerLog}; kill it if it hangs.`,
        });
      }
    } else if (existsSync(projectPaths(dir).root)) {
      // No controller (it may have been killed): adopt what is left in this process and stop it.
      // Loaded here: the controller (store, drivers, router client) is heavy for every other command's start.
      const { ProjectController } = await import('../../controller/project-controller.js');
      const c = new ProjectController({ projectDir: dir, log: silentLogger });
      await c.start();
      await c.shutdown({ stopAll: true });
      problems = c.shutdownProblems;
    }
    out.done();
    if (problems.length) {
      throw SlipwayError.of('SHUTDOWN_INCOMPLETE', `some parts did not stop:\n  ${problems.join('\n  ')}`, {
        hint: 'Run slipway down again; if a process is stuck, kill it by its pid (slipway status shows them).',
      });
    }
    out.out('stopped: every instance, the router and the controller');
    return 0;
  },
};

/**
 * `down --env` of an ssh environment (docs/servers.md): the controller stops first, leaving local
 * instances to the next one, so that nothing brings the hosts back meanwhile; then every host's
 * agent stops its instances and router (fleet/fleet-down.ts). Exit 1 names the hosts not stopped.
 * Undefined when the environment runs on this machine (the plain `down` follows).
 */
async function downFleet(dir: string, env: string, out: Output, json: boolean): Promise<number | undefined> {
  const { findConfigFile, loadConfig } = await import('../../config/load.js');
  const { resolveEnvironmentName } = await import('../../config/environments.js');
  const { config, file } = loadConfig(findConfigFile(dir));
  const environment = resolveEnvironmentName(config, env);
  const target = config.environments[environment]?.target;
  if (target === undefined || target === 'local') return undefined;
  const client = ControllerClient.find(dir);
  if (client) {
    out.progress('stopping the controller…');
    await client.shutdown(false);
    if (!(await waitForExit(client.info.pid, 120_000))) {
      out.done();
      throw SlipwayError.of('SHUTDOWN_TIMEOUT', `the controller (pid ${client.info.pid}) did not stop within 120s`, {
        hint: `Look at ${projectPaths(dir).controllerLog}; kill it if it hangs.`,
      });
    }
  }
  out.progress(`stopping the instances and router of every host of ${environment}…`);
  const { stopHosts } = await import('../../fleet/fleet-down.js');
  const hosts = await stopHosts(config, dirname(file), environment);
  out.done();
  const failed = hosts.filter((h) => !h.ok);
  if (json) out.out(JSON.stringify({ ok: failed.length === 0, environment, hosts }, null, 2));
  else
    for (const h of hosts)
      if (h.ok)
        out.out(
          `${terminalLine(h.host)}: stopped ${h.stopped.length} instance(s) and its router${h.stopped.length ? ` (${h.stopped.map(terminalLine).join(', ')})` : ''}`,
        );
  for (const h of failed) {
    out.err(`${out.paint('red', '✗')} ${terminalLine(h.host)}: not stopped: ${terminalLine(`${h.error!.code}: ${h.error!.message}`)}`);
    if (h.error!.hint) out.err(`  hint: ${terminalLine(h.error!.hint)}`);
  }
  if (!json)
    out.err(
      failed.length
        ? `${failed.length} of ${hosts.length} host(s) not stopped; run slipway down --env ${environment} again once they are reachable`
        : `stopped: the controller and all ${hosts.length} host(s) of ${environment} (layout and releases kept; slipway up brings them back)`,
    );
  return failed.length ? 1 : 0;
}
