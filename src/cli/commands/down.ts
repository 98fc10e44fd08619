import { existsSync } from 'node:fs';
import { ControllerClient } from '../../client/client.js';
import { projectPaths } from '../../controller/paths.js';
import { waitForExit } from '../../core/process.js';
import { SlipwayError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { CliCommand } from '../context.js';

export const down: CliCommand = {
  name: 'down',
  summary: 'Drain and stop every instance, the router and the controller',
  declare() {
    /* no arguments or flags of its own */
  },
  examples: ['slipway down --dir examples/hello'],
  async run({ dir, out }) {
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
